// Pure logic of the Totals tab: which columns, in which order, and the grand total.

import type { Field, FormDef, LocationTotals } from './api-types';
import type { TotalsLevel } from './backend/backend';
import { allFields } from './form';
import type { MessageKey } from './i18n';

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
