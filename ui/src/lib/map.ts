// Pure logic of the map: GeoJSON from data/boundaries drawn as SVG, and the colour of
// each place by a figure. No map library: at the scale of one country an
// equirectangular projection corrected for latitude is faithful enough, needs no tiles
// or fonts from outside, renders the same in Chromium and in WebKit, and leaves every
// place an SVG element with a name a screen reader can announce. (MapLibre GL would add
// about 800 KB and WebGL, which the field laptops' WebKitGTK does not always have;
// d3-geo's spherical projections and clipping are not needed here.)

export type Position = [number, number];

export interface PolygonGeometry {
  type: 'Polygon' | 'MultiPolygon';
  coordinates: Position[][] | Position[][][];
}

export interface PointGeometry {
  type: 'Point';
  coordinates: Position;
}

export interface Feature<G, P> {
  type: 'Feature';
  geometry: G;
  properties: P;
}

export interface FeatureCollection<G, P> {
  type: 'FeatureCollection';
  features: Feature<G, P>[];
}

/** The properties of data/boundaries' mantika polygons that the map reads. */
export interface MantikaProps {
  adm2_pcode: string;
  adm2_name_en: string;
  adm2_name_ar: string;
}

/** The properties of data/boundaries' baladiya points that the map reads. */
export interface BaladiyaProps {
  adm2_pcode: string;
  adm3_pcode: string;
  adm3_name_en: string;
  adm3_name_ar?: string;
}

export interface Bounds {
  west: number;
  south: number;
  east: number;
  north: number;
}

/** Fits `bounds` into a `width` × `height` box with `pad` pixels around, north up. */
export interface Projection {
  (p: Position): Position;
  width: number;
  height: number;
}

function polygonsOf(g: PolygonGeometry): Position[][][] {
  return g.type === 'Polygon' ? [g.coordinates as Position[][]] : (g.coordinates as Position[][][]);
}

export function boundsOf(geometries: (PolygonGeometry | PointGeometry)[]): Bounds {
  const b = { west: Infinity, south: Infinity, east: -Infinity, north: -Infinity };
  const add = ([lon, lat]: Position) => {
    b.west = Math.min(b.west, lon);
    b.east = Math.max(b.east, lon);
    b.south = Math.min(b.south, lat);
    b.north = Math.max(b.north, lat);
  };
  for (const g of geometries) {
    if (g.type === 'Point') add(g.coordinates);
    else for (const poly of polygonsOf(g)) for (const ring of poly) ring.forEach(add);
  }
  return b;
}

/**
 * An equirectangular projection with x shrunk by cos(middle latitude), so shapes keep
 * their proportions at Libya's latitudes, fitted into `width` (the height follows).
 */
export function fit(bounds: Bounds, width: number, pad = 8): Projection {
  const k = Math.cos((((bounds.north + bounds.south) / 2) * Math.PI) / 180);
  const spanX = (bounds.east - bounds.west) * k || 1;
  const spanY = bounds.north - bounds.south || 1;
  const scale = (width - 2 * pad) / spanX;
  const height = Math.round(spanY * scale + 2 * pad);
  const project = (([lon, lat]: Position): Position => [
    round2(pad + (lon - bounds.west) * k * scale),
    round2(pad + (bounds.north - lat) * scale),
  ]) as Projection;
  project.width = width;
  project.height = height;
  return project;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** An SVG path for a polygon or multipolygon, every ring closed. */
export function pathOf(g: PolygonGeometry, project: Projection): string {
  let d = '';
  for (const poly of polygonsOf(g)) {
    for (const ring of poly) {
      ring.forEach((p, i) => {
        const [x, y] = project(p);
        d += `${i === 0 ? 'M' : 'L'}${x},${y}`;
      });
      d += 'Z';
    }
  }
  return d;
}

/** A colour scale: `breaks` are the lower bounds of classes 1…n−1 (class 0 below the first). */
export interface Scale {
  breaks: number[];
  colours: readonly string[];
  /** Whether the classes run below zero too (a change), so the middle is "no change". */
  diverging: boolean;
}

/** Sequential blues for counts (ColorBrewer Blues 5), readable in greyscale too. */
export const SEQUENTIAL = ['#eff3ff', '#bdd7e7', '#6baed6', '#3182bd', '#08519c'] as const;
/** Diverging purple–green for changes (ColorBrewer PRGn 5): neither colour means good or bad. */
export const DIVERGING = ['#7b3294', '#c2a5cf', '#f7f7f7', '#a6dba0', '#008837'] as const;
/** Places with no figure: hatched grey, apart from every class. */
export const NO_DATA = '#d9d9d9';

/**
 * Classes for counts: quantile breaks over the places that have a figure, rounded to
 * two significant digits so the legend reads as people write numbers. Fewer distinct
 * values than classes give fewer classes.
 */
export function countScale(values: number[]): Scale {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const breaks: number[] = [];
  for (let i = 1; i < SEQUENTIAL.length; i++) {
    if (sorted.length === 0) break;
    const q = roundSig(sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / SEQUENTIAL.length))]);
    if (q > (breaks.at(-1) ?? sorted[0])) breaks.push(q);
  }
  return { breaks, colours: SEQUENTIAL.slice(0, breaks.length + 1), diverging: false };
}

/** Classes for changes: symmetric about 0, the outer break at the largest change's half. */
export function changeScale(values: number[]): Scale {
  const largest = Math.max(0, ...values.filter((v) => Number.isFinite(v)).map(Math.abs));
  const outer = Math.max(1, roundSig(largest / 2));
  const inner = Math.max(1, roundSig(outer / 5));
  // Counts are whole, so the classes ≤ −outer, (−outer, −inner], (−inner, inner),
  // [inner, outer) and ≥ outer start at these whole numbers.
  return { breaks: [-outer + 1, -inner + 1, inner, outer], colours: DIVERGING, diverging: true };
}

/** The colour of a value on a scale; NO_DATA for none. */
export function colourOf(value: number | null | undefined, scale: Scale): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return NO_DATA;
  let i = 0;
  while (i < scale.breaks.length && value >= scale.breaks[i]) i++;
  return scale.colours[i];
}

/** The legend's classes: each colour with the range it stands for (`to` exclusive; null is open). */
export function legendOf(scale: Scale): { colour: string; from: number | null; to: number | null }[] {
  return scale.colours.map((colour, i) => ({
    colour,
    from: i === 0 ? null : scale.breaks[i - 1],
    to: i === scale.colours.length - 1 ? null : scale.breaks[i],
  }));
}

function roundSig(n: number): number {
  if (n === 0) return 0;
  const p = Math.pow(10, Math.floor(Math.log10(Math.abs(n))) - 1);
  return Math.round(n / p) * p;
}
