import { describe, expect, it } from 'vitest';
import type { Field, FormDef } from './api-types';
import { completeness, groupByMantika } from './completeness';
import { missingRequired, parseInput, toAsciiDigits } from './form';
import type { AssessmentSummary } from './api-types';

const count: Field = { id: 'idp_hh', type: 'count', label: { en: 'x', ar: 'x' }, required: true };

describe('parseInput', () => {
  it('stores an empty count as null, not zero', () => {
    expect(parseInput(count, '  ')).toEqual({ ok: true, value: null });
  });
  it('accepts whole numbers and Arabic-Indic digits', () => {
    expect(parseInput(count, '42')).toEqual({ ok: true, value: 42 });
    expect(parseInput(count, '٤٢')).toEqual({ ok: true, value: 42 });
    expect(toAsciiDigits('۱۲٣')).toBe('123');
  });
  it('rejects anything that is not a non-negative whole number', () => {
    for (const bad of ['-1', '1.5', '12a', 'abc']) expect(parseInput(count, bad).ok).toBe(false);
  });
  it('applies min and max from the form definition', () => {
    expect(parseInput({ ...count, max: 10 }, '11')).toMatchObject({ ok: false, error: 'form.above_max' });
  });
});

describe('missingRequired', () => {
  it('lists required fields that are null or absent', () => {
    const form: FormDef = {
      id: 'f', version: 1, level: 3, title: { en: 'f', ar: 'f' }, rules: [],
      sections: [{ id: 's', title: { en: 's', ar: 's' }, fields: [count, { ...count, id: 'idp_ind' }, { ...count, id: 'note', required: false }] }],
    };
    expect(missingRequired(form, { idp_hh: 0 })).toEqual(['idp_ind']);
  });
});

describe('completeness', () => {
  const row = (pcode: string, mantika: string, status: AssessmentSummary['status']): AssessmentSummary => ({
    key: { round: 'R1', form: 'baladiya', location: pcode },
    location: { pcode, level: 3, name_en: pcode, name_ar: pcode },
    mantika: { pcode: mantika, level: 2, name_en: mantika, name_ar: mantika },
    status, version: 1, open_conflicts: 0, pending_ops: 0,
  });
  it('counts submitted and approved as complete', () => {
    const c = completeness([row('A1', 'A', 'approved'), row('A2', 'A', 'submitted'), row('B1', 'B', 'draft'), row('B2', 'B', 'not_started')]);
    expect(c.ratio).toBe(0.5);
    expect(c.counts).toEqual({ not_started: 1, draft: 1, submitted: 1, returned: 0, approved: 1 });
  });
  it('groups baladiyas under their mantika in P-code order', () => {
    const groups = groupByMantika([row('B2', 'B', 'draft'), row('A1', 'A', 'approved'), row('B1', 'B', 'submitted')]);
    expect(groups.map((g) => [g.mantika.pcode, g.rows.map((r) => r.location.pcode), g.complete])).toEqual([
      ['A', ['A1'], 1],
      ['B', ['B1', 'B2'], 1],
    ]);
  });
});
