import { describe, expect, it } from 'vitest';
import type { FormDef, LocationTotals } from './api-types';
import { changeOf, grandChange, largestChanges, levelLabel, totalsTable } from './totals';

const form: FormDef = {
  id: 'baladiya',
  version: 2,
  level: 3,
  title: { en: 'Baladiya', ar: 'البلدية' },
  sections: [
    {
      id: 's',
      title: { en: 'S', ar: 'ق' },
      fields: [
        { id: 'idp_hh', type: 'count', label: { en: 'IDP households', ar: 'أسر نازحة' }, hxl: '#x+i_test', required: false, options: [] },
        { id: 'notes', type: 'text', label: { en: 'Notes', ar: 'ملاحظات' }, hxl: '#x+i_test', required: false, options: [] },
        { id: 'idp_ind', type: 'count', label: { en: 'IDP individuals', ar: 'أفراد نازحون' }, hxl: '#x+i_test', required: false, options: [] },
      ],
    },
  ],
  rules: [],
};
const loc = (pcode: string) => ({ pcode, level: 2, name_en: pcode, name_ar: pcode });
const counted = { differences: [], baladiya_assessments: 1, muhalla_assessments: 0, unapproved: 0, unknown: {} };

describe('totalsTable', () => {
  it('has the summed fields in form order, then fields the form lacks, and rows in P-code order', () => {
    const list: LocationTotals[] = [
      { location: loc('LY0211'), values: { idp_ind: 55, mig_ind: 3 }, ...counted },
      { location: loc('LY0104'), values: { idp_ind: 10, idp_hh: 2 }, ...counted },
    ];
    const t = totalsTable(list, form);
    expect(t.columns.map((c) => c.id)).toEqual(['idp_hh', 'idp_ind', 'mig_ind']);
    expect(t.columns[2].field).toBeUndefined();
    expect(t.rows.map((r) => r.location.pcode)).toEqual(['LY0104', 'LY0211']);
    expect(t.grand).toEqual({ idp_hh: 2, idp_ind: 65, mig_ind: 3 });
  });

  it('leaves out fields HQ did not sum, and totals only the rows that have a field', () => {
    const t = totalsTable(
      [
        { location: loc('LY01'), values: {}, ...counted },
        { location: loc('LY02'), values: { idp_ind: 4 }, ...counted },
      ],
      form,
    );
    expect(t.columns.map((c) => c.id)).toEqual(['idp_ind']);
    expect(t.grand).toEqual({ idp_ind: 4 });
  });

  it('names the levels the DTM way', () => {
    expect([1, 2, 3].map((l) => levelLabel(l as 1 | 2 | 3))).toEqual(['loc.region', 'loc.mantika', 'loc.baladiya']);
  });
});

describe('the comparison with the previous round', () => {
  it('gives the change and its percentage, and no percentage from nothing', () => {
    expect(changeOf(1200, 1000)).toEqual({ previous: 1000, delta: 200, ratio: 0.2 });
    expect(changeOf(800, 1000)).toEqual({ previous: 1000, delta: -200, ratio: -0.2 });
    expect(changeOf(50, 0), 'growth from 0 has no percentage to show').toEqual({ previous: 0, delta: 50, ratio: null });
  });

  it('treats a figure missing on either side as no comparison, never as a change to or from 0', () => {
    expect(changeOf(undefined, 1000), 'not yet collected this round is not a drop of 1,000').toBeNull();
    expect(changeOf(1000, undefined), 'a location new this round has nothing to compare with').toBeNull();
  });

  it('lists the largest changes by size, whichever way they go, with a stable order for ties', () => {
    const row = (pcode: string, values: Record<string, number>, previous?: Record<string, number>): LocationTotals => ({
      location: loc(pcode),
      values,
      ...counted,
      previous: previous ? { round: 'R0', values: previous } : undefined,
    });
    const rows = [
      row('LY0211', { idp_ind: 1000, mig_ind: 400 }, { idp_ind: 1500, mig_ind: 300 }),
      row('LY0104', { idp_ind: 700, mig_ind: 200 }, { idp_ind: 600, mig_ind: 200 }),
      row('LY0322', { idp_ind: 900 }, { idp_ind: 800 }),
      row('LY0101', { idp_ind: 5 }),
    ];
    const top = largestChanges(rows, ['idp_ind', 'mig_ind'], 3);
    expect(top.map((c) => `${c.location.pcode}:${c.field}:${c.change.delta}`)).toEqual([
      'LY0211:idp_ind:-500',
      'LY0104:idp_ind:100',
      'LY0211:mig_ind:100',
    ]);
    expect(largestChanges(rows, ['mig_ind']).some((c) => c.change.delta === 0), 'no change is not a change').toBe(false);
  });
});

describe('the change of a grand total', () => {
  const row = (pcode: string, values: Record<string, number>, previous?: Record<string, number>): LocationTotals => ({
    location: loc(pcode),
    values,
    ...counted,
    previous: previous ? { round: 'R0', values: previous } : undefined,
  });
  it('compares the sums when every place has the figure in both rounds', () => {
    const rows = [row('LY0211', { mig_ind: 120 }, { mig_ind: 100 }), row('LY0104', { mig_ind: 30 }, { mig_ind: 50 })];
    expect(grandChange(rows, 'mig_ind')).toEqual({ previous: 150, delta: 0, ratio: 0 });
  });
  it('gives no change when a place lacks the figure in either round, rather than a false rise or fall', () => {
    const rows = [row('LY0211', { mig_ind: 120 }, { mig_ind: 100 }), row('LY0104', { mig_ind: 30 })];
    expect(grandChange(rows, 'mig_ind')).toBeNull();
    expect(grandChange([], 'mig_ind')).toBeNull();
  });
});
