// Smoke test of the built field app, driven through tauri-driver + WebKitWebDriver.
//
//   DTM_HQ_URL=http://127.0.0.1:8080 DTM_FIELD_BIN=target/debug/dtm-field \
//   DTM_DATA_DIR=$(mktemp -d) xvfb-run -a node --test scripts/tauri-smoke/smoke.test.mjs
//
// Expects a fresh dtm-hq with the demo data at DTM_HQ_URL and an empty DTM_DATA_DIR.
// 1. Enrols the app as a new enumerator with a one-time code an admin issued at HQ (as
//    a supervisor would read it out over the phone), types a count into Tripoli's baladiya form, checks
//    the value and its pending outbox operation are in the device store, presses Sync now
//    and checks HQ has the value. 2. Restarts the app with background sync on (same
//    store, so still signed in), types another count and waits for it to reach HQ, then
//    checks the window is refused a Tauri command its capability does not grant.
// The tests run in order and the second builds on the first.
// Talks WebDriver over plain HTTP (fetch), so it needs no npm packages. run.sh does
// the building and the HQ; this file only drives the app.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ELEMENT, startApp, waitFor } from './driver.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const OUT = join(HERE, 'out');
const LOCATION = 'LY021104'; // Tripoli baladiya, inside the demo enumerator's scope LY0211
const FIELD = 'idp_hh';
// The enumerator the app enrols as, and the password they set in the window.
const USERNAME = 'smoke.enumerator';
const NEW_PASSWORD = 'oasis wells of ghadames';
// HQ is read and staffed as the demo admin.
const ADMIN = { username: 'admin', password: 'admin-demo' };

function requireEnv(name, why) {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name}: ${why}`);
  return v;
}

/**
 * Checks that the device's store is encrypted at rest: not an SQLite file Python can
 * open, and none of what was typed or synced readable in any of the store's files.
 */
function assertEncryptedOnDisk(storePath, secrets) {
  const py = `
import sqlite3, sys
try:
    sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM sqlite_master").fetchone()
    print("readable")
except sqlite3.DatabaseError as e:
    print("unreadable: " + str(e))
`;
  const r = spawnSync('python3', ['-c', py, storePath], { encoding: 'utf8' });
  assert.match(r.stdout, /^unreadable/, `the device store must not open without its key: ${r.stdout}${r.stderr}`);
  // The store and its write-ahead log; the key file beside them names the accounts
  // that may open the store (by design) and holds nothing else readable.
  const dir = dirname(storePath);
  const files = readdirSync(dir).filter((f) => !f.endsWith('.key'));
  assert.ok(files.length > 0, `the store is in ${dir}`);
  const all = Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
  for (const secret of secrets) {
    assert.equal(all.includes(Buffer.from(secret)), false, `"${secret}" must not be readable in the device's files`);
  }
}

/** Digits in a label, whichever numerals the UI language uses. */
function numberIn(text) {
  const ascii = text.replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x660));
  const m = ascii.match(/\d[\d,]*/);
  return m ? Number(m[0].replace(/,/g, '')) : NaN;
}

async function hqValue(hqUrl, location, field) {
  return (await hqAssessment(hqUrl, location)).values?.[field];
}

async function adminToken(hqUrl) {
  const login = await fetch(`${hqUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ADMIN, device_name: 'tauri-smoke' }),
  });
  assert.ok(login.ok, `logging in to HQ as the demo admin failed: ${login.status}`);
  return (await login.json()).token;
}

/** Creates the enumerator at HQ (mantika LY0211) and issues an enrolment code for them. */
async function enrolmentCode(hqUrl) {
  const token = await adminToken(hqUrl);
  const call = (path, body) =>
    fetch(`${hqUrl}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  const created = await call('/users', { username: USERNAME, display_name: 'Smoke enumerator', role: 'enumerator', scope: ['LY0211'] });
  if (created.status !== 201) assert.fail(`creating ${USERNAME} at HQ: ${created.status} ${await created.text()}`);
  const issued = await call(`/users/${USERNAME}/enrolments`, {});
  if (issued.status !== 201) assert.fail(`issuing an enrolment code: ${issued.status} ${await issued.text()}`);
  return (await issued.json()).code;
}

async function hqAssessment(hqUrl, location, form = 'baladiya') {
  const token = await adminToken(hqUrl);
  const res = await fetch(`${hqUrl}/api/v1/assessments/R1/${form}/${location}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) assert.fail(`HQ has no assessment for ${location} after the sync: ${res.status} ${await res.text()}`);
  return res.json();
}

function config() {
  const hqUrl = requireEnv('DTM_HQ_URL', 'the dtm-hq (with --demo data) the app signs in to').replace(/\/$/, '');
  const bin = resolve(REPO, requireEnv('DTM_FIELD_BIN', 'path to the built app, e.g. target/debug/dtm-field'));
  const dataDir = resolve(requireEnv('DTM_DATA_DIR', 'a fresh, empty folder for the device store'));
  assert.ok(existsSync(bin), `DTM_FIELD_BIN ${bin} does not exist: run cargo build -p dtm-field`);
  assert.ok(process.env.DISPLAY || process.env.WAYLAND_DISPLAY, 'no display: run under xvfb-run -a');
  return { hqUrl, bin, dataDir, storePath: join(dataDir, 'device.sqlite3') };
}

/** Runs `steps`, keeping a screenshot of the window if they fail. */
async function screenshotOnFailure(wd, name, steps) {
  try {
    await steps();
  } catch (e) {
    await wd.screenshot(join(OUT, `${name}-failure.png`)).catch(() => {});
    console.error(`--- tauri-driver and app output ---\n${wd.driverLog()}`);
    throw e;
  }
}

async function openAssessment(wd, location) {
  const row = await wd.waitFind(`[data-testid="row-${location}"]`, `the ${location} row in the assessment list`);
  await wd.click(row);
}

async function typeCount(wd, field, value) {
  const input = await wd.waitFind(`#f-${field}`, `the ${field} input of the baladiya form`);
  const before = await wd.cmd('GET', `/element/${input}/property/value`);
  assert.notEqual(before, String(value), `HQ already holds ${field}=${value} for ${LOCATION}: the smoke test needs a fresh demo HQ`);
  await wd.type(input, String(value));
  await wd.waitFind(`[data-testid="saved-${field}"]`, `the "Saved" mark next to ${field}`);
}

const pendingInBar = async (wd) => numberIn(await wd.text(await wd.find('[data-testid="sync-pending"]')));

test('an edit is saved on the device with its outbox operation, and Sync now takes it to HQ', async (t) => {
  const cfg = config();
  // Background sync off, so the pending operation can be seen before the explicit sync.
  const wd = await startApp(t, cfg, { DTM_AUTO_SYNC: 'off' });
  await screenshotOnFailure(wd, 'manual-sync', async () => {
    // Enrol with a one-time code. The HQ address comes prefilled from DTM_HQ_URL; the
    // code is typed as read aloud (lower case, a space for the dash).
    const code = await enrolmentCode(cfg.hqUrl);
    await wd.waitFind('input[name="hq_url"]', 'the login form (is the app showing the field UI?)', 30_000);
    await wd.click(await wd.find('[data-testid="enrol-switch"]'));
    const hq = await wd.waitFind('[data-testid="enrol-form"] input[name="hq_url"]', 'the enrolment form');
    await waitFor(
      'the HQ address to be prefilled from DTM_HQ_URL',
      async () => (await wd.cmd('GET', `/element/${hq}/property/value`)) === cfg.hqUrl,
      5_000,
    );
    await wd.type(await wd.find('input[name="code"]'), code.toLowerCase().replace('-', ' '));
    await wd.type(await wd.find('input[name="new_password"]'), NEW_PASSWORD);
    await wd.type(await wd.find('input[name="repeat_password"]'), NEW_PASSWORD);
    await wd.click(await wd.find('[data-testid="enrol-form"] button[type="submit"]'));
    await waitFor('the signed-in home screen', async () => {
      const err = await wd.find('[data-testid="login-error"]');
      if (err) throw new Error(`enrolment failed: ${await wd.text(err)}`);
      return wd.find('[data-testid="who"]');
    }).catch((e) => {
      throw new Error(`${e.message}\n(enrolling as ${USERNAME} at ${cfg.hqUrl} with ${code})`);
    });
    assert.match(await wd.text(await wd.find('[data-testid="who"]')), /Smoke enumerator/, 'signed in as the enrolled enumerator');

    await openAssessment(wd, LOCATION);
    await typeCount(wd, FIELD, 12);

    // The value is in the device's own store, which nobody can read from the disk.
    assertEncryptedOnDisk(cfg.storePath, [LOCATION, USERNAME, 'Smoke enumerator', FIELD]);

    // The sync bar heard about it through the `sync-state` event.
    await waitFor('the sync bar to count 1 pending operation', async () => (await pendingInBar(wd)) === 1, 5_000);
    await wd.screenshot(join(OUT, 'smoke.png'));

    // Sync by hand; the outbox empties and HQ has the value.
    await wd.click(await wd.find('[data-testid="sync-now"]'));
    await waitFor('the sync bar to count 0 pending operations after Sync now', async () => (await pendingInBar(wd)) === 0);
    assert.equal(await hqValue(cfg.hqUrl, LOCATION, FIELD), 12, `HQ should hold ${FIELD}=12 for ${LOCATION} after the sync`);

    // The sent log shows the operation and HQ's answer after it left the outbox.
    await wd.click(await wd.find('[data-testid="sent-log"] summary'));
    const entry = await wd.waitFind('[data-testid="sent-log"] li[data-outcome="applied"]', 'the sent log to list the applied edit');
    assert.match(await wd.text(entry), new RegExp(LOCATION), 'the sent log names the assessment it sent');
  });
});

/** A restarted app is locked: its sign-in names who can open the data here, and the password alone opens it. */
async function signInAgain(wd, { wrongFirst = false } = {}) {
  await wd.waitFind('[data-testid="login-locked"]', 'the sign-in screen of a locked device', 30_000);
  const user = await wd.find('input[name="username"]');
  assert.equal(await wd.cmd('GET', `/element/${user}/property/value`), USERNAME, 'the one account of this device is filled in');
  if (wrongFirst) {
    await wd.type(await wd.find('input[name="password"]'), 'not the password');
    await wd.click(await wd.find('form.login button[type="submit"]'));
    await wd.waitFind('[data-testid="login-error"]', 'a wrong password refused by the device', 15_000);
  }
  await wd.type(await wd.find('input[name="password"]'), NEW_PASSWORD);
  await wd.click(await wd.find('form.login button[type="submit"]'));
  await wd.waitFind('[data-testid="who"]', 'the signed-in home screen (the session survives a restart)', 30_000);
}

test('after a restart the password alone opens the device, and background sync takes an edit to HQ', async (t) => {
  const cfg = config();
  const wd = await startApp(t, cfg, { DTM_AUTO_SYNC: 'on' });
  await screenshotOnFailure(wd, 'auto-sync', async () => {
    await signInAgain(wd, { wrongFirst: true });
    await openAssessment(wd, LOCATION);
    await typeCount(wd, 'idp_ind', 40);
    await wd.waitFind('[data-testid="unsynced-idp_ind"]', 'idp_ind marked "not yet synced" while it waits in the outbox', 3_000);
    // No click: the edit wakes the background sync, which pushes once typing pauses.
    await waitFor(
      'the background sync to empty the outbox',
      async () => (await pendingInBar(wd)) === 0,
      30_000,
    );
    await waitFor('the sync bar to count 0 pending operations', async () => (await pendingInBar(wd)) === 0, 5_000);
    assert.equal(await hqValue(cfg.hqUrl, LOCATION, 'idp_ind'), 40, `HQ should hold idp_ind=40 for ${LOCATION}`);
    // The open form hears that the sync ended and stops marking the field as unsent.
    await waitFor(
      'the form to stop marking idp_ind "not yet synced"',
      async () => (await wd.find('[data-testid="unsynced-idp_ind"]')) === null,
      10_000,
    );
    await wd.screenshot(join(OUT, 'synced.png'));

    // Least privilege: Tauri's own commands, e.g. reading the app version, are refused.
    const outcome = await wd.cmd('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke('plugin:app|version').then((v) => done({ allowed: v }), (e) => done({ refused: String(e) }));`,
      args: [],
    });
    assert.match(outcome.refused ?? '', /not allowed/, `the window must not be allowed app:version: ${JSON.stringify(outcome)}`);

    // Voiding through the new command: a tombstone queued with its reason, values kept.
    await wd.click(await wd.waitFind('[data-testid="void"]', 'the Void button'));
    await wd.type(await wd.waitFind('[data-testid="void-reason"]', 'the reason box'), 'entered for the wrong baladiya');
    await wd.click(await wd.find('[data-testid="void-confirm"]'));
    await waitFor('the assessment to show as voided', async () => (await wd.find('[data-status="voided"]')) !== null, 5_000);
    const input = await wd.find('#f-idp_ind');
    assert.equal(await wd.cmd('GET', `/element/${input}/property/value`), '40', 'a void deletes nothing');
    // Background sync takes the tombstone to HQ, reason and values with it.
    await waitFor('the void to reach HQ', async () => (await hqAssessment(cfg.hqUrl, LOCATION)).status === 'voided', 30_000);
    const atHq = await hqAssessment(cfg.hqUrl, LOCATION);
    assert.equal(atHq.values.idp_ind, 40, 'HQ keeps the values of a voided assessment');
    assert.ok(
      atHq.comments.some((c) => c.text === 'Voided: entered for the wrong baladiya'),
      `the reason travels with the void: ${JSON.stringify(atHq.comments)}`,
    );
  });
});

test('the entry grid takes five muhallas typed by keyboard and five pasted from a spreadsheet to HQ', async (t) => {
  const cfg = config();
  const wd = await startApp(t, cfg, { DTM_AUTO_SYNC: 'off' });
  await screenshotOnFailure(wd, 'grid', async () => {
    await signInAgain(wd);
    await wd.click(await wd.waitFind(`[data-testid="muhallas-${LOCATION}"] summary`, `the muhallas of ${LOCATION}`));
    await wd.click(await wd.waitFind(`[data-testid="grid-${LOCATION}"]`, 'the button that opens the entry grid'));
    await wd.waitFind('[data-testid="entry-grid"]', 'the entry grid', 15_000);
    const pcodes = await wd.cmd('POST', '/execute/sync', {
      script: `return [...document.querySelectorAll('[data-testid^="grid-row-"]')].map((r) => r.dataset.testid.slice('grid-row-'.length));`,
      args: [],
    });
    assert.ok(pcodes.length >= 8, `the grid lists the baladiya's muhallas: ${pcodes}`);
    const column = await wd.cmd('POST', '/execute/sync', {
      script: `return [...document.querySelectorAll('[data-testid="entry-grid"] thead th[data-field]')].map((th) => th.dataset.field);`,
      args: [],
    });
    const hh = column.indexOf('idp_hh');
    assert.ok(hh >= 0, `the grid has IDP households: ${column}`);

    // Keyboard: five muhallas' IDP households, Enter going down the column.
    await wd.click(await wd.find(`#g-0-${hh}`));
    for (let i = 0; i < 5; i++) {
      const active = (await wd.cmd('GET', '/element/active'))[ELEMENT];
      assert.equal(await wd.cmd('GET', `/element/${active}/attribute/id`), `g-${i}-${hh}`, `Enter moved to muhalla ${i + 1}`);
      await wd.cmd('POST', `/element/${active}/value`, { text: `${31 + i}\uE007` });
    }

    // Paste: five muhallas' households and individuals, a block from a spreadsheet, over
    // the last two typed by hand and three more.
    const block = [0, 1, 2, 3, 4].map((i) => `${41 + i}\t${200 + i}`).join('\r\n') + '\r\n';
    await wd.cmd('POST', '/execute/sync', {
      script: `const el = document.getElementById(arguments[0]); el.focus();
        const data = new DataTransfer(); data.setData('text/plain', arguments[1]);
        el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));`,
      args: [`g-3-${hh}`, block],
    });
    await wd.waitFind('[data-testid="grid-notice"]', 'the grid to say the block was pasted');
    await waitFor('ten saves (five typed, five pasted rows) to wait in the outbox', async () => (await pendingInBar(wd)) === 10, 10_000);
    await wd.screenshot(join(OUT, 'grid.png'));

    await wd.click(await wd.find('[data-testid="sync-now"]'));
    await waitFor('the sync bar to count 0 pending operations after Sync now', async () => (await pendingInBar(wd)) === 0);
    for (let i = 0; i < 8; i++) {
      const atHq = await hqAssessment(cfg.hqUrl, pcodes[i], 'muhalla');
      const want = i < 3 ? { idp_hh: 31 + i } : { idp_hh: 38 + i, idp_ind: 197 + i };
      for (const [f, v] of Object.entries(want)) {
        assert.equal(atHq.values[f], v, `HQ holds ${f}=${v} for ${pcodes[i]}, typed or pasted in the grid`);
      }
    }
  });
});
