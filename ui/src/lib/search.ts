// Finding a location on the field app's home screen: one folding of names so that the
// spellings an enumerator types find the spelling the gazetteer holds, and one matcher
// over the names, the P-code and the parents' names. Pure: no DOM, no locale state.

import type { AssessmentStatus, AssessmentSummary, LocationRef } from './api-types';

const TASHKEEL = /[\u064B-\u065F\u0670\u06D6-\u06ED]/g; // harakat, shadda, sukun, superscript alef, Quranic marks
const TATWEEL = /\u0640/g;
const ARABIC_DIGITS = /[\u0660-\u0669\u06F0-\u06F9]/g;
/** Letters written more than one way: each goes to the bare form people also type. */
const LETTERS: Record<string, string> = {
  'أ': 'ا',
  'إ': 'ا',
  'آ': 'ا',
  'ٱ': 'ا',
  'ؤ': 'و',
  'ئ': 'ي',
  'ى': 'ي',
  'ة': 'ه',
  'ی': 'ي', // Persian yeh, from some keyboards
  'ک': 'ك', // Persian kaf
};
const VARIANTS = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

/**
 * A name or a query reduced to what matters for matching:
 * - Arabic: tashkeel and tatweel dropped; أ إ آ ٱ → ا, ؤ → و, ئ and ى → ي, ة → ه
 *   (so "درنه" finds "درنة" and "مصراته" finds "مصراتة");
 * - Latin: lower case, accents dropped ("Sebhā" → "sebha");
 * - Arabic-Indic digits → 0–9; spaces, hyphens, apostrophes, dots and commas dropped,
 *   so "abu sliem", "Abu-Sliem" and "abusliem" are one key.
 * It does not transliterate: "abu salim" does not find "Abusliem" (the vowels differ),
 * and an English query never finds an Arabic-only name.
 */
export function foldName(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '') // Latin accents once decomposed
    .normalize('NFC') // recompose Arabic (آ decomposes to ا + madda above)
    .replace(TASHKEEL, '')
    .replace(TATWEEL, '')
    .replace(VARIANTS, (c) => LETTERS[c])
    .replace(ARABIC_DIGITS, (d) => {
      const c = d.charCodeAt(0);
      return String(c >= 0x06f0 ? c - 0x06f0 : c - 0x0660);
    })
    .toLowerCase()
    .replace(/[\s\-'’‘`.,،_]+/g, '');
}

/** What one row of the home list can be found by. */
export interface LocationKeys {
  /** Folded English and Arabic names of the location itself. */
  own: string[];
  /** Each word of those names, folded: "جنوب" finds "الزاوية جنوب" as quickly as "الزاوية". */
  words: string[];
  /** Folded names of its parents: the baladiya of a muhalla, and the mantika. */
  parents: string[];
  /** The P-code in upper case, e.g. LY021104. */
  pcode: string;
}

export function locationKeys(location: LocationRef, parents: LocationRef[]): LocationKeys {
  return {
    own: [foldName(location.name_en), foldName(location.name_ar)],
    words: [location.name_en, location.name_ar].flatMap((n) => n.split(/[\s\-]+/).map(foldName)).filter(Boolean),
    parents: parents.flatMap((p) => [foldName(p.name_en), foldName(p.name_ar)]),
    pcode: location.pcode.toUpperCase(),
  };
}

/** How well one query word fits: lower is better; null for no match. */
function wordRank(keys: LocationKeys, raw: string): number | null {
  const word = foldName(raw);
  if (word === '') return 0;
  // P-codes match from the start, with or without the country's "LY".
  const code = word.toUpperCase();
  if (/^[A-Z]{0,2}[0-9]/.test(code) || /^LY/.test(code)) {
    if (keys.pcode.startsWith(code) || keys.pcode.startsWith(`LY${code}`)) return 0;
  }
  if (keys.own.some((n) => n.startsWith(word))) return 1;
  if (keys.words.some((n) => n.startsWith(word))) return 2;
  if (keys.own.some((n) => n.includes(word))) return 3;
  if (keys.parents.some((n) => n.includes(word))) return 4;
  return null;
}

/**
 * How well `query` fits a location: every word of the query must match its name, its
 * P-code (prefix) or a parent's name; lower is better, null for no match. An empty query
 * matches everything with rank 0.
 */
export function matchRank(keys: LocationKeys, query: string): number | null {
  const words = query.trim().split(/\s+/).filter(Boolean);
  // A query typed as several words may also be one name ("abu sliem" ~ "Abusliem").
  const whole = words.length > 1 ? wordRank(keys, words.join('')) : null;
  let worst = 0;
  for (const w of words) {
    const r = wordRank(keys, w);
    if (r === null) return whole;
    worst = Math.max(worst, r);
  }
  return whole === null ? worst : Math.min(worst, whole);
}

/** The baladiya a muhalla belongs to: the listed row whose P-code is the muhalla's first eight characters. */
const BALADIYA_PCODE_LENGTH = 8;

/** A row of the home list with what it can be found by, built once per list. */
export interface Findable {
  row: AssessmentSummary;
  keys: LocationKeys;
}

export function findables(rows: AssessmentSummary[]): Findable[] {
  const byPcode = new Map(rows.map((r) => [r.location.pcode, r.location]));
  return rows.map((row) => {
    const parents = [row.mantika];
    if (row.location.pcode.length > BALADIYA_PCODE_LENGTH) {
      const baladiya = byPcode.get(row.location.pcode.slice(0, BALADIYA_PCODE_LENGTH));
      if (baladiya) parents.unshift(baladiya);
    }
    return { row, keys: locationKeys(row.location, parents) };
  });
}

/** Which statuses to show; empty means all. */
export type StatusFilter = ReadonlySet<AssessmentStatus>;

export function passesStatus(status: AssessmentStatus, filter: StatusFilter): boolean {
  return filter.size === 0 || filter.has(status);
}

/**
 * The rows matching the query and the status filter, best match first, list order
 * within a rank (the list is in P-code order, so ties stay in P-code order).
 */
export function findLocations(list: Findable[], query: string, filter: StatusFilter): AssessmentSummary[] {
  const hits: { row: AssessmentSummary; rank: number; i: number }[] = [];
  list.forEach(({ row, keys }, i) => {
    if (!passesStatus(row.status, filter)) return;
    const rank = matchRank(keys, query);
    if (rank !== null) hits.push({ row, rank, i });
  });
  hits.sort((a, b) => a.rank - b.rank || a.i - b.i);
  return hits.map((h) => h.row);
}

/** How many rows have each status, for the filter's labels. */
export function countByStatus(rows: AssessmentSummary[]): Map<AssessmentStatus, number> {
  const counts = new Map<AssessmentStatus, number>();
  for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return counts;
}
