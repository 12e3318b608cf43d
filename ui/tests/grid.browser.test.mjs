// The entry grid in Chromium over a FakeDevice (tests/fake-device.mjs): the muhallas of
// one baladiya typed by keyboard and by a block pasted from a spreadsheet, each cell
// saved as it is left, a row pasted saved with one operation, a rule error on its row
// with its numbers, a cell that cannot be read kept with why, and the grid in Arabic.
// Run after `npm run build`: node --test tests/grid.browser.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FakeDevice, OUT, openFieldApp, readForm, tripoliRows, until } from './fake-device.mjs';
import { problems } from './page-checks.mjs';

/** Pastes `text` into the cell as a spreadsheet's copy would arrive. */
async function paste(page, testid, text) {
  await page.getByTestId(testid).evaluate((el, text) => {
    el.focus();
    const data = new DataTransfer();
    data.setData('text/plain', text);
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

test('the entry grid: five muhallas by keyboard and by paste, each row saved, checks with their numbers, Arabic', async (t) => {
  const rows = tripoliRows();
  const byBaladiya = new Map();
  for (const r of rows.filter((r) => r.key.form === 'muhalla')) {
    const b = r.key.location.slice(0, 8);
    byBaladiya.set(b, [...(byBaladiya.get(b) ?? []), r]);
  }
  const [baladiya, muhallas] = [...byBaladiya].find(([, m]) => m.length >= 6);
  const loc = muhallas.map((m) => m.key.location);
  const device = new FakeDevice({ rows, forms: { muhalla: readForm('muhalla-v2'), baladiya: readForm('baladiya-v2') } });
  const { page, errors } = await openFieldApp(t, device, { width: 1366, height: 768 });

  await page.getByTestId(`muhallas-${baladiya}`).locator('summary').click();
  await page.getByTestId(`grid-${baladiya}`).click();
  await page.getByTestId('entry-grid').waitFor();
  const headers = await page.locator('[data-testid="entry-grid"] thead th[data-field]').evaluateAll((ths) => ths.map((th) => th.dataset.field));
  assert.deepEqual(headers, readForm('muhalla-v2').grid, "the columns are the form's grid, in order");
  assert.equal(await page.locator('[data-testid^="grid-row-"]').count(), muhallas.length, 'one row per muhalla of the baladiya');

  // Keyboard: a presence answer, then Enter goes down the column.
  const cell = (i, field) => page.getByTestId(`cell-${loc[i]}-${field}`);
  await cell(0, 'idp_present').fill('y');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'g-1-0', 'Enter moves down to the next muhalla');
  await until('the first presence answer to be saved', () => device.valuesOf(loc[0]).idp_present === 'yes');
  assert.equal(await cell(0, 'idp_present').inputValue(), 'Yes', 'the answer shows by its label');
  await page.keyboard.type('no');
  await page.keyboard.press('Enter');
  await until('the second to be saved', () => device.valuesOf(loc[1]).idp_present === 'no');
  assert.equal(await cell(1, 'idp_hh').isDisabled(), true, 'IDPs: No asks no IDP count, so no zero is invented');
  assert.equal(await cell(3, 'idp_hh').isDisabled(), true, 'nor does a presence not answered yet');
  await page.keyboard.type('نعم');
  await page.keyboard.press('Enter');
  await until('the third, typed in Arabic, to be saved', () => device.valuesOf(loc[2]).idp_present === 'yes');
  // Tab goes across: households then individuals of the first muhalla.
  await cell(0, 'idp_hh').fill('12');
  await page.keyboard.press('Tab');
  await page.keyboard.type('60');
  await page.keyboard.press('ArrowDown'); // row 1 is not asked: skipped
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'g-2-2', 'moving down skips a cell not asked');
  await until('the IDP counts to be saved', () => device.valuesOf(loc[0]).idp_ind === 60);
  assert.equal(device.valuesOf(loc[0]).idp_hh, 12);

  // Paste: three muhallas' migrant figures, a block from a spreadsheet.
  const before = device.calls.filter(([c]) => c === 'set_fields').length;
  await paste(page, `cell-${loc[2]}-mig_present`, 'Yes\t100\t60\t30\t5\r\nYes\t40\t20\t15\t5\r\nNo\t\t\t\t\r\n');
  await page.getByTestId('grid-notice').waitFor();
  await until('the third pasted row to be saved', () => device.valuesOf(loc[4]).mig_present === 'no');
  assert.equal(device.calls.filter(([c]) => c === 'set_fields').length - before, 3, 'one save, one operation, per pasted row');
  assert.deepEqual(
    ['mig_present', 'mig_ind', 'mig_men', 'mig_women', 'mig_children'].map((f) => device.valuesOf(loc[3])[f]),
    ['yes', 40, 20, 15, 5],
    'the block lands cell by cell from where it was pasted',
  );
  assert.equal(device.valuesOf(loc[4]).mig_ind, undefined, 'an empty pasted cell of a module answered No writes nothing');

  // The first pasted row breaks the breakdown rule: the row says so, with its numbers.
  const checks = page.getByTestId(`grid-checks-${loc[2]}`);
  await checks.getByTestId('numbers-migrant_breakdown').waitFor();
  assert.equal(await checks.getByTestId('numbers-migrant_breakdown').innerText(), '60 + 30 + 5 = 95, not 100');
  await cell(2, 'mig_ind').fill('95');
  await page.keyboard.press('Enter');
  await checks.getByTestId('numbers-migrant_breakdown').waitFor({ state: 'detached' });

  // A cell that cannot be read keeps what was typed, says why, and saves nothing.
  await cell(5, 'ret_present').fill('maybe');
  await page.keyboard.press('Enter');
  const invalid = cell(5, 'ret_present');
  await page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute('aria-invalid') === 'true', `cell-${loc[5]}-ret_present`);
  assert.equal(await invalid.inputValue(), 'maybe', 'nothing typed is thrown away');
  assert.match(await page.locator(".cell-error").first().innerText(), /Type one of: Yes \/ No \/ Unknown/, "the choices, by their labels");
  assert.equal(device.valuesOf(loc[5]).ret_present, undefined);
  await page.screenshot({ path: join(OUT, 'grid.png') });
  assert.deepEqual(await page.evaluate(problems, 'en'), [], 'the grid reads well in English');

  // Arabic: the same grid, right to left; ArrowLeft goes to the next column.
  await page.locator('button:has-text("العربية")').first().click();
  await page.waitForFunction(() => document.documentElement.dir === 'rtl');
  assert.equal(await cell(0, 'idp_present').inputValue(), 'نعم', 'a choice shows in Arabic');
  await cell(0, 'idp_ind').focus();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'g-0-3', 'in Arabic the next column is to the left');
  await page.screenshot({ path: join(OUT, 'grid-ar.png') });
  assert.deepEqual(await page.evaluate(problems, 'ar'), [], 'the grid reads well in Arabic');
  assert.deepEqual(errors, [], 'no errors in the page');
});

test("the entry grid of a mantika's baladiyas: the baladiya form's own columns", async (t) => {
  const rows = tripoliRows();
  const baladiyas = rows.filter((r) => r.key.form === 'baladiya');
  const device = new FakeDevice({ rows, forms: { baladiya: readForm('baladiya-v2'), muhalla: readForm('muhalla-v2') } });
  const { page, errors } = await openFieldApp(t, device, { width: 1366, height: 768 });
  await page.getByTestId('grid-baladiyas').click();
  await page.getByTestId('entry-grid').waitFor();
  assert.equal(await page.locator('#grid-title').innerText(), 'Baladiyas of Tripoli');
  const headers = await page.locator('[data-testid="entry-grid"] thead th[data-field]').evaluateAll((ths) => ths.map((th) => th.dataset.field));
  assert.deepEqual(headers, readForm('baladiya-v2').grid, "the columns are the baladiya form's grid");
  assert.equal(await page.locator('[data-testid^="grid-row-"]').count(), baladiyas.length, 'one row per baladiya of the mantika');
  await page.getByTestId(`cell-${baladiyas[0].key.location}-idp_hh`).fill('1,250');
  await page.keyboard.press('Enter');
  await until('the baladiya count to be saved', () => device.valuesOf(baladiyas[0].key.location).idp_hh === 1250);
  assert.deepEqual(errors, [], 'no errors in the page');
});
