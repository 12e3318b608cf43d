// The three past rounds the map and key-figures tests import: every muhalla of Libya,
// migrants only, R53 with a third more than R52. One definition for both tests.

/** Scale of each round's figures. */
export const PAST_ROUNDS = { R51: 0.8, R52: 1, R53: 1.34 };

/** A muhalla's [migrants, men, women, children] in a round, from its position and the round's scale. */
export function muhallaFigures(n, scale) {
  const [m, w, c] = [(n * 37) % 500, (n * 53) % 300, (n * 11) % 200].map((x) => Math.round(x * scale));
  return [m + w + c, m, w, c];
}

/** Every round's figures per muhalla, from the gazetteer's muhalla CSV (row 1 headers, row 2 tags). */
export function pastRoundFigures(muhallaCsv) {
  const [head, , ...rows] = muhallaCsv.trim().split('\n');
  const names = head.split(',');
  const muhallas = rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [names[i], v])));
  return Object.fromEntries(
    Object.entries(PAST_ROUNDS).map(([code, scale]) => [
      code,
      muhallas.map((m, i) => {
        const [migrants, men, women, children] = muhallaFigures(i + 1, scale);
        return { pcode: m.adm4_pcode, baladiya: m.adm3_pcode, region: m.adm3_pcode.slice(0, 4), migrants, men, women, children };
      }),
    ]),
  );
}
