// `scripts/tauri-smoke/measure.sh`: how fast the field app starts and how much memory it
// and its WebKit processes take, in the real window under Xvfb. For a device holding one
// mantika (the demo enumerator, 46 baladiyas and muhallas) and one holding the whole
// country (the demo admin, 100 baladiyas and 663 muhallas), after the first sign-in:
// - cold start: the process started until the sign-in screen shows (the store is
//   locked, so this is the first screen), then the password typed until the home list
//   shows every row;
// - RSS and PSS of dtm-field and of each WebKit process it started, with the home list
//   shown (PSS splits shared pages between the processes that map them, so it adds up).
// It prints figures and asserts nothing.

import { readFileSync, readdirSync, readlinkSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startApp, waitFor } from './driver.mjs';

const HQ = process.env.DTM_HQ_URL.replace(/\/$/, '');
const BIN = resolve(process.env.DTM_FIELD_BIN);
const RUNS = Number(process.env.DTM_MEASURE_RUNS ?? 3);

/** A stand-in for node:test's `t`: what `startApp` registers runs at `end()`. */
function scope() {
  const after = [];
  return { after: (f) => after.push(f), end: async () => { for (const f of after.reverse()) await f(); } };
}

function status(pid, key) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${key}:`));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

/** Fields of /proc/PID/smaps_rollup (KiB): Pss counts a page shared by n processes
 * as 1/n in each, so the Pss of all the app's processes is the memory they take
 * together, where the sum of their RSS counts the shared WebKit libraries twice. */
function rollup(pid) {
  const out = {};
  try {
    for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
  } catch {}
  return out;
}

/** The app's process and every process under it, with name, RSS and PSS (KiB). */
function processes() {
  const all = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {}
      const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      return { pid: Number(pid), ppid, exe, name };
    } catch {
      return null;
    }
  }).filter(Boolean);
  const root = all.find((p) => p.exe === BIN);
  if (!root) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i].pid));
  return tree.map((p) => {
    const r = rollup(p.pid);
    return { name: p.name, rss: status(p.pid, 'VmRSS'), pss: r.Pss ?? 0, anon: r.Pss_Anon ?? 0, file: r.Pss_File ?? 0 };
  });
}

async function signIn(wd, user, password) {
  await wd.type(await wd.waitFind('input[name="username"]', 'the sign-in form', 30_000), user);
  await wd.type(await wd.find('input[name="password"]'), password);
  await wd.click(await wd.find('form.login button[type="submit"]'));
}

async function rowsShown(wd, want) {
  return waitFor(`${want} rows on the home screen`, async () => {
    const n = await wd.cmd('POST', '/execute/sync', { script: 'return document.querySelectorAll(\'[data-testid^="row-"]\').length', args: [] });
    return n >= want ? n : 0;
  }, 60_000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(label, user, password, rows) {
  const dataDir = mkdtempSync(join(tmpdir(), 'dtm-measure-'));
  const cfg = { bin: BIN, dataDir };
  {
    const t = scope();
    const wd = await startApp(t, cfg, { DTM_HQ_URL: HQ, DTM_AUTO_SYNC: 'off' });
    await signIn(wd, user, password); // the first sign-in: online, pulls the rows
    await rowsShown(wd, 1);
    await t.end();
  }
  const starts = [];
  const opens = [];
  let memory = [];
  for (let i = 0; i < RUNS; i++) {
    const t = scope();
    const t0 = performance.now();
    const wd = await startApp(t, cfg, { DTM_HQ_URL: HQ, DTM_AUTO_SYNC: 'off' });
    await wd.waitFind('[data-testid="login-locked"]', 'the sign-in screen of the locked device', 30_000);
    const t1 = performance.now();
    await wd.type(await wd.find('input[name="password"]'), password);
    await wd.click(await wd.find('form.login button[type="submit"]'));
    const shown = await rowsShown(wd, rows);
    const t2 = performance.now();
    // Expand every baladiya's muhallas: the whole list on screen, as an enumerator scrolls it.
    await wd.cmd('POST', '/execute/sync', { script: 'document.querySelectorAll("details.muhallas").forEach((d) => (d.open = true))', args: [] });
    await new Promise((r) => setTimeout(r, 1500));
    memory = processes();
    starts.push(t1 - t0);
    opens.push(t2 - t1);
    if (i === 0) console.log(`\n${label}: ${shown} rows on the home screen`);
    await t.end();
  }
  const total = memory.reduce((s, p) => s + p.rss, 0);
  console.log(`  start to the sign-in screen   median ${median(starts).toFixed(0)} ms  (${starts.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  password to the home list     median ${median(opens).toFixed(0)} ms  (${opens.map((x) => x.toFixed(0)).join(', ')})`);
  const mib = (k) => `${(k / 1024).toFixed(0)} MiB`.padStart(8);
  const byName = {};
  for (const p of memory) {
    const b = (byName[p.name] ??= { rss: 0, pss: 0, anon: 0, file: 0 });
    for (const k of Object.keys(b)) b[k] += p[k];
  }
  console.log(`  ${''.padEnd(28)}     RSS      PSS  (anon     file)`);
  for (const [name, b] of Object.entries(byName)) {
    console.log(`  ${name.padEnd(28)}${mib(b.rss)} ${mib(b.pss)} ${mib(b.anon)} ${mib(b.file)}`);
  }
  const sum = (k) => memory.reduce((s, p) => s + p[k], 0);
  console.log(`  ${"all the app's processes".padEnd(28)}${mib(total)} ${mib(sum('pss'))} ${mib(sum('anon'))} ${mib(sum('file'))}`);
}

console.log(`field app ${BIN}, HQ ${HQ}, ${RUNS} cold starts each (the first sign-in, online, is not timed)`);
await measure('one mantika (enumerator, Tripoli)', 'enumerator', 'enumerator-demo', 46);
await measure('the whole country (admin)', 'admin', 'admin-demo', 763);
