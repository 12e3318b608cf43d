// Pure logic of the Totals tab: which columns, in which order, and the grand total.

import type { Field, FormDef, LocationTotals } from './api-types';
import type { TotalsLevel } from './backend/backend';
import { allFields } from './form';
import { formatPercent, t, type MessageKey } from './i18n';

export const TOTALS_LEVELS: TotalsLevel[] = [1, 2, 3];

export function levelLabel(level: TotalsLevel): MessageKey {
  return level === 1 ? 'loc.region' : level === 2 ? 'loc.mantika' : 'loc.baladiya';
}

export interface TotalsColumn {
  id: string;
  /** The form's field; undefined for a field HQ summed that this form does not list. */
  field: Field | undefined;
}

export interface TotalsTable {
  columns: TotalsColumn[];
  rows: LocationTotals[];
  /** Sum of every row per column; null where no row has the field. */
  grand: Record<string, number | null>;
}

/**
 * Columns: the fields HQ summed (it leaves out a field nobody answered), in form
 * order, then any the form does not list, by id. Rows in P-code order.
 */
export function totalsTable(list: LocationTotals[], form: FormDef | null): TotalsTable {
  const summed = new Set<string>();
  for (const r of list) for (const id of Object.keys(r.values)) summed.add(id);
  const fields = form ? allFields(form) : [];
  const columns: TotalsColumn[] = fields.filter((f) => summed.has(f.id)).map((f) => ({ id: f.id, field: f }));
  const known = new Set(columns.map((c) => c.id));
  for (const id of [...summed].filter((id) => !known.has(id)).sort()) columns.push({ id, field: undefined });
  const rows = [...list].sort((a, b) => (a.location.pcode < b.location.pcode ? -1 : a.location.pcode > b.location.pcode ? 1 : 0));
  const grand: Record<string, number | null> = {};
  for (const c of columns) {
    const present = rows.map((r) => r.values[c.id]).filter((v): v is number => typeof v === 'number');
    grand[c.id] = present.length ? present.reduce((a, b) => a + b, 0) : null;
  }
  return { columns, rows, grand };
}

/** A figure against the same figure in the previous round. */
export interface Change {
  previous: number;
  /** current − previous. */
  delta: number;
  /** delta ÷ previous; null when the previous figure was 0 (a change from nothing has no percentage). */
  ratio: number | null;
}

/**
 * The change of one figure since the previous round, or null when either side has no
 * figure: a location or field not yet collected is missing data, never a drop to 0.
 */
export function changeOf(current: number | null | undefined, previous: number | null | undefined): Change | null {
  if (typeof current !== 'number' || typeof previous !== 'number') return null;
  const delta = current - previous;
  return { previous, delta, ratio: previous === 0 ? null : delta / previous };
}

/** A change as the tables show it: "▲ 120 (12%)", "▼ 40 (5%)", "▲ 30 (from 0)", "no change". */
export function changeText(c: Change): string {
  if (c.delta === 0) return t('totals.change_none');
  if (c.ratio === null) return t('totals.change_up_from_zero', { n: Math.abs(c.delta) });
  const params = { n: Math.abs(c.delta), pct: formatPercent(Math.abs(c.ratio)) };
  return t(c.delta > 0 ? 'totals.change_up' : 'totals.change_down', params);
}

/** The change of a row's field, from the previous round's figures HQ sent beside it. */
export function rowChange(row: LocationTotals, field: string): Change | null {
  return changeOf(row.values[field], row.previous?.values[field]);
}

export interface LargestChange {
  location: LocationTotals['location'];
  field: string;
  current: number;
  change: Change;
}

/**
 * The `n` largest changes since the previous round among `fields`, largest absolute
 * change first (ties by P-code, then field, so the list does not shuffle). Only figures
 * both rounds hold are compared.
 */
export function largestChanges(rows: LocationTotals[], fields: string[], n = 10): LargestChange[] {
  const out: LargestChange[] = [];
  for (const row of rows) {
    for (const field of fields) {
      const change = rowChange(row, field);
      if (change && change.delta !== 0) out.push({ location: row.location, field, current: row.values[field], change });
    }
  }
  out.sort(
    (a, b) =>
      Math.abs(b.change.delta) - Math.abs(a.change.delta) ||
      (a.location.pcode < b.location.pcode ? -1 : a.location.pcode > b.location.pcode ? 1 : 0) ||
      (a.field < b.field ? -1 : a.field > b.field ? 1 : 0),
  );
  return out.slice(0, n);
}

/** The headline figures DTM publishes per population, in the order its reports give them. */
export const HEADLINE_FIELDS = ['idp_ind', 'ret_ind', 'mig_ind'] as const;

/**
 * The change of a column's grand total since the previous round: only when every row
 * has the figure in both rounds, so the two sums count the same places. Otherwise null
 * (a place collected in one round only would read as a rise or a fall that is not one).
 */
export function grandChange(rows: LocationTotals[], field: string): Change | null {
  let current = 0;
  let previous = 0;
  for (const row of rows) {
    const c = row.values[field];
    const p = row.previous?.values[field];
    if (typeof c !== 'number' || typeof p !== 'number') return null;
    current += c;
    previous += p;
  }
  return rows.length ? changeOf(current, previous) : null;
}
