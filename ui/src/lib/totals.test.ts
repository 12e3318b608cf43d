import { describe, expect, it } from 'vitest';
import type { FormDef, LocationTotals } from './api-types';
import { levelLabel, totalsTable } from './totals';

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
        { id: 'idp_hh', type: 'count', label: { en: 'IDP households', ar: 'أسر نازحة' }, required: false, options: [] },
        { id: 'notes', type: 'text', label: { en: 'Notes', ar: 'ملاحظات' }, required: false, options: [] },
        { id: 'idp_ind', type: 'count', label: { en: 'IDP individuals', ar: 'أفراد نازحون' }, required: false, options: [] },
      ],
    },
  ],
  rules: [],
};
const loc = (pcode: string) => ({ pcode, level: 2, name_en: pcode, name_ar: pcode });
const counted = { differences: [], baladiya_assessments: 1, muhalla_assessments: 0, unapproved: 0 };

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
