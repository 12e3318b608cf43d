// The round compared with the one before, on the Totals tab and on the map, against a
// running dtm-hq: an admin imports two past rounds of DTM's size (every muhalla), then
// the West supervisor reads them in English and Arabic.
// Needs DTM_HQ_URL: a dtm-hq with demo data serving ui/dist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { muhallaFigures, PAST_ROUNDS } from './past-rounds.mjs';
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL?.replace(/\/+$/, '');
const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, '..', 'test-results');
const DATA = join(HERE, '..', '..', 'data');
const NO_DATA = '#d9d9d9';

/** Data rows of a gazetteer CSV (row 1 headers, row 2 HXL tags), as objects. */
function gazetteer(file) {
  const [head, , ...rows] = readFileSync(join(DATA, 'gazetteer', file), 'utf8').trim().split('\n');
  const names = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [names[i], v])));
}

async function api(method, path, token, body, type = 'application/json') {
  const res = await fetch(`${HQ}/api/v1${path}`, {
    method,
    headers: { 'Content-Type': type, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

test('a supervisor compares the round with the one before, in the totals and on the map', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set: start dtm-hq --demo serving ui/dist');
  mkdirSync(OUT, { recursive: true });

  // Three past rounds, every muhalla of Libya, the last one with a third more migrants.
  const muhallas = gazetteer('lby_admin4_muhalla.csv');
  assert.ok(muhallas.length > 600, 'the gazetteer holds DTM Libya muhallas');
  const admin = (await api('POST', '/auth/login', null, { username: 'admin', password: 'admin-demo' })).body.token;
  const figures = muhallaFigures;
  const rounds = PAST_ROUNDS;
  const expected = {};
  for (const [code, scale] of Object.entries(rounds)) {
    const number = Number(code.slice(1));
    const created = await api('POST', '/rounds', admin, {
      code,
      number,
      title: `Round ${number}`,
      window_start: '2025-01-01',
      window_end: '2025-02-28',
      forms: [{ form: 'baladiya', version: 2 }, { form: 'muhalla', version: 1 }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const lines = [
      'baladiya,muhalla,round,mig_ind,men,women,children',
      '#adm3+code,#adm4+code,#round+code,#affected+migrants+ind,#affected+migrants+m+adults,#affected+migrants+f+adults,#affected+migrants+children',
      ...muhallas.map((m, i) => [m.adm3_pcode, m.adm4_pcode, number, ...figures(i + 1, scale)].join(',')),
    ];
    const imported = await api('POST', `/rounds/${code}/import`, admin, lines.join('\n'), 'text/csv');
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
    expected[code] = {};
    muhallas.forEach((m, i) => {
      const mantika = m.adm3_pcode.slice(0, 6);
      expected[code][mantika] = (expected[code][mantika] ?? 0) + figures(i + 1, scale)[0];
    });
  }
  const westMantikas = gazetteer('lby_admin2_mantika.csv').filter((m) => m.adm1_pcode === 'LY02').map((m) => m.adm2_pcode);

  const { page, pageErrors } = await signedIn(t, HQ, 'supervisor', 'supervisor-demo');

  // Totals: each figure with its change since R52, and the largest changes.
  await page.getByTestId('tab-totals').click();
  await page.getByTestId('round-picker').selectOption('R53');
  await page.getByTestId('totals-table').waitFor();
  assert.match(await page.getByTestId('totals-compared').innerText(), /since R52/);
  const tripoli = 'LY0211';
  const before = expected.R52[tripoli];
  const after = expected.R53[tripoli];
  const cell = page.locator(`[data-testid="totals-${tripoli}"] td[data-field="mig_ind"]`);
  const shown = await cell.innerText();
  assert.ok(shown.includes(after.toLocaleString('en')), `Tripoli's migrants in R53 are ${after}: ${shown}`);
  const pct = Math.round(((after - before) / before) * 100);
  assert.ok(
    shown.includes(`▲ ${(after - before).toLocaleString('en')} (${pct}%)`),
    `the change since R52 is +${after - before} (${pct}%): ${shown}`,
  );
  // The All row compares the sums: every West mantika has migrants in both rounds.
  const [allAfter, allBefore] = ['R53', 'R52'].map((r) => westMantikas.reduce((n, m) => n + expected[r][m], 0));
  const allPct = Math.round(((allAfter - allBefore) / allBefore) * 100);
  assert.equal(
    await page.getByTestId('change-all-mig_ind').innerText(),
    `▲ ${(allAfter - allBefore).toLocaleString('en')} (${allPct}%)`,
    'the grand total carries its change since R52',
  );
  const largest = page.getByTestId('largest-changes');
  assert.match(await largest.innerText(), /Largest changes since R52/);
  // Only migrants were imported: one change per West mantika, at most ten listed.
  assert.equal(await largest.locator('li').count(), Math.min(10, westMantikas.length), 'every change, up to ten');
  const biggest = westMantikas.map((m) => [m, expected.R53[m] - expected.R52[m]]).sort((a, b) => b[1] - a[1])[0];
  assert.ok(
    (await largest.locator('li').first().getAttribute('data-testid')) === `largest-${biggest[0]}-mig_ind`,
    `the largest change (${biggest[0]}, +${biggest[1]}) comes first`,
  );
  await page.screenshot({ path: join(OUT, 'totals-compared.png'), fullPage: true });

  // The map: the West's mantikas coloured, the rest of Libya drawn but without figures.
  await page.getByTestId('tab-map').click();
  await page.getByTestId('round-picker').selectOption('R53');
  const map = page.getByTestId('map');
  await map.waitFor();
  assert.ok(
    await page.getByTestId('map-figure-mig_ind').isChecked(),
    'a round of migrants only opens on migrants, not on an empty map of IDPs',
  );
  const fills = await page.$$eval('[data-testid^="map-mantika-"]', (paths) =>
    paths.map((p) => ({ pcode: p.dataset.testid.replace('map-mantika-', ''), fill: p.getAttribute('fill'), value: p.dataset.value })),
  );
  assert.equal(fills.length, 22, 'all 22 mantikas of Libya are drawn');
  const coloured = fills.filter((f) => f.fill !== NO_DATA);
  assert.deepEqual(
    coloured.map((f) => f.pcode).sort(),
    [...westMantikas].sort(),
    'exactly the mantikas in the supervisor’s scope have a figure',
  );
  for (const f of coloured) {
    assert.equal(Number(f.value), expected.R53[f.pcode], `${f.pcode} is coloured by its approved migrants`);
  }
  assert.ok(new Set(coloured.map((f) => f.fill)).size > 1, 'different figures get different colours');
  const dots = await page.locator('[data-testid^="map-baladiya-"]').count();
  assert.equal(dots, 100, 'every baladiya point is drawn');
  await page.getByTestId(`map-mantika-${tripoli}`).click();
  const side = page.getByTestId('map-selected');
  await side.waitFor();
  assert.match(await side.innerText(), /Tripoli/);
  assert.ok((await side.locator('tbody tr').count()) > 0, 'the chosen mantika lists its baladiyas');
  await page.screenshot({ path: join(OUT, 'map.png'), fullPage: true });

  await page.getByTestId('map-mode-change').check();
  const tripoliChange = await page.getByTestId(`map-mantika-${tripoli}`).getAttribute('data-value');
  assert.equal(Number(tripoliChange), after - before, 'in change mode a mantika carries its change since R52');
  assert.match(await page.getByTestId('map-legend').innerText(), /change since R52/);

  // Arabic: the same map, names and legend in Arabic, right to left.
  await page.getByTestId('lang-toggle').click();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  assert.match(await page.getByTestId('map-legend').innerText(), /التغيّر منذ/);
  assert.match(await page.getByTestId('map-selected').innerText(), /طرابلس/);
  await page.screenshot({ path: join(OUT, 'map-ar.png'), fullPage: true });

  // Trends: Tripoli's migrants in the three imported rounds, and in the demo round R1
  // where the review queue's test approved figures there; a round without an approved
  // figure is a gap, never a zero.
  const supervisor = (await api('POST', '/auth/login', null, { username: 'supervisor', password: 'supervisor-demo' })).body.token;
  const r1 = (await api('GET', '/rounds/R1/totals?level=2', supervisor)).body.find((r) => r.location.pcode === tripoli)?.values ?? {};
  await page.getByTestId('lang-toggle').click();
  await page.getByTestId('tab-trends').click();
  await page.getByTestId('trends-place').selectOption(tripoli);
  const chart = page.getByTestId('trends-chart');
  await chart.waitFor();
  const pointsOf = (field) =>
    page.$$eval(`[data-testid^="trend-point-${field}-"]`, (cs, f) =>
      cs.map((c) => [c.dataset.testid.replace(`trend-point-${f}-`, ''), Number(c.dataset.value)]), field);
  assert.deepEqual(
    await pointsOf('mig_ind'),
    [...(r1.mig_ind !== undefined ? [['R1', r1.mig_ind]] : []), ...['R51', 'R52', 'R53'].map((r) => [r, expected[r][tripoli]])],
    'a point per round with approved migrants in Tripoli, oldest first, each the round’s figure',
  );
  assert.deepEqual(
    await pointsOf('idp_ind'),
    r1.idp_ind !== undefined ? [['R1', r1.idp_ind]] : [],
    'the imported rounds hold no IDP figures: no invented zeros',
  );
  if (r1.mig_ind === undefined) assert.match(await page.getByTestId('trends-row-R1').innerText(), /–/);
  await page.screenshot({ path: join(OUT, 'trends.png'), fullPage: true });

  assert.deepEqual(pageErrors, [], 'the page threw no errors');
});
