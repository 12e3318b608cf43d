// The field app's screens in Chromium, without Rust: ui/dist served as is and the Tauri
// IPC answered by a FakeDevice (tests/fake-device.mjs) holding one device's state: a
// mantika of real gazetteer rows, the forms of schemas/forms, a sync state that is
// offline. Checks the home search, the calm offline bar, Enter between fields, rule
// numbers, and Arabic. Run after `npm run build`: node --test tests/field.browser.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FakeDevice, OUT, openFieldApp, readForm, tripoliRows, until } from './fake-device.mjs';

test('the field app: find a location, calm offline bar, Enter between fields, rule numbers, Arabic', async (t) => {
  const rows = tripoliRows();
  const initial = { idp_hh: 95, mig_men: 60, mig_women: 30, mig_children: 5, mig_ind: 100 };
  const device = new FakeDevice({
    rows,
    forms: { baladiya: readForm('baladiya-v2') },
    values: { LY021104: initial },
    conflict: { form: 'baladiya', location: 'LY021104', field: 'idp_hh' },
  });
  const { page, errors } = await openFieldApp(t, device);

  // The sync bar: offline, neutral, the count as digits, no URL, no error.
  const pending = page.getByTestId('sync-pending');
  await pending.waitFor();
  assert.equal(await pending.innerText(), '12 changes waiting, saved on this device');
  const bar = await page.getByTestId('syncbar').innerText();
  assert.match(bar, /Offline/);
  assert.doesNotMatch(bar, /http|failed|error/i, 'offline is not an error and never shows a URL');
  assert.equal(await page.getByTestId('sync-problem').count(), 0);

  // Home: the mantika's long list, and the search that shortens it.
  assert.ok(rows.length >= 46, `the Tripoli mantika lists ${rows.length} rows`);
  const search = page.getByTestId('home-search');
  await search.fill('abusl');
  const first = page.locator('#home-results [data-testid^="row-"]').first();
  assert.equal(await first.getAttribute('data-testid'), 'row-LY021105', '"abusl" finds Abusliem first');
  await search.fill('طرابلس');
  assert.match(await page.getByTestId('home-found').innerText(), /locations found/);
  await search.fill('LY021104');
  // The baladiya first, then its muhallas, whose P-codes start with its own.
  assert.equal(await page.locator('#home-results [data-testid^="row-"]').first().getAttribute('data-testid'), 'row-LY021104');
  assert.match(await page.getByTestId('row-LY021104').innerText(), /1 conflict\b/, '"1 conflict", not "1 conflicts"');
  await page.screenshot({ path: join(OUT, 'field-search.png') });
  // Enter opens the best hit.
  await search.press('Enter');

  // The form: the field in conflict is named; the sum rule shows its numbers.
  await page.locator('#f-idp_hh').waitFor();
  assert.match(await page.getByTestId('conflict-idp_hh').innerText(), /also changed on another device/);
  assert.equal(await page.getByTestId('numbers-migrant_breakdown').innerText(), '60 + 30 + 5 = 95, not 100');

  await page.getByTestId('checks-migrants').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(OUT, 'field-check.png') });

  // Enter moves to the next field; typing a fix makes the check go without moving the field.
  await page.locator('#f-mig_men').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-mig_women');
  await page.keyboard.press('Shift+Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-mig_men');
  const women = page.locator('#f-mig_women');
  const before = await women.boundingBox();
  await page.locator('#f-mig_ind').fill('95');
  await page.locator('#f-mig_ind').press('Enter');
  await page.getByTestId('issue-migrant_breakdown').waitFor({ state: 'detached' });
  const after = await women.boundingBox();
  assert.equal(after.y, before.y, 'a check coming or going below the section does not move the fields');
  assert.equal(device.valuesOf('LY021104').mig_ind, 95, 'Enter stores the value');
  await page.screenshot({ path: join(OUT, 'field-form.png'), fullPage: false });

  // HQ settles the conflict; the next time the form opens it says what happened.
  await page.getByRole('button', { name: 'Back' }).click();
  device.settle(120, 'the key informant confirmed 120');
  await page.getByTestId('row-LY021104').first().click();
  const settled = page.getByTestId('settled-idp_hh');
  await settled.waitFor();
  const said = await settled.innerText();
  assert.match(said, /HQ settled the conflict on IDP households: the value is now 120/);
  assert.match(said, /This device had sent 95/);
  assert.match(said, /Settled by Amina on .*: “the key informant confirmed 120”/, 'who settled it and why reach the device');
  assert.equal(await page.getByTestId('conflict-idp_hh').count(), 0);
  await page.screenshot({ path: join(OUT, 'field-settled.png') });
  await settled.getByRole('button').click();
  await settled.waitFor({ state: 'detached' });

  // Arabic: the same bar, digits kept, no English.
  await page.getByRole('button', { name: 'Back' }).click();
  await page.locator('.lang-toggle, [data-testid="lang-toggle"], button:has-text("العربية")').first().click();
  await page.waitForFunction(() => document.documentElement.dir === 'rtl');
  const arPending = (await pending.innerText()).replace(/[\u2068\u2069]/g, '');
  assert.match(arPending, /12/, 'the count stays readable as digits');
  assert.doesNotMatch(await page.getByTestId('syncbar').innerText(), /[A-Za-z]{3,}/, 'no English in the Arabic sync bar');
  await page.screenshot({ path: join(OUT, 'field-home-ar.png') });

  // The sum rule's numbers inside Arabic: one left-to-right run.
  await page.getByTestId('home-search').fill('طرابلس');
  await page.getByTestId('home-search').press('Enter');
  await page.locator('#f-mig_ind').fill('100');
  await page.locator('#f-mig_ind').press('Enter');
  const numbers = page.getByTestId('numbers-migrant_breakdown');
  await numbers.waitFor();
  assert.equal((await numbers.innerText()).replace(/[\u2066-\u2069]/g, ''), '60 + 30 + 5 = 95، وليس 100');
  await page.getByTestId('checks-migrants').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(OUT, 'field-check-ar.png') });
  assert.deepEqual(errors, [], 'no errors in the page');
});

test('muhalla v2: a module answered No asks nothing, and nationalities are added row by row', async (t) => {
  const rows = tripoliRows();
  const muhalla = rows.find((r) => r.key.form === 'muhalla');
  const device = new FakeDevice({ rows, forms: { muhalla: readForm('muhalla-v2') } });
  const { page, errors } = await openFieldApp(t, device);
  const search = page.getByTestId('home-search');
  await search.waitFor();
  await search.fill(muhalla.key.location);
  await search.press('Enter');

  // Nothing but the presence questions (and the key informants) until they are answered.
  await page.locator('#f-mig_present').waitFor();
  assert.equal(await page.locator('#f-mig_ind').count(), 0, 'no migrant figure is asked before "are there migrants?"');
  await page.locator('#f-idp_present input[value="no"]').check();
  await page.locator('#f-mig_present input[value="yes"]').check();
  await page.locator('#f-mig_ind').waitFor();
  assert.equal(await page.locator('#f-idp_hh').count(), 0, 'IDPs: No asks no IDP figure, so no zero is invented');

  // Nationalities: none yet; add Sudan from the list, type its count, Enter stores it.
  const add = page.getByTestId('add-mig_nat');
  await add.waitFor();
  assert.match(await page.locator('label[for="add-mig_nat"]').innerText(), /Nationality/);
  const first = await add.locator('option').nth(1).innerText();
  assert.equal(first, 'Niger', 'the most frequent nationality is offered first');
  await add.selectOption('sdn');
  const sudan = page.locator('[id="f-mig_nat.sdn.ind"]');
  await sudan.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-mig_nat.sdn.ind', 'the new row takes the cursor');
  await sudan.fill('25');
  await sudan.press('Enter');
  await until('the nationality row to be saved', () => device.valuesOf(muhalla.key.location)['mig_nat.sdn.ind'] === 25);
  assert.equal(await add.locator('option[value="sdn"]').count(), 0, 'Sudan is not offered twice');
  assert.equal(device.valuesOf(muhalla.key.location).idp_hh, undefined, 'nothing was written for IDPs');
  await page.getByTestId('section-mig_nat').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(OUT, 'field-nationalities.png') });
  assert.deepEqual(errors, [], 'no errors in the page');
});
