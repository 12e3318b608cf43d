import type { AssessmentStatus, AssessmentSummary, LocationRef } from './api-types';
import { isComplete, STATUSES } from './status';

export type StatusCounts = Record<AssessmentStatus, number>;

export interface MantikaGroup {
  mantika: LocationRef;
  rows: AssessmentSummary[];
  complete: number;
}

export interface Completeness {
  total: number;
  counts: StatusCounts;
  /** (submitted + approved) / total; 0 when there is nothing in scope. */
  ratio: number;
}

export function completeness(rows: AssessmentSummary[]): Completeness {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as StatusCounts;
  for (const r of rows) counts[r.status] += 1;
  const done = rows.filter((r) => isComplete(r.status)).length;
  return { total: rows.length, counts, ratio: rows.length ? done / rows.length : 0 };
}

/** Baladiyas grouped under their mantika, both in P-code order. */
export function groupByMantika(rows: AssessmentSummary[]): MantikaGroup[] {
  const groups = new Map<string, MantikaGroup>();
  for (const r of rows) {
    let g = groups.get(r.mantika.pcode);
    if (!g) {
      g = { mantika: r.mantika, rows: [], complete: 0 };
      groups.set(r.mantika.pcode, g);
    }
    g.rows.push(r);
    if (isComplete(r.status)) g.complete += 1;
  }
  const byPcode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const list = [...groups.values()].sort((a, b) => byPcode(a.mantika.pcode, b.mantika.pcode));
  for (const g of list) g.rows.sort((a, b) => byPcode(a.location.pcode, b.location.pcode));
  return list;
}
