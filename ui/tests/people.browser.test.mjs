// End-to-end check of People, Devices and Audit against a running dtm-hq (--demo).
// An admin creates a supervisor and an enumerator choosing places by name, issues an
// enrolment code, resets a password, disables an account and revokes a device; the
// supervisor signs in with the one-time password and must set a new one first; the
// Audit page shows what happened. Then the key steps again in Arabic, right to left,
// ending with a person enrolling with a code.
// Run: DTM_HQ_URL=http://127.0.0.1:8080 node --test tests/people.browser.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HQ = process.env.DTM_HQ_URL?.replace(/\/+$/, '');
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');
// Unique per run, so the test can run again against the same HQ.
const RUN = Date.now().toString(36);
const SUP = `sup.west.${RUN}`;
const ENU = `enu.tripoli.${RUN}`;
const ENU_AR = `enu.ar.${RUN}`;
const CODE = /^[A-Z0-9]{4}-[A-Z0-9]{4}$/;
const OTP = /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/;

async function api(method, path, { token, body } = {}) {
  const res = await fetch(`${HQ}/api/v1${path}`, {
    method,
    headers: {
      ...(body ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A device of the demo enumerator, as the field app would make by signing in. */
async function enumeratorDevice() {
  const res = await api('POST', '/auth/login', { body: { username: 'enumerator', password: 'enumerator-demo' } });
  assert.equal(res.status, 200, 'the demo enumerator must be able to sign in through the API');
  return res.body;
}

async function launch(t) {
  mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.after(() => browser.close());
  return browser;
}

async function openPage(browser, viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, errors };
}

async function signIn(page, username, password) {
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('form.login button[type="submit"]').click();
}

async function signOut(page) {
  await page.locator('.topbar .actions button.secondary:not(.lang)').click();
  await page.locator('input[name="username"]').waitFor();
}

/** Types a place's name into a scope picker and picks the result with that P-code. */
async function pickPlace(page, picker, name, pcode) {
  await page.getByTestId(`${picker}-search`).fill(name);
  const result = page.getByTestId(`${picker}-result-${pcode}`);
  await result.waitFor();
  assert.match(await result.innerText(), new RegExp(name), `the result for ${pcode} must be found by its name ${name}`);
  await result.click();
  await page.getByTestId(`${picker}-chosen-${pcode}`).waitFor();
}

async function createPerson(page, { name, username, role, picker, place }) {
  await page.getByTestId('new-name').fill(name);
  await page.getByTestId('new-username').fill(username);
  await page.getByTestId('new-role').selectOption(role);
  await pickPlace(page, picker, place.name, place.pcode);
  await page.getByTestId('create-person-submit').click();
  await page.getByTestId('people-created').waitFor();
  const row = page.getByTestId(`person-${username}`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-status'), 'must_set_password', `${username} has no password until enrolment or a reset`);
}

async function expectEnrolmentShown(page) {
  const code = (await page.getByTestId('enrolment-code').innerText()).trim();
  assert.match(code, CODE, 'the enrolment code is shown large, to be read aloud');
  const qr = page.getByTestId('enrolment-qr');
  await qr.waitFor();
  const qrSize = await qr.evaluate((img) => (img.complete ? img.naturalWidth : 0));
  assert.ok(qrSize > 0, 'the QR image must load from the SVG HQ sent');
  assert.ok((await page.getByTestId('enrolment-expiry').innerText()).length > 0, 'the code’s expiry is shown');
  return code;
}

/** Usable at the sizes the offices use: nothing wider than the window, nothing cut off. */
async function fitsTheScreens(page, name) {
  for (const [w, h] of [
    [1366, 768],
    [1024, 768],
    [768, 1024],
  ]) {
    await page.setViewportSize({ width: w, height: h });
    const overflow = await page.evaluate(() =>
      Math.max(
        document.documentElement.scrollWidth - document.documentElement.clientWidth,
        ...[...document.querySelectorAll('.table-wrap')].map((el) => el.scrollWidth - el.clientWidth),
      ),
    );
    assert.ok(overflow <= 1, `${name} at ${w}×${h} must not need sideways scrolling (overflow ${overflow}px)`);
    await page.screenshot({ path: join(OUT, `${name}-${w}x${h}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1366, height: 768 });
}

/** The Audit page filtered by one action; returns the rows' targets. */
async function auditTargets(page, action) {
  await page.getByTestId('audit-action').selectOption(action);
  await page.getByTestId('audit-apply').click();
  const rows = page.locator(`[data-testid="audit-table"] tbody tr`);
  await page.waitForFunction(
    (a) => {
      const trs = [...document.querySelectorAll('[data-testid="audit-table"] tbody tr')];
      return trs.length > 0 && trs.every((tr) => tr.getAttribute('data-action') === a);
    },
    action,
    { timeout: 10_000 },
  );
  return rows.allInnerTexts();
}

test('an admin manages people, devices and sees it all in the audit log; the supervisor must set a password', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set. Start dtm-hq --demo serving ui/dist and run with DTM_HQ_URL=http://host:port');
  const device = await enumeratorDevice();
  const browser = await launch(t);
  const { page, errors } = await openPage(browser);

  await page.goto(`${HQ}/`);
  await signIn(page, 'admin', 'admin-demo');
  await page.getByTestId('tab-people').click();
  await page.getByTestId('person-admin').waitFor();

  // A supervisor for the West region, an enumerator for the mantika of Tripoli, by name.
  await createPerson(page, {
    name: 'Salma Werfalli',
    username: SUP,
    role: 'supervisor',
    picker: 'new-scope',
    place: { name: 'West', pcode: 'LY02' },
  });
  assert.equal(await page.getByTestId(`person-${SUP}-scope`).innerText(), 'West · Region', 'the scope is shown by name and level');
  await page.getByTestId('panel-done').click();

  await createPerson(page, {
    name: 'Omar Tarhouni',
    username: ENU,
    role: 'enumerator',
    picker: 'new-scope',
    place: { name: 'Tripoli', pcode: 'LY0211' },
  });
  await page.getByTestId('created-enrol').click();
  await expectEnrolmentShown(page);
  await page.screenshot({ path: join(OUT, 'people-enrolment.png'), fullPage: true });
  await page.getByTestId('panel-done').click();

  // The supervisor's one-time password, shown once.
  await page.getByTestId(`reset-${SUP}`).click();
  const otp = (await page.getByTestId('one-time-password').innerText()).trim();
  assert.match(otp, OTP, 'the one-time password is shown in full, once');
  await page.getByTestId('panel-done').click();
  assert.equal(await page.getByTestId('one-time-password').count(), 0, 'after Done the password is gone from the page');

  // Disabling asks first, and says what happens to data not yet sent.
  await page.getByTestId(`disable-${ENU}`).click();
  assert.match(await page.getByTestId('disable-text').innerText(), /not yet sent stays on the device/);
  await page.getByTestId('disable-confirm').click();
  await page.locator(`[data-testid="person-${ENU}"][data-status="disabled"]`).waitFor();
  assert.equal(await page.getByTestId(`disable-admin`).isDisabled(), true, 'an admin cannot disable their own account');

  // Devices: the demo devices are listed; one is revoked after confirming.
  await page.getByTestId('tab-devices').click();
  const row = page.getByTestId(`device-${device.device_id}`);
  await row.waitFor();
  assert.ok((await page.locator('[data-testid^="device-"]').count()) >= 2, 'the admin’s and the enumerator’s devices are listed');
  // The enumerator's laptop is handed over to the supervisor: HQ will release the key to
  // its encrypted data to them at their next sign-in on it.
  await page.getByTestId(`hand-over-${device.device_id}`).click();
  await page.getByTestId('hand-over-panel').waitFor();
  assert.match(await page.getByTestId('hand-over-panel').innerText(), /not yet sent stays on the device/);
  await page.getByTestId('hand-over-to').fill(SUP);
  await page.getByTestId('hand-over-confirm').click();
  const handed = await page.getByTestId('devices-notice').innerText();
  assert.ok(handed.includes(`Handed over to ${SUP}`), `the page says who can now open the data: ${handed}`);
  await page.getByTestId(`revoke-${device.device_id}`).click();
  await page.getByTestId('revoke-panel').waitFor();
  assert.equal(await row.getAttribute('data-revoked'), 'false', 'nothing is revoked before the confirmation');
  await page.getByTestId('revoke-confirm').click();
  await page.locator(`[data-testid="device-${device.device_id}"][data-revoked="true"]`).waitFor();
  const afterRevoke = await api('GET', '/rounds', { token: device.token });
  assert.equal(afterRevoke.status >= 400, true, 'HQ must refuse the revoked device, not just the page show it');
  await page.screenshot({ path: join(OUT, 'devices.png'), fullPage: true });

  // Audit: each action, filtered.
  await page.getByTestId('tab-audit').click();
  await page.getByTestId('audit-table').waitFor();
  assert.ok((await auditTargets(page, 'create_supervisor')).some((r) => r.includes(SUP)), 'creating the supervisor is logged');
  assert.ok((await auditTargets(page, 'issue_enrolment')).some((r) => r.includes(ENU)), 'issuing the code is logged');
  assert.ok((await auditTargets(page, 'reset_password')).some((r) => r.includes(SUP)), 'the reset is logged');
  assert.ok((await auditTargets(page, 'disable_user')).some((r) => r.includes(ENU)), 'disabling is logged');
  assert.ok(
    (await auditTargets(page, 'hand_over_device')).some((r) => r.includes(device.device_id) && r.includes(`to ${SUP}`)),
    'the hand-over is logged, with the device and the account that took it',
  );
  assert.ok((await auditTargets(page, 'revoke_device')).some((r) => r.includes(device.device_id)), 'the revocation is logged');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-csv').click()]);
  assert.equal(download.suggestedFilename(), 'dtm-hq-audit.csv');
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^id,at,actor,action,target/);
  assert.match(csv, /revoke_device/, 'the CSV holds the filtered lines');
  assert.doesNotMatch(csv, /disable_user/, 'the CSV keeps to the filter on the page');
  await page.screenshot({ path: join(OUT, 'audit.png'), fullPage: true });

  // Closing a round asks first; cancelling changes nothing (publishing asks the same way).
  await page.getByTestId('tab-rounds').click();
  // A new round's forms are chosen from HQ's list by title, the newest preselected.
  const firstForm = page.getByTestId('round-form-0');
  await firstForm.locator('option[value="baladiya@1"]').waitFor({ state: 'attached' });
  await page.waitForFunction(() => document.querySelector('[data-testid="round-form-0"]')?.value === 'baladiya@3');
  assert.equal(await firstForm.inputValue(), 'baladiya@3', 'the newest baladiya form is preselected');
  assert.match(await firstForm.locator('option:checked').innerText(), /version 3/);
  assert.equal(await page.getByTestId('round-form-1').inputValue(), 'muhalla@2', 'and the newest muhalla form, with its migrant module');
  assert.match(await firstForm.locator('option[value="baladiya@1"]').innerText(), /older version/);
  await page.getByTestId('round-R1-to-closed').click();
  const confirm = page.getByTestId('round-confirm-panel');
  await confirm.waitFor();
  assert.match(await confirm.innerText(), /Close round R1\?/);
  await page.getByTestId('round-confirm-cancel').click();
  assert.equal(await page.getByTestId('round-status-R1').getAttribute('class').then((c) => c.includes('round-open')), true, 'a cancelled close leaves the round open');
  assert.equal((await api('GET', '/rounds', { token: (await enumeratorDevice()).token })).body.find((r) => r.code === 'R1').status, 'open', 'and HQ was not asked');
  await signOut(page);

  // The supervisor signs in with the one-time password and must set a new one first.
  await signIn(page, SUP, otp);
  await page.getByTestId('set-password').waitFor();
  assert.equal(await page.getByTestId('tab-people').count(), 0, 'nothing but the password screen until it is changed');
  await page.locator('input[name="current_password"]').fill(otp);
  await page.locator('input[name="new_password"]').fill('olive-harbour-lantern-57');
  await page.locator('input[name="repeat_password"]').fill('olive-harbour-lantern-75');
  await page.getByTestId('password-submit').click();
  assert.match(await page.getByTestId('password-error').innerText(), /not the same/, 'a mistyped repeat is caught before HQ');
  await page.locator('input[name="repeat_password"]').fill('olive-harbour-lantern-57');
  await page.getByTestId('password-submit').click();
  await page.getByTestId('password-changed').waitFor();
  await page.getByTestId('tab-people').click();
  await page.getByTestId(`person-${ENU}`).waitFor();
  assert.equal(await page.getByTestId('person-admin').count(), 0, 'a supervisor sees the enumerators in scope, not admins');
  assert.deepEqual(
    await page.getByTestId('new-role').locator('option').evaluateAll((os) => os.map((o) => o.value)),
    ['enumerator'],
    'a supervisor may only create enumerators',
  );
  assert.equal(await page.getByTestId('tab-audit').count(), 0, 'the audit log is for admins');
  const relogin = await api('POST', '/auth/login', { body: { username: SUP, password: 'olive-harbour-lantern-57' } });
  assert.equal(relogin.status, 200, 'HQ must hold the new password');
  assert.equal(relogin.body.must_change_password, false, 'the password is no longer a one-time one');
  assert.deepEqual(errors, [], 'the page must not throw');
});

test('the same in Arabic, right to left, ending with an enrolment by code', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set');
  const browser = await launch(t);
  const { page, errors } = await openPage(browser);

  await page.goto(`${HQ}/`);
  await page.getByTestId('lang-toggle').click();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl', 'Arabic lays the page out right to left');
  await signIn(page, 'admin', 'admin-demo');
  await page.getByTestId('tab-people').click();
  assert.equal((await page.getByTestId('tab-people').innerText()).trim(), 'الأشخاص');
  await page.getByTestId('person-admin').waitFor();
  assert.match(await page.locator('#people-title').innerText(), /الأشخاص/);

  await createPerson(page, {
    name: 'هدى الزوي',
    username: ENU_AR,
    role: 'enumerator',
    picker: 'new-scope',
    place: { name: 'طرابلس', pcode: 'LY0211' },
  });
  assert.equal(await page.getByTestId(`person-${ENU_AR}-scope`).innerText(), 'طرابلس · المنطقة (المستوى الإداري 1)', 'the scope is named in Arabic, with its level');
  assert.equal(await page.getByTestId(`person-${ENU_AR}-status`).innerText(), 'يجب تعيين كلمة مرور');
  await page.getByTestId('created-enrol').click();
  const code = await expectEnrolmentShown(page);
  assert.match(await page.getByTestId('person-panel').innerText(), /لا تنتقل كلمات المرور أبداً داخل رمز/);

  await fitsTheScreens(page, 'people-ar');
  await page.getByTestId('panel-done').click();

  await page.getByTestId('tab-devices').click();
  await page.locator('#devices-title').waitFor();
  assert.equal(await page.locator('#devices-title').innerText(), 'الأجهزة');
  await page.locator('[data-testid^="device-"]').first().waitFor();
  await fitsTheScreens(page, 'devices-ar');
  await page.locator('[data-testid^="revoke-"]').first().click();
  assert.match(await page.getByTestId('revoke-panel').innerText(), /تبقى البيانات غير المرسلة على الجهاز/);
  await page.getByRole('button', { name: 'إلغاء' }).click();

  await page.getByTestId('tab-audit').click();
  await page.getByTestId('audit-table').waitFor();
  const rows = await auditTargets(page, 'issue_enrolment');
  assert.ok(rows.some((r) => r.includes(ENU_AR) && r.includes('إصدار رمز تسجيل')), 'actions are named in Arabic');
  await page.screenshot({ path: join(OUT, 'audit-ar.png'), fullPage: true });
  await signOut(page);

  // The new enumerator enrols with the code, in Arabic, and is signed in.
  await page.getByTestId('enrol-switch').click();
  assert.match(await page.getByTestId('enrol-form').innerText(), /رمز التسجيل/);
  await page.locator('input[name="code"]').fill(code.toLowerCase());
  await page.locator('input[name="new_password"]').fill('desert-rose-compass-19');
  await page.locator('input[name="repeat_password"]').fill('desert-rose-compass-19');
  await page.locator('[data-testid="enrol-form"] button[type="submit"]').click();
  await page.getByTestId('who').waitFor();
  assert.match(await page.getByTestId('who').innerText(), /هدى الزوي/, 'the enrolled person is signed in');
  await page.getByTestId('enumerator-note').waitFor();
  await page.screenshot({ path: join(OUT, 'enrolled-ar.png'), fullPage: true });

  const again = await api('POST', '/enrol', { body: { code, password: 'another-long-password-1' } });
  assert.equal(again.body?.error?.code, 'enrolment_used', 'a code works once');
  assert.deepEqual(errors, [], 'the page must not throw');
});
