// PouchDB on the same workload as dtm-bench: the assessments `dtm-bench --write-docs`
// generated, entered into a PouchDB on LevelDB, pushed by replication to
// pouchdb-server (LevelDB, its own process, as HQ is), then pulled by a fresh PouchDB.
// Prints figures; checks only that every document arrived each way.
//
//   node bench.mjs DOCS.jsonl [--batch-size 1000] [--port 5985]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import PouchDB from 'pouchdb-node';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const docsPath = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!docsPath) {
  console.error('usage: node bench.mjs DOCS.jsonl [--batch-size N] [--port P]');
  process.exit(2);
}
const batchSize = option('--batch-size', 1000);
const port = option('--port', 5985);
const secs = (ms) => (ms / 1000).toFixed(2);

const docs = readFileSync(docsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const dir = mkdtempSync(join(tmpdir(), 'dtm-bench-pouchdb-'));

const server = spawn(join(here, 'node_modules/.bin/pouchdb-server'), ['--port', String(port), '--dir', join(dir, 'server'), '--no-stdout-logs'], {
  cwd: dir,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const vmHwmKib = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]);

const url = `http://127.0.0.1:${port}/bench`;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) break;
    } catch {}
    if (i > 200) throw new Error('pouchdb-server did not answer within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await fetch(url, { method: 'PUT' })).ok) throw new Error('could not create the database');

  const source = new PouchDB(join(dir, 'source'));
  let started = performance.now();
  for (let i = 0; i < docs.length; i += 1000) await source.bulkDocs(docs.slice(i, i + 1000));
  const entry = performance.now() - started;

  const startupRss = vmHwmKib();
  started = performance.now();
  const pushed = await source.replicate.to(url, { batch_size: batchSize });
  const push = performance.now() - started;
  const held = (await (await fetch(url)).json()).doc_count;
  if (pushed.docs_written !== docs.length || held !== docs.length) {
    throw new Error(`push wrote ${pushed.docs_written} and the server holds ${held} of ${docs.length}`);
  }

  const target = new PouchDB(join(dir, 'target'));
  started = performance.now();
  const pulled = await target.replicate.from(url, { batch_size: batchSize });
  const pull = performance.now() - started;
  const got = (await target.info()).doc_count;
  if (pulled.docs_written !== docs.length || got !== docs.length) {
    throw new Error(`pull wrote ${pulled.docs_written} and the target holds ${got} of ${docs.length}`);
  }
  await source.close();
  await target.close();

  const n = docs.length;
  console.log(`PouchDB ${PouchDB.version} with pouchdb-server (LevelDB), ${n} documents, batch_size ${batchSize}`);
  console.log(`  entry (bulkDocs, 1000 a call)      ${secs(entry).padStart(9)} s`);
  console.log(`  push (replicate.to)                ${secs(push).padStart(9)} s  (${Math.round((n * 1000) / push)} docs/s)`);
  console.log(`  pull (replicate.from)              ${secs(pull).padStart(9)} s  (${Math.round((n * 1000) / pull)} docs/s)`);
  console.log(`  server peak RSS                    ${(vmHwmKib() / 1024).toFixed(1).padStart(9)} MiB (at start ${(startupRss / 1024).toFixed(1)} MiB)`);
} finally {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
