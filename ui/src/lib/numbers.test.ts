import { describe, expect, it } from 'vitest';
import { formatNumber, formatPercent, isolate, pluralCategory, plurals, translate, translatePlural } from './i18n';

const FSI = '\u2068';
const LRI = '\u2066';
const PDI = '\u2069';
const strip = (s: string) => s.replace(/[\u2066\u2068\u2069]/g, '');

describe('number policy', () => {
  it('groups English thousands with a comma', () => {
    expect(formatNumber(2426, 'en')).toBe('2,426');
    expect(formatNumber(1234567, 'en')).toBe('1,234,567');
  });

  it('never writes 2426 in Arabic as "2.426" or "2,426", which read as decimals', () => {
    const ar = formatNumber(2426, 'ar');
    expect(ar).not.toMatch(/2[.,٫]426/);
    expect(ar).toBe('2\u202F426');
    expect(formatNumber(1234567, 'ar')).toBe('1\u202F234\u202F567');
  });

  it('writes Western digits in Arabic, as Libya and the form inputs do', () => {
    expect(formatNumber(95, 'ar')).toBe('95');
    expect(formatNumber(0.5, 'ar')).toBe('0.5');
  });

  it('formats percentages the same way', () => {
    expect(formatPercent(0.42, 'en')).toBe('42%');
    expect(formatPercent(0.42, 'ar')).toMatch(/42/);
  });
});

describe('bidi isolation', () => {
  it('isolates every value put into an Arabic sentence, so "R1: 2,426" keeps its order', () => {
    const ar = translate('ar', 'form.previous', { round: 'R1', value: formatNumber(2426, 'ar') });
    expect(ar).toBe(`${FSI}R1${PDI}: ${LRI}2\u202F426${PDI}`);
    expect(isolate('LY021104')).toBe(`${FSI}LY021104${PDI}`);
  });

  it('leaves English text plain', () => {
    expect(translate('en', 'form.previous', { round: 'R1', value: '2,426' })).toBe('R1: 2,426');
  });
});

describe('plurals', () => {
  it('says "1 conflict" and "2 conflicts", never "1 conflicts"', () => {
    expect(translatePlural('en', 'home.conflicts', 1)).toBe('1 conflict');
    expect(translatePlural('en', 'home.conflicts', 2)).toBe('2 conflicts');
    expect(translatePlural('en', 'home.conflicts', 0)).toBe('0 conflicts');
  });

  it('chooses among Arabic\'s six forms by Intl.PluralRules', () => {
    expect([0, 1, 2, 3, 11, 100].map((n) => pluralCategory('ar', n))).toEqual(['zero', 'one', 'two', 'few', 'many', 'other']);
    expect(translatePlural('ar', 'home.conflicts', 1)).toBe('تعارض واحد');
    expect(translatePlural('ar', 'home.conflicts', 2)).toBe('تعارضان');
    expect(strip(translatePlural('ar', 'home.conflicts', 4))).toBe('4 تعارضات');
    expect(strip(translatePlural('ar', 'home.conflicts', 12))).toBe('12 تعارضًا');
    expect(strip(translatePlural('ar', 'home.conflicts', 100))).toBe('100 تعارض');
  });

  it('shows the sync bar\'s waiting count as digits in every form of both languages', () => {
    // The Tauri smoke test reads the number out of [data-testid="sync-pending"].
    for (const key of ['sync.waiting', 'sync.waiting_saved'] as const) {
      for (const l of ['en', 'ar'] as const) {
        for (const n of [0, 1, 2, 3, 11, 100, 1234]) {
          const text = strip(translatePlural(l, key, n)).replace(/[\u202F,]/g, '');
          expect(text, `${key} ${l} ${n}`).toContain(String(n));
        }
      }
    }
    expect(translatePlural('en', 'sync.waiting_saved', 12)).toBe('12 changes waiting, saved on this device');
  });

  it('has no English "(s)" plural left anywhere', () => {
    for (const entry of Object.values(plurals)) expect(JSON.stringify(entry)).not.toMatch(/\(s\)/);
  });
});
