import { describe, expect, it } from 'vitest';
import { LOCALES, locale, messages, plurals, roundTitle, translate } from './i18n';
import { STATUSES, statusChip } from './status';
import { ERROR_CODES } from './generated/errorCodes';
import type { OpOutcome } from './api-types';

describe('i18n table', () => {
  it('has a non-empty English and Arabic text for every key', () => {
    for (const [key, entry] of Object.entries(messages)) {
      for (const l of LOCALES) {
        expect(entry[l], `${key} needs a ${l} text so no screen falls back to raw keys`).toBeTruthy();
      }
    }
  });

  it('has every plural form of both languages, with the same placeholders', () => {
    const names = (x: string) => [...new Set([...x.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
    for (const [key, entry] of Object.entries(plurals)) {
      expect(Object.keys(entry.en).sort(), key).toEqual(['one', 'other']);
      expect(Object.keys(entry.ar).sort(), `${key}: Arabic has six plural forms`).toEqual(['few', 'many', 'one', 'other', 'two', 'zero']);
      const en = names(entry.en.other);
      for (const form of Object.values(entry.ar)) {
        for (const n of names(form)) expect(en, `${key}: {${n}} in Arabic but not in English`).toContain(n);
      }
    }
  });

  it('uses the same placeholders in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, entry] of Object.entries(messages)) {
      expect(names(entry.ar), `${key}: Arabic must fill the same {params} as English`).toEqual(names(entry.en));
    }
  });

  it('has an English and an Arabic message for every code of the ErrorCode enum', () => {
    // ERROR_CODES is generated from the Rust enum (crates/dtm-core/src/codes.rs): a code
    // added there without words here fails this test, so nobody meets a raw code or,
    // in Arabic, HQ's English message.
    expect(ERROR_CODES.length, 'the generated list is the whole enum, not a stub').toBeGreaterThan(80);
    for (const code of ERROR_CODES) {
      const entry = (messages as Record<string, { en: string; ar: string } | undefined>)[`error.${code}`];
      expect(entry, `error.${code} missing: the UI must not show raw codes`).toBeDefined();
      expect(entry!.en.trim(), `error.${code} needs English words`).not.toBe('');
      expect(entry!.ar, `error.${code}: the Arabic text must be Arabic, not a copy of the English`).toMatch(/[\u0600-\u06FF]/);
    }
  });

  it('names refused, in-conflict and superseded operations apart, for every outcome there is', () => {
    // `satisfies` makes svelte-check fail when Rust grows an outcome this list lacks.
    const outcomes = { applied: 1, conflict: 1, rejected: 1, superseded: 1 } satisfies Record<OpOutcome, 1>;
    for (const o of Object.keys(outcomes)) {
      expect(Object.hasOwn(messages, `sync.state.${o}`), `sync.state.${o}: the sync bar labels each kind`).toBe(true);
    }
    const counts = ['sync.rejected', 'sync.conflicts', 'sync.superseded'].map((k) =>
      translate('en', k as keyof typeof messages, { count: 2 }),
    );
    expect(new Set(counts).size, 'a refusal and a conflict ask different things of the enumerator').toBe(3);
  });

  it('formats numbers in params for the locale, isolated in Arabic', () => {
    expect(translate('en', 'sync.rejected', { count: 1234 })).toBe('Rejected: 1,234');
    expect(translate('ar', 'sync.rejected', { count: 12000 })).toBe('مرفوضة: \u206612\u202F000\u2069');
  });

  it('labels the admin levels the DTM way', () => {
    expect(translate('en', 'loc.mantika')).toBe('Mantika (admin 1)');
    expect(translate('ar', 'loc.baladiya')).toBe('البلدية (المستوى الإداري 2)');
  });
});

describe('status chips', () => {
  it('gives every status its own label and its own tone', () => {
    const chips = STATUSES.map(statusChip);
    expect(new Set(chips.map((c) => c.tone)).size).toBe(STATUSES.length);
    expect(new Set(chips.map((c) => c.label)).size).toBe(STATUSES.length);
    for (const [i, s] of STATUSES.entries()) expect(chips[i].label).toBe(`status.${s}`);
  });

  it('marks a returned assessment as needing attention and an approved one as done', () => {
    expect(statusChip('returned').tone).toBe('attention');
    expect(statusChip('approved').tone).toBe('done');
    expect(statusChip('not_started').tone).toBe('neutral');
  });
});

describe('round titles', () => {
  it("shows a round's Arabic title in Arabic, and the English one where none was given", () => {
    const before = locale.current;
    try {
      locale.set('ar');
      expect(roundTitle({ title: 'Round 55', title_ar: 'الجولة 55' })).toBe('الجولة 55');
      expect(roundTitle({ title: 'Round 54', title_ar: '' })).toBe('Round 54');
      locale.set('en');
      expect(roundTitle({ title: 'Round 55', title_ar: 'الجولة 55' })).toBe('Round 55');
    } finally {
      locale.set(before);
    }
  });
});
