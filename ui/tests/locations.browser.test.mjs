// The gazetteer as an admin changes it between rounds, from the Locations page: a new
// muhalla is added under its baladiya (the next free P-code proposed), renamed, retired
// with a confirmation and found again among the retired; then, in Arabic on a portrait
// tablet, a refused change reads in Arabic and the page fits the screen. Each step is
// checked against HQ's API too. Run by scripts/browser-test.sh against a real dtm-hq.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL;
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');

async function api(path, token) {
  const res = await fetch(`${HQ}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return res.json();
}

async function adminToken() {
  const res = await fetch(`${HQ}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'admin-demo' }),
  });
  return (await res.json()).token;
}

test('an admin adds, renames and retires a muhalla from the Locations page, in English and Arabic', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set: start dtm-hq --demo serving ui/dist');
  mkdirSync(OUT, { recursive: true });
  const token = await adminToken();
  const before = await api('/locations?within=LY021104&level=4&retired=true', token);
  const highest = Math.max(...before.locations.map((l) => Number(l.pcode.slice(-2))));
  const proposed = `LY021104${String(highest + 1).padStart(2, '0')}`;

  const { page, pageErrors } = await signedIn(t, HQ, 'admin', 'admin-demo');
  await page.getByTestId('tab-locations').click();
  // The list opens on the baladiyas; a baladiya's P-code opens its muhallas.
  await page.getByTestId('open-LY021104').click();
  await page.getByTestId('location-LY02110401').waitFor();
  assert.equal(await page.getByTestId('locations-within').inputValue(), 'LY021104');
  await page.getByTestId('location-parent').fill('LY021104');
  await page.getByTestId('location-parent-name').waitFor();
  assert.match(await page.getByTestId('location-parent-name').innerText(), /Tripoli/, 'the parent is named as typed');
  await page.waitForFunction((p) => document.querySelector('[data-testid="location-pcode"]')?.value === p, proposed);
  await page.getByTestId('location-name-en').fill('Souq al-Jumaa East');
  await page.getByTestId('location-name-ar').fill('سوق الجمعة الشرقية');
  await page.getByTestId('location-kind').selectOption('Urban');
  await page.getByTestId('location-lat').fill('32.88');
  await page.getByTestId('location-lon').fill('13.22');
  await page.getByTestId('location-add-submit').click();
  await page.getByTestId('locations-notice').waitFor();
  assert.match(await page.getByTestId('locations-notice').innerText(), new RegExp(`${proposed} added`));
  const row = page.getByTestId(`location-${proposed}`);
  await row.waitFor();
  assert.match(await row.innerText(), /Souq al-Jumaa East/, 'the new muhalla is listed under its baladiya');
  const stored = (await api(`/locations?within=${proposed}`, token)).locations[0];
  assert.deepEqual(
    [stored.name_ar, stored.kind, stored.lat, stored.lon],
    ['سوق الجمعة الشرقية', 'Urban', '32.88', '13.22'],
    'HQ holds the muhalla as typed',
  );

  // Renamed in place.
  await page.getByTestId(`rename-${proposed}`).click();
  await page.getByTestId('rename-en').fill('Souq al-Jumaa (East)');
  await page.getByTestId('rename-save').click();
  await page.waitForFunction((p) => document.querySelector(`[data-testid="location-${p}"]`)?.textContent?.includes('(East)'), proposed);

  // Retired, after a confirmation that says what it does; then found among the retired.
  await page.getByTestId(`retire-${proposed}`).click();
  assert.match(await page.getByTestId('retire-panel').innerText(), /past assessments are kept/);
  await page.getByTestId('retire-confirm').click();
  await page.waitForFunction((p) => !document.querySelector(`[data-testid="location-${p}"]`), proposed);
  await page.getByTestId('locations-retired').check();
  await page.waitForFunction((p) => document.querySelector(`[data-testid="location-${p}"]`)?.dataset.retired === 'true', proposed);
  assert.equal((await api(`/locations?within=${proposed}&retired=true`, token)).locations[0].retired, true);
  await page.screenshot({ path: join(OUT, 'locations-en.png'), fullPage: true });

  // Arabic on a portrait tablet: a refused change in Arabic, and nothing wider than the screen.
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.getByTestId('lang-toggle').click();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByTestId('location-parent').fill('LY021104');
  await page.getByTestId('location-parent-name').waitFor();
  await page.getByTestId('location-pcode').fill('LY02110401');
  await page.getByTestId('location-name-en').fill('Adhohra again');
  await page.getByTestId('location-name-ar').fill('الظهرة');
  await page.getByTestId('location-add-submit').click();
  await page.getByTestId('locations-error').waitFor();
  const refused = await page.getByTestId('locations-error').innerText();
  assert.match(refused, /يوجد في الدليل الجغرافي موقع بهذا الرمز/, `a P-code in use is refused in Arabic: ${refused}`);
  assert.doesNotMatch(refused, /[A-Za-z]{3}/, 'no English reaches an Arabic reader');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page fits a portrait tablet (${overflow}px too wide)`);
  await page.screenshot({ path: join(OUT, 'locations-ar-768.png'), fullPage: true });
  assert.deepEqual(pageErrors, [], 'the page threw nothing');
});
