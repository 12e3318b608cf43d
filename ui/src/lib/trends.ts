// Pure logic of the trends across rounds: which figure each round has for a place, and
// the line chart's geometry. The chart is plain SVG: three lines of a few dozen rounds
// need no chart library (Chart.js or ECharts would add 70–300 KB and draw to a canvas a
// screen reader cannot read); every point is an element with its own label, and the
// same figures are in a table beside it.

import type { LocationTotals, RoundInfo } from './api-types';

export interface TrendPoint {
  round: string;
  /** The approved figure, or null where that round has none for the place (a gap, never 0). */
  value: number | null;
}

export interface Trend {
  field: string;
  points: TrendPoint[];
}

/** Rounds oldest first, by number: the order of the x axis. */
export function roundsInOrder(rounds: RoundInfo[]): RoundInfo[] {
  return [...rounds].sort((a, b) => a.number - b.number);
}

/**
 * Each field's figure per round for one place (`pcode`), or for the whole scope when
 * `pcode` is null (the sum over the round's rows, which cover the scope once).
 */
export function trendsOf(
  rounds: RoundInfo[],
  totals: ReadonlyMap<string, LocationTotals[]>,
  pcode: string | null,
  fields: readonly string[],
): Trend[] {
  const ordered = roundsInOrder(rounds);
  return fields.map((field) => ({
    field,
    points: ordered.map((r) => {
      const rows = (totals.get(r.code) ?? []).filter((row) => pcode === null || row.location.pcode === pcode);
      const present = rows.map((row) => row.values[field]).filter((v): v is number => typeof v === 'number');
      return { round: r.code, value: present.length ? present.reduce((a, b) => a + b, 0) : null };
    }),
  }));
}

export interface ChartGeometry {
  width: number;
  height: number;
  /** The x of each round, in order. */
  xs: number[];
  /** The y axis' ticks, from 0 to a round maximum. */
  ticks: { value: number; y: number }[];
  lines: { field: string; path: string; points: { round: string; x: number; y: number; value: number }[] }[];
}

/** A maximum for the axis: 1, 2 or 5 times a power of ten, at or above `n`. */
export function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/**
 * Lays the trends out in a `width` × `height` box with room for the axis labels. A
 * round without a figure breaks the line: the next point starts a new segment.
 */
export function chartGeometry(trends: Trend[], width: number, height: number): ChartGeometry {
  const left = 64;
  const right = 16;
  const top = 12;
  const bottom = 28;
  const n = trends[0]?.points.length ?? 0;
  const xs = Array.from({ length: n }, (_, i) => (n <= 1 ? (left + width - right) / 2 : left + (i * (width - left - right)) / (n - 1)));
  const max = niceMax(Math.max(0, ...trends.flatMap((t) => t.points.map((p) => p.value ?? 0))));
  const y = (v: number) => top + (1 - v / max) * (height - top - bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({ value: Math.round(f * max), y: y(f * max) }));
  const lines = trends.map((t) => {
    let path = '';
    let pen = false;
    const points: ChartGeometry['lines'][number]['points'] = [];
    t.points.forEach((p, i) => {
      if (p.value === null) {
        pen = false;
        return;
      }
      const px = Math.round(xs[i] * 10) / 10;
      const py = Math.round(y(p.value) * 10) / 10;
      path += `${pen ? 'L' : 'M'}${px},${py}`;
      pen = true;
      points.push({ round: p.round, x: px, y: py, value: p.value });
    });
    return { field: t.field, path, points };
  });
  return { width, height, xs, ticks, lines };
}
