import type { Location } from './api-types';
import type { LocationQuery } from './backend/backend';
import type { MessageKey } from './i18n';

/** `?level=…&within=…&q=…&retired=true` for GET /locations: empty and blank parts are left out. */
export function locationsQuery(query: LocationQuery): string {
  const params = new URLSearchParams();
  if (query.level) params.set('level', String(query.level));
  const within = query.within?.trim();
  if (within) params.set('within', within);
  const q = query.q?.trim();
  if (q) params.set('q', q);
  if (query.retired) params.set('retired', 'true');
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The name of each admin level, 1 region to 4 muhalla. */
export const LEVEL_NAME: Record<number, MessageKey> = {
  1: 'loc.region',
  2: 'loc.mantika',
  3: 'loc.baladiya',
  4: 'loc.muhalla',
};

/** A P-code's admin level: `LY` then two digits per level. */
export function pcodeLevel(pcode: string): number {
  return Math.max(0, (pcode.trim().length - 2) / 2);
}

/**
 * The first free P-code under `parent` one level down (the next two digits after the
 * highest in use, retired ones counted so a retired code is never given again), or null
 * when the parent is not a P-code or its 99 codes are used.
 */
export function nextChildPcode(parent: string, known: readonly Pick<Location, 'pcode'>[]): string | null {
  const p = parent.trim();
  if (!/^LY(\d{2}){1,3}$/.test(p)) return null;
  let highest = 0;
  for (const l of known) {
    if (l.pcode.length === p.length + 2 && l.pcode.startsWith(p)) highest = Math.max(highest, Number(l.pcode.slice(-2)));
  }
  return highest >= 99 ? null : `${p}${String(highest + 1).padStart(2, '0')}`;
}
