// The field app's screens in Chromium, without Rust: ui/dist is served as is and the
// Tauri IPC is replaced by an in-page fake holding one device's state (a mantika of real
// gazetteer rows, the baladiya form of schemas/forms, a sync state that is offline).
// Checks the home search, the calm offline bar, Enter between fields, rule numbers, and
// Arabic. Run after `npm run build`: node --test tests/field.browser.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, '..', 'dist');
const ROOT = join(HERE, '..', '..');
const OUT = join(HERE, '..', 'test-results');

function csv(file) {
  return readFileSync(join(ROOT, 'data', 'gazetteer', file), 'utf8').trim().split('\n').slice(2).map((l) => l.split(','));
}

/** Every baladiya and muhalla of the Tripoli mantika, as list_assessments answers. */
function tripoliRows() {
  const mantika = { pcode: 'LY0211', level: 2, name_en: 'Tripoli', name_ar: 'طرابلس' };
  const statuses = ['not_started', 'draft', 'submitted', 'returned', 'approved'];
  const row = (pcode, en, ar, form, i) => ({
    key: { round: 'R1', form, location: pcode },
    location: { pcode, level: form === 'baladiya' ? 3 : 4, name_en: en, name_ar: ar },
    mantika,
    status: statuses[i % statuses.length],
    version: 1,
    open_conflicts: pcode === 'LY021104' ? 1 : 0,
    pending_ops: pcode === 'LY021104' ? 2 : 0,
  });
  const bal = csv('lby_admin3_baladiya.csv').filter((c) => c[2] === 'LY0211');
  const pcodes = new Set(bal.map((c) => c[4]));
  const muh = csv('lby_admin4_muhalla.csv').filter((c) => pcodes.has(c[0]));
  return [
    ...bal.map((c, i) => row(c[4], c[5], c[6], 'baladiya', i)),
    ...muh.map((c, i) => row(c[2], c[3], c[4], 'muhalla', i)),
  ];
}

const FORM = JSON.parse(readFileSync(join(ROOT, 'schemas', 'forms', 'baladiya-v2.json'), 'utf8'));

/** Muhalla v2 as HQ and the device serve it: the nationality group's keys filled from their vocabulary. */
function muhallaV2() {
  const form = JSON.parse(readFileSync(join(ROOT, 'schemas', 'forms', 'muhalla-v2.json'), 'utf8'));
  const vocab = JSON.parse(readFileSync(join(ROOT, 'schemas', 'vocabularies', 'nationalities.json'), 'utf8'));
  for (const s of form.sections) if (s.repeat) s.repeat.key.options = vocab.entries;
  return form;
}

/** Runs in the page before the app: a fake __TAURI_INTERNALS__ over one device's state. */
function fakeTauri({ rows, form, key, initial }) {
  const values = { ...initial };
  const row = rows.find((r) => r.key.location === key.location);
  // What Rust asks: a module's fields only while its presence question says yes, a
  // repeated group's fields as `group.field`.
  const fields = () =>
    form.sections.flatMap((s) =>
      s.fields
        .filter((f) => !s.presence || values[s.presence] === 'yes' || f.id === s.presence)
        .map((f) => (s.repeat ? `${s.id}.${f.id}` : f.id)),
    );
  const breakdown = ['mig_men', 'mig_women', 'mig_children', 'mig_ind'];
  const issues = () =>
    breakdown.every((f) => typeof values[f] === 'number') &&
    values.mig_men + values.mig_women + values.mig_children !== values.mig_ind
      ? [
          {
            rule: 'migrant_breakdown',
            severity: 'error',
            fields: ['mig_men', 'mig_women', 'mig_children', 'mig_ind'],
            message: form.rules.find((r) => r.id === 'migrant_breakdown').message,
            justified: false,
          },
        ]
      : [];
  const detail = () => ({
    form_version: form.version,
    values: { ...values },
    comments: [],
    issues: issues(),
    pending_fields: [],
    relevant_fields: fields(),
    previous_round: null,
    previous_values: {},
    key,
    location: row.location,
    mantika: row.mantika,
    status: 'draft',
    version: 1,
    open_conflicts: settledByHq ? 0 : 1,
    pending_ops: 2,
  });
  const sync = {
    online: false,
    syncing: false,
    pending: 12,
    rejected: 0,
    conflicts: 1,
    superseded: 0,
    pending_logouts: 0,
    last_sync_at: '2026-11-29T08:00:00Z',
    last_error: { code: 'offline', message: 'HQ cannot be reached: error sending request for url (http://10.0.0.5:8080/api/sync/push)' },
    progress: null,
  };
  const handlers = {
    session: () => ({ user: { username: 'enum1', display_name: 'Amal', role: 'enumerator', scope: ['LY0211'] }, hq_url: 'http://10.0.0.5:8080', device_id: 'd1' }),
    list_rounds: () => [{ code: 'R1', number: 1, title: 'Round 1', status: 'open', window_start: '2026-11-01', window_end: '2026-12-31', forms: [] }],
    list_assessments: () => rows,
    get_assessment: () => detail(),
    get_form: () => form,
    set_field: ({ field, value }) => {
      values[field] = value;
      return detail();
    },
    sync_state: () => sync,
    sync_now: () => sync,
    rejected_ops: () =>
      settledByHq
        ? []
        : [{ op_id: 'op1', key, field: 'idp_hh', state: 'conflict', code: 'conflict', reason: 'another device changed this field; a supervisor will settle it' }],
    sent_log: () => [],
    'plugin:event|listen': () => 1,
    'plugin:event|unlisten': () => null,
  };
  let settledByHq = false;
  /** What the device sees after a pull once a supervisor settled idp_hh at 120. */
  window.__settle = () => {
    settledByHq = true;
    values.idp_hh = 120;
  };
  let next = 1;
  window.__TAURI_INTERNALS__ = {
    invoke: async (cmd, args) => {
      const h = handlers[cmd];
      if (!h) throw { code: 'unsupported', message: `fake IPC has no ${cmd}` };
      return structuredClone(h(args ?? {}));
    },
    transformCallback: () => next++,
    unregisterCallback: () => {},
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: () => {} };
  window.__fakeValues = values;
}

function serve() {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
  const server = createServer((req, res) => {
    const path = req.url === '/' ? '/index.html' : req.url.split('?')[0];
    try {
      const body = readFileSync(join(DIST, path));
      res.writeHead(200, { 'Content-Type': types[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The built app in Chromium over the fake IPC holding `device`; page errors are collected. */
async function openFieldApp(t, device) {
  mkdirSync(OUT, { recursive: true });
  const server = await serve();
  t.after(() => server.close());
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript(fakeTauri, device);
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  return { page, errors };
}

test('the field app: find a location, calm offline bar, Enter between fields, rule numbers, Arabic', async (t) => {
  const rows = tripoliRows();
  const key = { round: 'R1', form: 'baladiya', location: 'LY021104' };
  const initial = { idp_hh: 95, mig_men: 60, mig_women: 30, mig_children: 5, mig_ind: 100 };
  const { page, errors } = await openFieldApp(t, { rows, form: FORM, key, initial });

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
  assert.equal(await page.evaluate(() => window.__fakeValues.mig_ind), 95, 'Enter stores the value');
  await page.screenshot({ path: join(OUT, 'field-form.png'), fullPage: false });

  // HQ settles the conflict; the next time the form opens it says what happened.
  await page.getByRole('button', { name: 'Back' }).click();
  await page.evaluate(() => window.__settle());
  await page.getByTestId('row-LY021104').first().click();
  const settled = page.getByTestId('settled-idp_hh');
  await settled.waitFor();
  const said = await settled.innerText();
  assert.match(said, /HQ settled the conflict on IDP households: the value is now 120/);
  assert.match(said, /this device showed 95/);
  assert.match(said, /not sent to this device/, 'who and why are not on the device, and the form says so');
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
  const { page, errors } = await openFieldApp(t, { rows, form: muhallaV2(), key: muhalla.key, initial: {} });
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
  await page.waitForFunction(() => window.__fakeValues['mig_nat.sdn.ind'] === 25);
  assert.equal(await add.locator('option[value="sdn"]').count(), 0, 'Sudan is not offered twice');
  assert.equal(await page.evaluate(() => window.__fakeValues.idp_hh), undefined, 'nothing was written for IDPs');
  await page.getByTestId('section-mig_nat').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(OUT, 'field-nationalities.png') });
  assert.deepEqual(errors, [], 'no errors in the page');
});
