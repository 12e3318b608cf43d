import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AssessmentStatus, AssessmentSummary, LocationRef } from './api-types';
import { countByStatus, findables, findLocations, foldName, locationKeys, matchRank } from './search';

// Names as the gazetteer (data/gazetteer) spells them.
const loc = (pcode: string, name_en: string, name_ar: string): LocationRef => ({
  pcode,
  level: pcode.length === 6 ? 2 : pcode.length === 8 ? 3 : 4,
  name_en,
  name_ar,
});
const TRIPOLI_M = loc('LY0211', 'Tripoli', 'طرابلس');
const DERNA_M = loc('LY0101', 'Derna', 'درنه');

function row(location: LocationRef, mantika: LocationRef, status: AssessmentStatus = 'not_started'): AssessmentSummary {
  return {
    key: { round: 'R1', form: location.level === 4 ? 'muhalla' : 'baladiya', location: location.pcode },
    location,
    mantika,
    status,
    version: 0,
    open_conflicts: 0,
    pending_ops: 0,
  };
}

const ROWS = [
  row(loc('LY010102', 'Derna', 'درنة'), DERNA_M, 'draft'),
  row(loc('LY010105', 'Labriq', 'الأبرق'), DERNA_M),
  row(loc('LY021101', 'Suq Aljumaa', 'سوق الجمعة'), TRIPOLI_M, 'submitted'),
  row(loc('LY021102', 'Tajoura', 'تاجوراء'), TRIPOLI_M, 'returned'),
  row(loc('LY021104', 'Tripoli', 'طرابلس'), TRIPOLI_M, 'approved'),
  row(loc('LY021105', 'Abusliem', 'ابوسليم'), TRIPOLI_M, 'draft'),
  row(loc('LY02110501', 'Salah Eddin', 'صلاح الدين'), TRIPOLI_M, 'draft'),
];
const LIST = findables(ROWS);
const find = (q: string, statuses: AssessmentStatus[] = []) =>
  findLocations(LIST, q, new Set(statuses)).map((r) => r.key.location);

describe('foldName', () => {
  it('folds taa marbuta to haa, so the mantika spelling درنه and the baladiya spelling درنة are one name', () => {
    expect(foldName('درنه')).toBe(foldName('درنة'));
    expect(foldName('مصراته')).toBe(foldName('مصراتة'));
  });

  it('folds every hamza carrier to the bare letter, as people type on phones', () => {
    expect(foldName('الأبرق')).toBe('الابرق');
    expect(foldName('إجدابيا')).toBe('اجدابيا');
    expect(foldName('آمنة')).toBe('امنه');
    expect(foldName('ٱلقبة')).toBe('القبه');
    expect(foldName('مؤسسة')).toBe('موسسه');
    expect(foldName('بئر')).toBe('بير');
  });

  it('folds alef maqsura to yeh and drops tashkeel and tatweel', () => {
    expect(foldName('مصطفى')).toBe(foldName('مصطفي'));
    expect(foldName('سَبْهَا')).toBe('سبها');
    expect(foldName('طـرابـلس')).toBe('طرابلس');
  });

  it('lower-cases Latin, drops accents, spaces and hyphens, and reads Arabic-Indic digits', () => {
    expect(foldName('Abu-Sliem')).toBe('abusliem');
    expect(foldName('Sebhā')).toBe('sebha');
    expect(foldName('LY٠٢١١')).toBe('ly0211');
  });

  it('does not transliterate: "abu salim" and "Abusliem" stay different', () => {
    expect(foldName('abu salim')).not.toBe(foldName('Abusliem'));
  });
});

describe('findLocations', () => {
  it('finds درنة when درنه is typed, and طرابلس by its own spelling', () => {
    expect(find('درنه')).toContain('LY010102');
    expect(find('طرابلس')[0]).toBe('LY021104');
  });

  it('finds سبها-style names with or without diacritics', () => {
    const sebha = findables([row(loc('LY031901', 'Sebha', 'سبها'), loc('LY0319', 'Sebha', 'سبها'))]);
    expect(findLocations(sebha, 'سَبْهَا', new Set()).length).toBe(1);
    expect(findLocations(sebha, 'seb', new Set()).length).toBe(1);
  });

  it('finds Abusliem by "abu sliem" and "abusl" but not by "abu salim"', () => {
    expect(find('abu sliem')[0]).toBe('LY021105');
    expect(find('abusl')[0]).toBe('LY021105');
    expect(find('abu salim')).toEqual([]);
  });

  it('matches P-codes from the start, with or without LY', () => {
    expect(find('LY021104')).toEqual(['LY021104']);
    expect(find('ly0211')).toHaveLength(5);
    expect(find('021101')).toEqual(['LY021101']);
    // P-codes match as a prefix only, not in the middle.
    expect(find('1104')).toEqual([]);
  });

  it('finds a location by its parent: the mantika, and for a muhalla its baladiya', () => {
    expect(find('derna')).toEqual(['LY010102', 'LY010105']);
    expect(find('ابوسليم')).toEqual(['LY021105', 'LY02110501']);
    // Two words: one the muhalla, one its parent.
    expect(find('salah abusliem')).toEqual(['LY02110501']);
  });

  it('puts names that start with the query before names that only contain it, and parents last', () => {
    expect(find('tripoli')).toEqual(['LY021104', 'LY021101', 'LY021102', 'LY021105', 'LY02110501']);
  });

  it('filters by status, an empty filter showing all', () => {
    expect(find('', ['draft'])).toEqual(['LY010102', 'LY021105', 'LY02110501']);
    expect(find('tripoli', ['approved', 'returned'])).toEqual(['LY021104', 'LY021102']);
    expect(find('')).toHaveLength(ROWS.length);
  });

  it('counts rows per status for the filter labels', () => {
    const counts = countByStatus(ROWS);
    expect(counts.get('draft')).toBe(3);
    expect(counts.get('voided')).toBeUndefined();
  });

  it('ranks a whole-word P-code hit first', () => {
    const keys = locationKeys(loc('LY021104', 'Tripoli', 'طرابلس'), [TRIPOLI_M]);
    expect(matchRank(keys, 'LY0211')).toBe(0);
    expect(matchRank(keys, 'trip')).toBe(1);
    expect(matchRank(keys, 'zzz')).toBeNull();
  });
});

describe('the real gazetteer, one mantika at a time', () => {
  // Every baladiya and muhalla of data/gazetteer, grouped by mantika as a device lists them.
  const csv = (file: string) =>
    readFileSync(new URL(`../../../data/gazetteer/${file}`, import.meta.url), 'utf8').trim().split('\n').slice(2).map((l) => l.split(','));
  const baladiyas = csv('lby_admin3_baladiya.csv');
  const mantikaOf = new Map(baladiyas.map((c) => [c[4], loc(c[2], c[3], c[3])]));
  const all = [
    ...baladiyas.map((c) => row(loc(c[4], c[5], c[6]), mantikaOf.get(c[4])!)),
    ...csv('lby_admin4_muhalla.csv').flatMap((c) => (mantikaOf.has(c[0]) ? [row(loc(c[2], c[3], c[4]), mantikaOf.get(c[0])!)] : [])),
  ];
  const byMantika = new Map<string, AssessmentSummary[]>();
  for (const r of all) byMantika.set(r.mantika.pcode, [...(byMantika.get(r.mantika.pcode) ?? []), r]);

  /** The fewest characters, typed from the start of one word of its names, that show `r` among the first three. */
  function keystrokes(list: ReturnType<typeof findables>, r: AssessmentSummary): number {
    const words = [r.location.name_en, r.location.name_ar].flatMap((n) => n.split(/\s+/));
    let best = Infinity;
    for (const w of words) {
      for (let n = 1; n <= w.length && n < best; n++) {
        const top = findLocations(list, w.slice(0, n), new Set()).slice(0, 3);
        if (top.includes(r)) best = n;
      }
    }
    return best;
  }

  it('has mantikas of 46 rows and more, as the home list must handle', () => {
    expect(Math.max(...[...byMantika.values()].map((l) => l.length))).toBeGreaterThanOrEqual(46);
  });

  it('shows almost every location among the first three results within four typed characters', () => {
    // 763 locations, up to 98 in one mantika: 752 need three characters or fewer, 760 four;
  // of the 3 left, 2 share their whole name with a neighbour (found by P-code), 1 needs more than five.
    const counts: number[] = [];
    for (const rows of byMantika.values()) {
      const list = findables(rows);
      for (const r of rows) counts.push(keystrokes(list, r));
    }
    const withinFour = counts.filter((n) => n <= 4).length / counts.length;
    expect(withinFour, 'the search exists so that no one scrolls a 4,000 px list').toBeGreaterThan(0.99);
    // Places that share a whole name with a neighbour (a muhalla named after its baladiya) are never alone.
    expect(counts.filter((n) => n === Infinity).length / counts.length).toBeLessThan(0.05);
  });
});
