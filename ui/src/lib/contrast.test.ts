import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contrastRatio } from './contrast';

const css = readFileSync(new URL('../app.css', import.meta.url), 'utf8');
const token = (name: string) => {
  const m = new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{6})`).exec(css);
  if (!m) throw new Error(`app.css has no --${name}`);
  return m[1];
};

describe('focus ring', () => {
  it('has at least 3:1 contrast on white, the page background and the sync bar', () => {
    for (const bg of ['surface', 'bg', 'warn-bg', 'danger-bg', 'ok-bg']) {
      expect(contrastRatio(token('focus'), token(bg)), `--focus on --${bg}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('has at least 3:1 contrast on the blue top bar, where it takes its own colour', () => {
    expect(contrastRatio(token('focus-on-brand'), token('brand'))).toBeGreaterThanOrEqual(3);
  });

  it('measures contrast the WCAG way', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21);
    expect(contrastRatio('#ffbf47', '#ffffff'), 'the old yellow ring was too faint on white').toBeLessThan(3);
  });
});
