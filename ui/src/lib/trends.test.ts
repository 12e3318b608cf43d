import { describe, expect, it } from 'vitest';
import type { LocationTotals, RoundInfo } from './api-types';
import { chartGeometry, niceMax, trendsOf } from './trends';

const round = (code: string, number: number): RoundInfo => ({
  code,
  number,
  title: code,
  title_ar: '',
  status: 'published',
  window_start: '2025-01-01',
  window_end: '2025-02-01',
  forms: [],
});
const row = (pcode: string, values: Record<string, number>): LocationTotals => ({
  location: { pcode, level: 2, name_en: pcode, name_ar: pcode },
  values,
  differences: [],
  baladiya_assessments: 1,
  muhalla_assessments: 0,
  unapproved: 0,
  unknown: {},
});

describe('trends across rounds', () => {
  const rounds = [round('R53', 53), round('R51', 51), round('R52', 52)];
  const totals = new Map([
    ['R51', [row('LY0211', { mig_ind: 100 }), row('LY0104', { mig_ind: 40, idp_ind: 7 })]],
    ['R52', [row('LY0104', { mig_ind: 50 })]],
    ['R53', [row('LY0211', { mig_ind: 130 }), row('LY0104', { mig_ind: 60 })]],
  ]);

  it('gives each round its figure, oldest first, and a gap where a round has none', () => {
    const [mig] = trendsOf(rounds, totals, 'LY0211', ['mig_ind']);
    expect(mig.points).toEqual([
      { round: 'R51', value: 100 },
      { round: 'R52', value: null },
      { round: 'R53', value: 130 },
    ]);
  });

  it('sums the scope for the country, counting only figures that exist', () => {
    const [mig, idp] = trendsOf(rounds, totals, null, ['mig_ind', 'idp_ind']);
    expect(mig.points.map((p) => p.value)).toEqual([140, 50, 190]);
    expect(idp.points.map((p) => p.value), 'IDPs were counted in R51 only: no zeros invented').toEqual([7, null, null]);
  });

  it('draws a gap as a break in the line, not a drop to zero', () => {
    const geometry = chartGeometry(trendsOf(rounds, totals, 'LY0211', ['mig_ind']), 400, 200);
    const line = geometry.lines[0];
    expect(line.points.map((p) => p.round)).toEqual(['R51', 'R53']);
    expect(line.path.match(/M/g)?.length, 'each point after a gap starts a new segment').toBe(2);
    expect(line.path).not.toContain('L');
    expect(geometry.ticks.at(-1)!.value).toBe(200);
    expect(Math.max(...geometry.lines.flatMap((l) => l.points.map((p) => p.x)))).toBeLessThanOrEqual(400);
  });

  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    expect([niceMax(0), niceMax(7), niceMax(130), niceMax(269822), niceMax(500)]).toEqual([1, 10, 200, 500000, 500]);
  });
});
