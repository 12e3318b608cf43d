import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FormDef } from './api-types';
import { parseCompareRule, parseSumRule, ruleNumbers } from './ruleNumbers';

const strip = (s: string | null) => s?.replace(/[\u2066-\u2069]/g, '') ?? null;
const form = (name: string): FormDef =>
  JSON.parse(readFileSync(new URL(`../../../schemas/forms/${name}.json`, import.meta.url), 'utf8'));
const rule = (f: FormDef, id: string) => f.rules.find((r) => r.id === id);

describe('parseSumRule', () => {
  it('reads both ways the forms write a sum', () => {
    expect(parseSumRule('mig_men + mig_women + mig_children == mig_ind')).toEqual({
      parts: ['mig_men', 'mig_women', 'mig_children'],
      total: 'mig_ind',
    });
    expect(parseSumRule('sum(a, b, c) == t')).toEqual({ parts: ['a', 'b', 'c'], total: 't' });
    expect(parseSumRule('t == a + b')).toEqual({ parts: ['a', 'b'], total: 't' });
  });

  it('leaves other rules alone', () => {
    expect(parseSumRule('idp_hh <= idp_ind')).toBeNull();
    expect(parseSumRule('a + b * 2 == c')).toBeNull();
    expect(parseSumRule('need_1 != need_2 and need_1 != need_3')).toBeNull();
    expect(parseCompareRule('idp_ind >= idp_hh and idp_ind <= idp_hh * 15')).toBeNull();
  });

  it('recognises every sum rule of the shipped forms', () => {
    for (const name of ['baladiya-v1', 'baladiya-v2', 'muhalla-v1']) {
      for (const r of form(name).rules.filter((r) => r.expr.includes('==') && /\+|sum\(/.test(r.expr))) {
        expect(parseSumRule(r.expr), `${name} ${r.id}`).not.toBeNull();
      }
    }
  });
});

describe('ruleNumbers', () => {
  const baladiya = form('baladiya-v2');
  const breakdown = rule(baladiya, 'migrant_breakdown');

  it('shows the sum and the total that disagree: "60 + 30 + 5 = 95, not 100"', () => {
    const values = { mig_men: 60, mig_women: 30, mig_children: 5, mig_ind: 100 };
    expect(ruleNumbers(breakdown, values, 'en')).toBe('60 + 30 + 5 = 95, not 100');
    expect(strip(ruleNumbers(breakdown, values, 'ar'))).toBe('60 + 30 + 5 = 95، وليس 100');
  });

  it('keeps the arithmetic one isolated run in Arabic and groups thousands by the number policy', () => {
    const values = { mig_men: 1200, mig_women: 1100, mig_children: 126, mig_ind: 2500 };
    expect(ruleNumbers(breakdown, values, 'en')).toBe('1,200 + 1,100 + 126 = 2,426, not 2,500');
    // FSI (the param) around LRI (always left to right): "60 + 30 + 5 = 95" even in an Arabic paragraph.
    expect(ruleNumbers(breakdown, values, 'ar')).toBe(
      '\u2068\u20661\u202F200 + 1\u202F100 + 126 = 2\u202F426\u2069\u2069، وليس \u20662\u202F500\u2069',
    );
  });

  it('works for sum(…) rules too', () => {
    const r = baladiya.rules.find((x) => x.expr.startsWith('sum('))!;
    const p = parseSumRule(r.expr)!;
    const values = Object.fromEntries([...p.parts.map((f, i) => [f, i + 1]), [p.total, 1]]);
    expect(ruleNumbers(r, values, 'en')).toMatch(/^1 \+ 2 \+ .* = \d+, not 1$/);
  });

  it('shows a broken comparison the other way round: households more than individuals', () => {
    expect(ruleNumbers(rule(baladiya, 'idp_hh_le_ind'), { idp_hh: 120, idp_ind: 80 }, 'en')).toBe('Entered: 120 > 80');
  });

  it('says nothing when a value is missing, the sum holds, or the rule is of another kind', () => {
    expect(ruleNumbers(breakdown, { mig_men: 60, mig_women: null, mig_children: 5, mig_ind: 100 }, 'en')).toBeNull();
    expect(ruleNumbers(breakdown, { mig_men: 60, mig_women: 35, mig_children: 5, mig_ind: 100 }, 'en')).toBeNull();
    expect(ruleNumbers({ expr: 'need_1 != need_2' }, { need_1: 'a', need_2: 'a' }, 'en')).toBeNull();
    expect(ruleNumbers(undefined, {}, 'en')).toBeNull();
  });
});

describe('ruleNumbers over a repeated group', () => {
  it('shows each nationality row of the sum, as on paper', () => {
    const nat = rule(form('muhalla-v2'), 'mig_nationality_breakdown');
    const values = { mig_ind: 100, 'mig_nat.ner.ind': 70, 'mig_nat.sdn.ind': 25 };
    expect(strip(ruleNumbers(nat, values, 'en'))).toBe('70 + 25 = 95, not 100');
    expect(ruleNumbers(nat, { ...values, 'mig_nat.sdn.ind': 30 }, 'en'), 'a sum that holds shows nothing').toBeNull();
    expect(ruleNumbers(nat, { mig_ind: 100 }, 'en'), 'no row yet: nothing to show').toBeNull();
  });
});
