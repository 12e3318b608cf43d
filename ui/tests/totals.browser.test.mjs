// Totals count what a round stands on: approved figures by default; drafts, submitted
// and returned assessments only when asked, and then marked. Checked on the Totals tab
// against HQ's API, for Tripoli mantika in R1 after the review test approved some of its
// baladiyas and returned others. Run by scripts/browser-test.sh against a real dtm-hq.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL;
const TRIPOLI = 'LY0211';

async function totals(token, all) {
  const res = await fetch(`${HQ}/api/v1/rounds/R1/totals?level=2${all ? '&include=all' : ''}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const rows = await res.json();
  return rows.find((r) => r.location.pcode === TRIPOLI)?.values.idp_ind ?? 0;
}

test('totals count approved figures unless drafts and submissions are asked for', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set: start dtm-hq --demo serving ui/dist');
  const login = await fetch(`${HQ}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'supervisor', password: 'supervisor-demo' }),
  });
  const token = (await login.json()).token;
  const approved = await totals(token, false);
  const all = await totals(token, true);
  assert.ok(all > approved, `R1 holds IDP figures in Tripoli not yet approved (${approved} approved, ${all} in all)`);

  const { page, pageErrors } = await signedIn(t, HQ, 'supervisor', 'supervisor-demo');
  await page.getByTestId('tab-totals').click();
  await page.getByTestId('round-picker').selectOption('R1');
  await page.getByTestId('level-2').check();
  const cell = page.locator(`[data-testid="totals-${TRIPOLI}"] td[data-field="idp_ind"]`);
  await page.waitForFunction(
    ([sel, n]) => document.querySelector(sel)?.textContent?.includes(n),
    [`[data-testid="totals-${TRIPOLI}"] td[data-field="idp_ind"]`, approved.toLocaleString('en')],
  );
  assert.equal(await page.getByTestId('totals-unapproved').count(), 0, 'approved only: nothing to mark');
  await page.getByTestId('include-unapproved').check();
  await page.waitForFunction(
    ([sel, n]) => document.querySelector(sel)?.textContent?.includes(n),
    [`[data-testid="totals-${TRIPOLI}"] td[data-field="idp_ind"]`, all.toLocaleString('en')],
  );
  assert.ok((await cell.innerText()).includes(all.toLocaleString('en')), 'asked for, drafts and submissions count');
  assert.match(await page.getByTestId('totals-unapproved').innerText(), /assessments not yet approved/, 'and are marked');
  assert.deepEqual(pageErrors, [], 'the page threw nothing');
});
