// The review queue against a running dtm-hq: a supervisor finds a submission by its
// Arabic name, returns one by keyboard and lands on the next submission waiting,
// bulk-approves the clean ones after a confirmation that says how many, and on a
// portrait tablet reaches Approve without scrolling.
// Needs DTM_HQ_URL: a dtm-hq with demo data serving ui/dist, where the demo enumerator
// has submitted R1 baladiyas LY021101 and LY021102 (clean) and LY021103 (a warning).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL?.replace(/\/+$/, '');
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');

async function status(token, location) {
  const res = await fetch(`${HQ}/api/v1/assessments/R1/baladiya/${location}`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()).status;
}

test('a supervisor works through the review queue by search, keyboard and a confirmed bulk approve', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set');
  mkdirSync(OUT, { recursive: true });
  const { page, pageErrors } = await signedIn(t, HQ, 'supervisor', 'supervisor-demo', { width: 768, height: 1024 });
  await page.getByTestId('round-picker').selectOption('R1');
  await page.getByTestId('row-LY021103').waitFor();

  // Submissions come first in their mantika, with the checks' count beside them.
  const tripoliRows = await page.$$eval('tr[data-testid^="row-LY0211"]', (trs) => trs.map((tr) => tr.dataset.status));
  const firstOther = tripoliRows.findIndex((s) => s !== 'submitted');
  assert.ok(
    tripoliRows.slice(firstOther).every((s) => s !== 'submitted'),
    `submitted rows lead the group: ${tripoliRows.join(', ')}`,
  );
  assert.notEqual(await page.getByTestId('warnings-LY021103').innerText(), '0', 'the warning is counted in the list');
  assert.equal(await page.getByTestId('warnings-LY021101').innerText(), '0');

  // Found by its Arabic name, spelt without the hamza.
  await page.getByTestId('queue-search').fill('تاجورا');
  await page.getByTestId('row-LY021102').waitFor();
  assert.equal(await page.locator('tr[data-testid^="row-"]').count(), 1, 'the search leaves the one place');
  await page.getByTestId('queue-search').fill('');

  // On a portrait tablet the decision is on screen without scrolling.
  await page.getByTestId('row-LY021103').click();
  const returnButton = page.getByTestId('return');
  await returnButton.waitFor();
  const box = await returnButton.boundingBox();
  assert.ok(box && box.y + box.height <= 1024, `Return is within the first screen on a 768×1024 tablet (y=${box?.y})`);
  await page.screenshot({ path: join(OUT, 'review-portrait.png') });

  // Return by keyboard: the next submission waiting opens, saying what was done.
  await page.getByTestId('review-comment').fill('Household size looks wrong, please recheck');
  await page.keyboard.press('Alt+KeyR');
  const decided = page.getByTestId('decided');
  await decided.waitFor();
  assert.match(await decided.innerText(), /Ain Zara returned/);
  // The next submission waiting opens (and loads) in place of the one decided.
  await page.locator('#review-title', { hasText: /Suq Aljumaa|Tajoura/ }).waitFor({ timeout: 10_000 });
  const api = await (
    await fetch(`${HQ}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'supervisor', password: 'supervisor-demo' }),
    })
  ).json();
  assert.equal(await status(api.token, 'LY021103'), 'returned', 'the keyboard decision reached HQ');

  // Back to the list: a bulk approve of the clean ones says how many and asks first.
  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByTestId('bulk-approve').click();
  assert.match(await page.getByTestId('bulk-text').innerText(), /Approve 2 submissions/);
  await page.getByTestId('bulk-cancel').click();
  assert.equal(await status(api.token, 'LY021101'), 'submitted', 'cancel approves nothing');
  await page.getByTestId('bulk-approve').click();
  await page.getByTestId('bulk-go').click();
  await page.getByTestId('bulk-result').waitFor();
  assert.match(await page.getByTestId('bulk-result').innerText(), /Approved 2 of 2/);
  for (const p of ['LY021101', 'LY021102']) assert.equal(await status(api.token, p), 'approved', `${p} approved`);
  await page.screenshot({ path: join(OUT, 'review-queue.png'), fullPage: true });
  assert.deepEqual(pageErrors, [], 'the page threw no errors');
});
