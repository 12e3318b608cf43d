// End-to-end check of the HQ dashboard review flow against a running dtm-hq.
// Needs DTM_HQ_URL: a dtm-hq serving ui/dist with a submitted R1/baladiya/LY021104.
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
const COMMENT = 'Migrant breakdown looks off, please recheck';

async function apiToken() {
  const res = await fetch(`${HQ}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'supervisor', password: 'supervisor-demo' }),
  });
  assert.equal(res.status, 200, 'the demo supervisor must be able to log in through the API');
  return (await res.json()).token;
}

test('a supervisor returns a submitted baladiya assessment with a comment from the dashboard', async (t) => {
  assert.ok(
    HQ,
    'DTM_HQ_URL is not set. Start dtm-hq (serving ui/dist, seeded with a submitted R1/baladiya/LY021104) and run with DTM_HQ_URL=http://host:port',
  );
  mkdirSync(OUT, { recursive: true });

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  await page.goto(`${HQ}/`);
  await page.locator('input[name="username"]').fill('supervisor');
  await page.locator('input[name="password"]').fill('supervisor-demo');
  await page.locator('form.login button[type="submit"]').click();

  await page.getByTestId('round-picker').selectOption('R1');
  // The session is an HttpOnly cookie: nothing script in the page can read carries it.
  const visible = await page.evaluate(() => ({ cookie: document.cookie, storage: JSON.stringify({ ...localStorage }) }));
  assert.ok(
    !visible.cookie.includes('dtm_session') && !visible.storage.includes('token'),
    `an injected script must find no session token: ${JSON.stringify(visible)}`,
  );
  const row = page.getByTestId(`row-${KEY.location}`);
  await row.waitFor();
  assert.equal(
    await row.getAttribute('data-status'),
    'submitted',
    'the seeded assessment must be listed as submitted before the supervisor reviews it',
  );
  assert.match(await row.innerText(), /Submitted/, 'the row shows the status in words, not just colour');
  await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });

  await row.click();
  await page.getByTestId('status').waitFor();
  await page.getByTestId('review-comment').fill(COMMENT);
  await page.getByTestId('return').click();
  await page.locator('[data-testid="status"][data-status="returned"]').waitFor({ timeout: 10_000 });
  assert.match(await page.getByTestId('status').innerText(), /Returned/, 'after Return the page shows the new status');
  await page.screenshot({ path: join(OUT, 'review.png'), fullPage: true });

  // The same screen in Arabic must flip to right-to-left.
  await page.getByTestId('lang-toggle').click();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl', 'Arabic lays the page out right to left');
  await page.screenshot({ path: join(OUT, 'review-ar.png'), fullPage: true });
  await page.getByTestId('lang-toggle').click();

  const token = await apiToken();
  const res = await fetch(`${HQ}/api/v1/assessments/${KEY.round}/${KEY.form}/${KEY.location}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  const detail = await res.json();
  assert.equal(detail.status, 'returned', 'HQ must have stored the return, not just the page');
  assert.ok(
    detail.comments.some((c) => c.decision === 'return' && c.text === COMMENT),
    `HQ must keep the supervisor's return comment; got ${JSON.stringify(detail.comments)}`,
  );
  assert.deepEqual(consoleErrors, [], 'the page must not throw');

  // Logging out ends the session at HQ: the cookie's session no longer answers /me.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'dtm_session');
  assert.ok(session?.httpOnly && session.sameSite === 'Strict', `the session cookie must be HttpOnly and SameSite=Strict: ${JSON.stringify(session)}`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('input[name="username"]').waitFor();
  const after = await fetch(`${HQ}/api/v1/me`, { headers: { Cookie: `dtm_session=${session.value}` } });
  assert.equal(after.status, 401, 'after logout the old session must be refused at HQ, not just forgotten by the page');
});
