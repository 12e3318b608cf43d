// The import page as an admin uses it to bring in a past round: a file with mistakes is
// refused whole, each mistake by row and column, in English and then in Arabic; the
// corrected file, which names a muhalla the gazetteer does not have yet, goes in once
// the admin allows new locations, and the report lists the rows, the totals and the
// muhalla added. HQ's API confirms each step. Run by scripts/browser-test.sh.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { problems } from './page-checks.mjs';
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL;
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');
const ROUND = 'R40';
const NEW_MUHALLA = 'LY02110480';

async function api(method, path, token, body) {
  const res = await fetch(`${HQ}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const HEAD = 'baladiya,muhalla,name,name_ar,round,idp_hh,idp_ind';
const TAGS = '#adm3+code,#adm4+code,#loc+name,#loc+name+i_ar,#round+code,#affected+idps+hh,#affected+idps+ind';

test('a past round is imported from the Rounds page: refused by row and column in both languages, then in with a new muhalla', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set: start dtm-hq --demo serving ui/dist');
  mkdirSync(OUT, { recursive: true });
  const login = await fetch(`${HQ}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'admin-demo' }),
  });
  const token = (await login.json()).token;
  const created = await api('POST', '/rounds', token, {
    code: ROUND,
    number: 40,
    title: 'Round 40',
    title_ar: 'الجولة 40',
    window_start: '2022-01-01',
    window_end: '2022-02-28',
    forms: [
      { form: 'baladiya', version: 3 },
      { form: 'muhalla', version: 2 },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  const wrong = join(OUT, 'r40-wrong.csv');
  writeFileSync(
    wrong,
    [HEAD, TAGS, `LY021104,LY02110401,,,40,10,-5`, `LY021104,${NEW_MUHALLA},Al-Fornaj East,الفرناج الشرقي,40,4,20`, ''].join('\n'),
  );
  const good = join(OUT, 'r40.csv');
  writeFileSync(
    good,
    [HEAD, TAGS, `LY021104,LY02110401,,,40,10,50`, `LY021104,${NEW_MUHALLA},Al-Fornaj East,الفرناج الشرقي,40,4,20`, ''].join('\n'),
  );

  const { page, pageErrors } = await signedIn(t, HQ, 'admin', 'admin-demo');
  await page.getByTestId('tab-rounds').click();
  await page.getByTestId('import-round-code').selectOption(ROUND);
  await page.getByTestId('import-file').setInputFiles(wrong);
  await page.getByTestId('import-submit').click();
  await page.getByTestId('import-rejected').waitFor();
  const negative = await page.getByTestId('import-error-3-G').innerText();
  assert.match(negative, /negative/i, `a negative count is named at its row and column: ${negative}`);
  const unknown = await page.getByTestId('import-error-4-B').innerText();
  assert.match(unknown, /not known|unknown_pcode/, `a muhalla the gazetteer lacks is refused without leave to add it: ${unknown}`);
  const held = await api('GET', `/rounds/${ROUND}/assessments`, token);
  assert.equal(held.body.filter((a) => a.status !== 'not_started').length, 0, 'a refused file writes nothing');

  // The same refusal, read in Arabic: every word translated, nothing overflowing.
  await page.getByTestId('lang-toggle').click();
  await page.getByTestId('import-error-3-G').waitFor();
  assert.match(await page.getByTestId('import-error-3-G').innerText(), /سالب/, 'the row error reads in Arabic');
  assert.deepEqual(await page.evaluate(problems, 'ar'), [], 'the refused import reads wholly in Arabic and fits');
  await page.screenshot({ path: join(OUT, 'import-rejected-ar.png'), fullPage: true });
  await page.getByTestId('lang-toggle').click();

  // The corrected file, with leave to add the new muhalla.
  await page.getByTestId('import-file').setInputFiles(good);
  await page.getByTestId('import-add-locations').check();
  await page.getByTestId('import-submit').click();
  await page.getByTestId('import-ok').waitFor();
  assert.match(await page.getByTestId('import-ok').innerText(), /Imported\W+2\W+rows/);
  const added = await page.getByTestId('import-added-locations').innerText();
  assert.match(added, new RegExp(`${NEW_MUHALLA}.*Al-Fornaj East`), `the muhalla added is listed: ${added}`);
  assert.deepEqual(await page.evaluate(problems, 'en'), [], 'the report fits and reads in English');
  await page.screenshot({ path: join(OUT, 'import-ok.png'), fullPage: true });

  const place = await api('GET', `/locations?within=${NEW_MUHALLA}`, token);
  assert.equal(place.body.locations[0]?.name_ar, 'الفرناج الشرقي', 'the gazetteer holds the new muhalla, named as in the file');
  const detail = await api('GET', `/assessments/${ROUND}/muhalla/${NEW_MUHALLA}`, token);
  assert.equal(detail.status, 200, JSON.stringify(detail.body));
  assert.deepEqual([detail.body.status, detail.body.values.idp_ind], ['approved', 20], 'its figures are imported, approved');
  assert.deepEqual(pageErrors, [], 'the page threw nothing');
});
