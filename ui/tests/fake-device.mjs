// A field device without Rust, for the field app's browser tests: ui/dist served as is,
// and Tauri's IPC answered here in Node by a FakeDevice holding the device's state (real
// gazetteer rows, the real forms of schemas/forms). What Rust decides (which fields a
// presence answer asks, the migrant breakdown rule) is mirrored in a few lines below,
// once; the real decisions are covered by the e2e tests against the Rust device.

import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, '..', 'dist');
const ROOT = join(HERE, '..', '..');
export const OUT = join(HERE, '..', 'test-results');

function csv(file) {
  return readFileSync(join(ROOT, 'data', 'gazetteer', file), 'utf8').trim().split('\n').slice(2).map((l) => l.split(','));
}

/** Every baladiya and muhalla of the Tripoli mantika, as list_assessments answers. */
export function tripoliRows() {
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

/** A form as HQ and the device serve it: a repeated group's keys filled from their vocabulary. */
export function readForm(name) {
  const form = JSON.parse(readFileSync(join(ROOT, 'schemas', 'forms', `${name}.json`), 'utf8'));
  const vocab = JSON.parse(readFileSync(join(ROOT, 'schemas', 'vocabularies', 'nationalities.json'), 'utf8'));
  for (const s of form.sections) if (s.repeat) s.repeat.key.options = vocab.entries;
  return form;
}

/** One device's state, answering the IPC commands the field app calls. */
export class FakeDevice {
  /**
   * `forms`: form id → form. `values`: P-code → that assessment's values. `conflict`:
   * a field of one assessment in conflict from this device, until `settle()`.
   */
  constructor({ rows, forms, values = {}, conflict = null }) {
    this.rows = rows;
    this.forms = forms;
    this.values = values;
    this.conflict = conflict;
    /** Every IPC call, in order: [command, arguments]. */
    this.calls = [];
    this.sync = {
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
  }

  valuesOf(location) {
    return (this.values[location] ??= {});
  }

  /** A supervisor settles the conflict at `value`, saying why; the next pull brings it. */
  settle(value, reason) {
    const values = this.valuesOf(this.conflict.location);
    const yours = values[this.conflict.field] ?? null;
    values[this.conflict.field] = value;
    this.conflict = {
      ...this.conflict,
      settled: { field: this.conflict.field, yours, settled: value, by: 'amina', by_name: 'Amina', reason, at: '2026-12-01T09:00:00Z' },
    };
  }

  /** What Rust asks: a module's fields only while its presence question says yes, a repeated group's as `group.field`. */
  relevant(form, values) {
    return form.sections.flatMap((s) =>
      s.fields
        .filter((f) => !s.presence || values[s.presence] === 'yes' || f.id === s.presence)
        .map((f) => (s.repeat ? `${s.id}.${f.id}` : f.id)),
    );
  }

  /** The migrant breakdown rule, the one rule these tests exercise. */
  issues(form, values) {
    const parts = ['mig_men', 'mig_women', 'mig_children', 'mig_ind'];
    const rule = form.rules.find((r) => r.id === 'migrant_breakdown');
    const broken =
      rule && parts.every((f) => typeof values[f] === 'number') && values.mig_men + values.mig_women + values.mig_children !== values.mig_ind;
    return broken ? [{ rule: rule.id, severity: 'error', fields: parts, message: rule.message, justified: false }] : [];
  }

  detail({ round, form: formId, location }) {
    const row = this.rows.find((r) => r.key.location === location);
    const form = this.forms[formId];
    const values = this.valuesOf(location);
    const open = this.conflict && !this.conflict.settled && this.conflict.location === location;
    return {
      form_version: form.version,
      values: { ...values },
      comments: [],
      issues: this.issues(form, values),
      pending_fields: [],
      relevant_fields: this.relevant(form, values),
      previous_round: null,
      previous_values: {},
      key: { round, form: formId, location },
      location: row.location,
      mantika: row.mantika,
      status: Object.keys(values).length > 0 ? 'draft' : 'not_started',
      version: 1,
      open_conflicts: open ? 1 : 0,
      pending_ops: 2,
      settled:
        this.conflict?.settled && this.conflict.location === location
          ? [{ key: { round, form: formId, location }, ...this.conflict.settled }]
          : [],
    };
  }

  invoke(cmd, args = {}) {
    this.calls.push([cmd, args]);
    const handlers = {
      session: () => ({ user: { username: 'enum1', display_name: 'Amal', role: 'enumerator', scope: ['LY0211'] }, hq_url: 'http://10.0.0.5:8080', device_id: 'd1' }),
      lock_state: () => ({ encrypted: true, locked: false, accounts: ['enum1'], wait_seconds: 0 }),
      list_rounds: () => [{ code: 'R1', number: 1, title: 'Round 1', status: 'open', window_start: '2026-11-01', window_end: '2026-12-31', forms: [] }],
      list_assessments: () => this.rows,
      get_assessment: (a) => this.detail(a),
      get_form: ({ formId, form }) => this.forms[formId ?? form],
      set_field: (a) => {
        this.valuesOf(a.location)[a.field] = a.value;
        return this.detail(a);
      },
      set_fields: (a) => {
        Object.assign(this.valuesOf(a.location), Object.fromEntries(a.values));
        return this.detail(a);
      },
      sync_state: () => this.sync,
      sync_now: () => this.sync,
      rejected_ops: () =>
        this.conflict && !this.conflict.settled
          ? [{ op_id: 'op1', key: { round: 'R1', form: this.conflict.form, location: this.conflict.location }, field: this.conflict.field, state: 'conflict', code: 'conflict', reason: 'another device changed this field; a supervisor will settle it' }]
          : [],
      sent_log: () => [],
      'plugin:event|listen': () => 1,
      'plugin:event|unlisten': () => null,
    };
    const h = handlers[cmd];
    if (!h) throw { code: 'unsupported', message: `fake IPC has no ${cmd}` };
    return structuredClone(h(args));
  }
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

/** The built app in Chromium with `device` answering its IPC; page errors are collected. */
export async function openFieldApp(t, device, viewport = { width: 1024, height: 768 }) {
  mkdirSync(OUT, { recursive: true });
  const server = await serve();
  t.after(() => server.close());
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.exposeFunction('__fakeInvoke', async (cmd, args) => {
    try {
      return { ok: device.invoke(cmd, args) };
    } catch (e) {
      return { err: e };
    }
  });
  await page.addInitScript(() => {
    let next = 1;
    window.__TAURI_INTERNALS__ = {
      invoke: async (cmd, args) => {
        const r = await window.__fakeInvoke(cmd, args ?? {});
        if ('err' in r) throw r.err;
        return r.ok;
      },
      transformCallback: () => next++,
      unregisterCallback: () => {},
    };
    window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: () => {} };
  });
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  return { page, errors };
}

/** Waits until `check()` holds (Node-side state the page changes through IPC). */
export async function until(what, check, ms = 5_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
