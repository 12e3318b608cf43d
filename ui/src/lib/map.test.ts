import { describe, expect, it } from 'vitest';
import mantikaText from '../../../data/boundaries/lby_adm2_mantika_approx_geoboundaries.geojson?raw';
import {
  NO_DATA,
  boundsOf,
  changeScale,
  colourOf,
  countScale,
  fit,
  legendOf,
  pathOf,
  type FeatureCollection,
  type MantikaProps,
  type PolygonGeometry,
} from './map';

const mantikas = JSON.parse(mantikaText) as FeatureCollection<PolygonGeometry, MantikaProps>;

describe('the map of Libya', () => {
  it('draws all 22 mantikas of the shipped boundaries inside the box, north up', () => {
    expect(mantikas.features.length, 'data/boundaries holds the 22 mantikas').toBe(22);
    const bounds = boundsOf(mantikas.features.map((f) => f.geometry));
    expect(bounds.west).toBeGreaterThan(9);
    expect(bounds.east).toBeLessThan(26);
    const project = fit(bounds, 600);
    expect(project.height, 'Libya is about as tall as it is wide once longitude is shrunk').toBeGreaterThan(500);
    expect(project.height).toBeLessThan(700);
    for (const f of mantikas.features) {
      const d = pathOf(f.geometry, project);
      expect(d, f.properties.adm2_pcode).toMatch(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+Z/);
      for (const [, x, y] of d.matchAll(/([\d.]+),([\d.]+)/g)) {
        expect(Number(x), `${f.properties.adm2_pcode} stays inside the SVG`).toBeLessThanOrEqual(project.width);
        expect(Number(y), `${f.properties.adm2_pcode} stays inside the SVG`).toBeLessThanOrEqual(project.height);
      }
    }
    const [, tripoliY] = project([13.19, 32.89]);
    const [, sebhaY] = project([14.43, 27.04]);
    expect(tripoliY, 'Tripoli, on the coast, is drawn above Sebha in the desert').toBeLessThan(sebhaY);
  });

  it('colours counts in quantile classes and keeps no-data apart from every class', () => {
    const scale = countScale([0, 10, 120, 450, 1200, 5000, 23000, 80000]);
    expect(scale.colours.length).toBe(5);
    expect(colourOf(0, scale)).toBe(scale.colours[0]);
    expect(colourOf(80000, scale)).toBe(scale.colours[4]);
    expect(colourOf(null, scale), 'no figure is not the lowest class').toBe(NO_DATA);
    expect(scale.colours).not.toContain(NO_DATA);
    const legend = legendOf(scale);
    expect(legend[0].from).toBeNull();
    expect(legend.at(-1)!.to).toBeNull();
    expect(legend.map((l) => l.colour)).toEqual(scale.colours);
  });

  it('gives fewer classes when few places have distinct figures, never an empty class', () => {
    const scale = countScale([5, 5, 5]);
    expect(scale.colours.length).toBe(1);
    expect(colourOf(5, scale)).toBe(scale.colours[0]);
  });

  it('colours changes around a neutral middle, rises and falls alike in strength', () => {
    const scale = changeScale([-900, -20, 0, 30, 1000]);
    expect(colourOf(0, scale), 'no change is the neutral middle').toBe(scale.colours[2]);
    expect(colourOf(1000, scale)).toBe(scale.colours[4]);
    expect(colourOf(-1000, scale)).toBe(scale.colours[0]);
    expect(colourOf(-500, scale), 'a fall as large as a rise takes the mirrored class').toBe(scale.colours[0]);
    expect(colourOf(500, scale)).toBe(scale.colours[4]);
  });
});
