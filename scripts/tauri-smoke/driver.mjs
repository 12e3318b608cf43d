// The field app driven through tauri-driver (WebDriver) under a virtual display: the
// smoke test's and the measurements' shared way to start the real window.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const PORT = Number(process.env.TAURI_DRIVER_PORT ?? 4444);
export const DRIVER_URL = `http://127.0.0.1:${PORT}`;
export const NATIVE_DRIVER = process.env.DTM_NATIVE_DRIVER ?? '/usr/bin/WebKitWebDriver';
export const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';


function tauriDriverPath() {
  if (process.env.TAURI_DRIVER) return process.env.TAURI_DRIVER;
  const cargoBin = join(homedir(), '.cargo', 'bin', 'tauri-driver');
  return existsSync(cargoBin) ? cargoBin : 'tauri-driver';
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; fails with `what` after `ms`. */
export async function waitFor(what, probe, ms = 15_000) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

/** One WebDriver session, over fetch. */
export class WebDriver {
  constructor(base) {
    this.base = base;
    this.id = null;
    this.driverLog = () => '';
  }

  async cmd(method, path, body) {
    const url = `${this.base}${this.id && !path.startsWith('/session') ? `/session/${this.id}` : ''}${path}`;
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const v = json.value ?? {};
      const err = new Error(`WebDriver ${method} ${path}: ${v.error ?? res.status}: ${v.message ?? ''}`);
      err.wd = v.error;
      throw err;
    }
    return json.value;
  }

  async start(capabilities) {
    const value = await this.cmd('POST', '/session', { capabilities: { alwaysMatch: capabilities, firstMatch: [{}] } });
    this.id = value.sessionId;
  }

  async stop() {
    if (!this.id) return;
    const id = this.id;
    this.id = null;
    await this.cmd('DELETE', `/session/${id}`).catch(() => {});
  }

  async find(css) {
    const v = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return v.length ? v[0][ELEMENT] : null;
  }

  waitFind(css, what = css, ms) {
    return waitFor(what, () => this.find(css), ms);
  }

  click(el) {
    return this.cmd('POST', `/element/${el}/click`, {});
  }

  async type(el, text) {
    await this.cmd('POST', `/element/${el}/clear`, {});
    await this.cmd('POST', `/element/${el}/value`, { text });
  }

  text(el) {
    return this.cmd('GET', `/element/${el}/text`);
  }

  async screenshot(file) {
    const png = await this.cmd('GET', '/screenshot');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(png, 'base64'));
  }
}

/**
 * Starts tauri-driver and a WebDriver session on the app; both end when test `t` does.
 * tauri-driver starts the app as its child, so the app inherits `env`.
 */
export async function startApp(t, { bin, dataDir }, env) {
  const driver = spawn(tauriDriverPath(), ['--port', String(PORT), '--native-driver', NATIVE_DRIVER], {
    env: { ...process.env, DTM_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // Its output (and the app's) is shown only when something fails: while the native
  // driver starts up, tauri-driver logs harmless connection errors for /status probes.
  const log = [];
  driver.stdout.on('data', (b) => log.push(b));
  driver.stderr.on('data', (b) => log.push(b));
  const driverExit = new Promise((r) => driver.once('exit', (code, sig) => r(`${code ?? sig}`)));
  driver.once('error', (e) => console.error(`cannot start tauri-driver: ${e.message}`));
  const wd = new WebDriver(DRIVER_URL);
  t.after(async () => {
    await wd.stop();
    try {
      process.kill(-driver.pid, 'SIGTERM'); // tauri-driver and the WebKitWebDriver it started
    } catch {}
    await Promise.race([driverExit, sleep(3000)]);
  });
  wd.driverLog = () => Buffer.concat(log).toString();
  try {
    await waitFor(
      `tauri-driver on port ${PORT}`,
      async () => driver.exitCode === null && (await fetch(`${DRIVER_URL}/status`)).ok,
      20_000,
    );
    await wd.start({ browserName: 'wry', 'tauri:options': { application: bin } });
  } catch (e) {
    console.error(`--- tauri-driver and app output ---\n${wd.driverLog()}`);
    throw e;
  }
  return wd;
}

