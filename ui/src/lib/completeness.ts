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

/** A baladiya with the muhallas under it (a muhalla's P-code starts with its baladiya's). */
export interface BaladiyaGroup {
  /** The baladiya's P-code (also when its own row is not in the list). */
  pcode: string;
  /** null when only muhallas of this baladiya are listed. */
  baladiya: AssessmentSummary | null;
  muhallas: AssessmentSummary[];
  /** Muhallas submitted or approved. */
  muhallasComplete: number;
}

export const BALADIYA_FORM = 'baladiya';
export const MUHALLA_FORM = 'muhalla';
/** COD level of a baladiya P-code (LY010101); a muhalla (LY01010101) is level 4. */
const BALADIYA_PCODE_LENGTH = 8;

/**
 * The field list: baladiya rows in P-code order, each with its muhallas. A muhalla
 * goes under the longest listed baladiya P-code it starts with; one with no listed
 * baladiya gets a group of its own (by its P-code's baladiya prefix).
 */
export function groupMuhallas(rows: AssessmentSummary[]): BaladiyaGroup[] {
  const byPcode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const groups = new Map<string, BaladiyaGroup>();
  const muhallas: AssessmentSummary[] = [];
  for (const r of rows) {
    if (r.key.form === MUHALLA_FORM) {
      muhallas.push(r);
      continue;
    }
    const g = groups.get(r.key.location);
    if (g) g.baladiya ??= r;
    else groups.set(r.key.location, { pcode: r.key.location, baladiya: r, muhallas: [], muhallasComplete: 0 });
  }
  const parents = [...groups.keys()].sort((a, b) => b.length - a.length);
  for (const m of muhallas) {
    const parent =
      parents.find((p) => m.key.location.startsWith(p) && p !== m.key.location) ??
      m.key.location.slice(0, BALADIYA_PCODE_LENGTH);
    let g = groups.get(parent);
    if (!g) {
      g = { pcode: parent, baladiya: null, muhallas: [], muhallasComplete: 0 };
      groups.set(parent, g);
    }
    g.muhallas.push(m);
    if (isComplete(m.status)) g.muhallasComplete += 1;
  }
  const list = [...groups.values()].sort((a, b) => byPcode(a.pcode, b.pcode));
  for (const g of list) g.muhallas.sort((a, b) => byPcode(a.key.location, b.key.location));
  return list;
}

/** The rows of one form: the completeness table counts one form at a time. */
export function rowsOfForm(rows: AssessmentSummary[], form: string): AssessmentSummary[] {
  return rows.filter((r) => r.key.form === form);
}
