// End-to-end check of settling a sync conflict from the HQ dashboard.
// Needs DTM_HQ_URL: a dtm-hq serving ui/dist with an OPEN conflict on
// R1/baladiya/LY021104, field idp_ind (two devices changed it from the same base).
// Run: DTM_HQ_URL=http://127.0.0.1:8080 npm run test:browser

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HQ = process.env.DTM_HQ_URL?.replace(/\/+$/, '');
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');
const KEY = { round: 'R1', form: 'baladiya', location: 'LY021104' };
const FIELD = 'idp_ind';
const VALUE = 62;
const REASON = 'Called the key informant: 62 after the recount';

async function apiToken() {
  const res = await fetch(`${HQ}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'supervisor', password: 'supervisor-demo' }),
  });
  assert.equal(res.status, 200, 'the demo supervisor must be able to log in through the API');
  return (await res.json()).token;
}

async function api(token, path) {
  const res = await fetch(`${HQ}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `GET ${path} answered ${res.status}`);
  return res.json();
}

test('a supervisor settles a conflict by entering another value, with a reason', async (t) => {
  assert.ok(
    HQ,
    'DTM_HQ_URL is not set. Start dtm-hq (serving ui/dist, with an open conflict on R1/baladiya/LY021104 idp_ind) and run with DTM_HQ_URL=http://host:port',
  );
  mkdirSync(OUT, { recursive: true });

  const token = await apiToken();
  const conflicts = await api(token, `/rounds/${KEY.round}/conflicts`);
  const conflict = conflicts.find(
    (c) => c.status === 'open' && c.field === FIELD && c.key.round === KEY.round && c.key.form === KEY.form && c.key.location === KEY.location,
  );
  assert.ok(
    conflict,
    `HQ at ${HQ} has no OPEN conflict on ${KEY.round}/${KEY.form}/${KEY.location} field ${FIELD}; the orchestrating script must create one ` +
      `(two device stores: set ${FIELD} from the same base on both, sync both). Conflicts there: ${JSON.stringify(conflicts)}`,
  );
  const id = conflict.id;

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  await page.goto(`${HQ}/`);
  // Start in English whatever an earlier run left in localStorage.
  await page.evaluate(() => localStorage.setItem('dtm.locale', 'en'));
  await page.reload();
  await page.locator('input[name="username"]').fill('supervisor');
  await page.locator('input[name="password"]').fill('supervisor-demo');
  await page.locator('form.login button[type="submit"]').click();

  // The submission review says there is a conflict and links to it.
  await page.getByTestId('round-picker').selectOption(KEY.round);
  await page.getByTestId(`row-${KEY.location}`).click();
  const banner = page.getByTestId('conflicts-banner');
  await banner.waitFor();
  await page.getByTestId('conflicts-link').click();
  await page.getByTestId('conflicts-focus').waitFor();
  await page.getByTestId('conflicts-show-all').click();

  // Or through the tab, for the round.
  await page.getByTestId('tab-completeness').click();
  await page.getByTestId('tab-conflicts').click();
  await page.getByTestId('round-picker').selectOption(KEY.round);
  const card = page.getByTestId(`conflict-${id}`);
  await card.waitFor();
  assert.equal(await card.getAttribute('data-status'), 'open');
  const text = await card.innerText();
  assert.match(text, new RegExp(KEY.location), 'the card names the baladiya P-code');
  assert.match(text, /Current value/, 'the current side is labelled');
  assert.match(text, /Incoming value/, 'the incoming side is labelled');
  const current = await page.getByTestId(`current-${id}`).innerText();
  const incoming = await page.getByTestId(`incoming-${id}`).innerText();
  assert.ok(conflict.current.author_name, `HQ names the author, not only the username: ${JSON.stringify(conflict.current)}`);
  assert.equal(
    await page.getByTestId(`author-current-${id}`).innerText(),
    conflict.current.author_name,
    'the current side shows its author by display name',
  );
  assert.equal(await page.getByTestId(`author-incoming-${id}`).innerText(), conflict.incoming.author_name);
  const deviceShown = await page.getByTestId(`device-current-${id}`).innerText();
  assert.equal(
    deviceShown,
    conflict.current.device_name ?? `…${conflict.current.device.slice(-8)}`,
    'the device by its name where it has one, else the end of its id',
  );
  assert.doesNotMatch(current + incoming, /Invalid Date|NaN/, 'HLC stamps are shown as dates');
  const [cur, inc] = [page.getByTestId(`current-${id}`), page.getByTestId(`incoming-${id}`)];
  const [cb, ib] = [await cur.boundingBox(), await inc.boundingBox()];
  assert.ok(cb && ib && Math.abs(cb.y - ib.y) < 2 && cb.x < ib.x, 'current and incoming are side by side, current first (LTR)');
  await page.screenshot({ path: join(OUT, 'conflicts.png'), fullPage: true });

  // Arabic: right to left, current still on the reading-start (right) side.
  await page.getByTestId('lang-toggle').click();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl', 'Arabic lays the page out right to left');
  const [cbAr, ibAr] = [await cur.boundingBox(), await inc.boundingBox()];
  assert.ok(cbAr && ibAr && cbAr.x > ibAr.x, 'in Arabic the current value is on the right');
  await page.screenshot({ path: join(OUT, 'conflicts-ar.png'), fullPage: true });
  await page.getByTestId('lang-toggle').click();

  // A reason is required before anything is sent.
  await page.getByTestId(`other-${id}`).click();
  await page.getByTestId(`other-value-${id}`).fill(String(VALUE));
  assert.equal(await page.getByTestId(`other-value-${id}`).getAttribute('inputmode'), 'numeric', 'counts get the numeric keypad');
  await page.getByTestId(`resolve-${id}`).click();
  await page.getByText('Write the reason for this decision.').waitFor();
  assert.equal(await card.getAttribute('data-status'), 'open', 'nothing is settled without a reason');

  await page.getByTestId(`reason-${id}`).fill(REASON);
  await page.getByTestId(`resolve-${id}`).click();
  const resolution = page.getByTestId(`resolution-${id}`);
  await resolution.waitFor({ timeout: 10_000 });
  const resolved = await resolution.innerText();
  assert.match(resolved, new RegExp(`Settled value: ${VALUE}\\b`), 'the resolution shows the settled value');
  assert.match(resolved, /supervisor/, 'the resolution shows who settled it');
  assert.ok(resolved.includes(REASON), 'the resolution shows the reason');
  assert.equal(await card.getAttribute('data-status'), 'resolved');
  await page.screenshot({ path: join(OUT, 'conflicts-resolved.png'), fullPage: true });

  const detail = await api(token, `/assessments/${KEY.round}/${KEY.form}/${KEY.location}`);
  assert.equal(detail.values[FIELD], VALUE, `HQ must store the entered value; got ${JSON.stringify(detail.values)}`);
  assert.equal(detail.open_conflicts, 0, 'no conflict is left open on the assessment');
  assert.deepEqual(consoleErrors, [], 'the page must not throw');
});
