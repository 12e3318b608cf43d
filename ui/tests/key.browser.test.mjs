// The round's key figures, as a supervisor of the West region prints them: after the
// map test imported R51–R53 of every muhalla, R53's figures (with their change since
// R52) are printed to PDF in Chromium, in English and in Arabic, and the PDF's text is
// read back. Run by scripts/browser-test.sh against a real dtm-hq.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pastRoundFigures, PAST_ROUNDS } from './past-rounds.mjs';
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL;
const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, '..', 'test-results');
const ROOT = join(HERE, '..', '..');

/** A PDF's text, read by pypdf from the project's venv; Arabic presentation forms folded (NFKC). */
function pdfText(path) {
  const script = 'import sys, unicodedata, pypdf\nprint(unicodedata.normalize("NFKC", "\\n".join(p.extract_text() for p in pypdf.PdfReader(sys.argv[1]).pages)))';
  return execFileSync(join(ROOT, '.venv', 'bin', 'python'), ['-c', script, path], { encoding: 'utf8' });
}

test('the key figures of a round print to PDF in English and Arabic, beside the round before', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set: start dtm-hq --demo serving ui/dist');
  mkdirSync(OUT, { recursive: true });
  const expected = pastRoundFigures(readFileSync(join(ROOT, 'data', 'gazetteer', 'lby_admin4_muhalla.csv'), 'utf8'));
  const west = (code) => expected[code].filter((m) => m.region === 'LY02');
  const migrants = (code) => west(code).reduce((n, m) => n + m.migrants, 0);
  const men = west('R53').reduce((n, m) => n + m.men, 0);
  assert.ok(PAST_ROUNDS.R53 > PAST_ROUNDS.R52);

  const { page, pageErrors } = await signedIn(t, HQ, 'supervisor', 'supervisor-demo');
  await page.getByTestId('tab-key').click();
  await page.getByTestId('round-picker').selectOption('R53');
  const card = page.getByTestId('key-mig_ind');
  const figure = migrants('R53').toLocaleString('en');
  // The round picked first (the demo's R1) may still be on screen: wait for R53's figure.
  await page.waitForFunction(
    (f) => document.querySelector('[data-testid="key-mig_ind"]')?.textContent?.includes(f),
    figure,
    { timeout: 15000 },
  );
  assert.match(await page.getByTestId('key-title').innerText(), /Round 53/);
  const shown = await card.innerText();
  assert.ok(shown.includes(migrants('R53').toLocaleString('en')), `West's migrants in R53 are ${migrants('R53')}: ${shown}`);
  const pct = Math.round(((migrants('R53') - migrants('R52')) / migrants('R52')) * 100);
  assert.ok(shown.includes(`▲ ${(migrants('R53') - migrants('R52')).toLocaleString('en')} (${pct}%)`), `the change since R52: ${shown}`);
  assert.match(await page.getByTestId('key-assessed').innerText(), /changes since R52/);
  const hosting = west('R53').filter((m) => m.migrants > 0).length;
  assert.ok(shown.includes(`${hosting} muhallas`), `the muhallas hosting migrants: ${shown}`);
  assert.match(await page.getByTestId('key-sex-age').innerText(), new RegExp(men.toLocaleString('en')));
  assert.equal(await page.getByTestId('key-nationalities').count(), 0, 'R53 has no nationality figures: no empty table');
  assert.match(await page.getByTestId('key-idp_ind').innerText(), /not collected/, 'no IDP figures: not a count of 0');

  await page.emulateMedia({ media: 'print' });
  const english = join(OUT, 'key-figures-en.pdf');
  await page.pdf({ path: english, format: 'A4', printBackground: true });
  const text = pdfText(english);
  assert.match(text, /Round 53: key figures/);
  assert.ok(text.includes(migrants('R53').toLocaleString('en')), 'the printed page carries the figure');
  assert.doesNotMatch(text, /Print or save as PDF/, 'the print button is not printed');
  await page.emulateMedia({ media: 'screen' });

  // Arabic: the same page, right to left, the same figures.
  await page.locator('button:has-text("العربية")').first().click();
  await page.waitForFunction(() => document.documentElement.dir === 'rtl');
  await page.waitForFunction(() => document.querySelector('[data-testid="key-title"]')?.textContent?.includes('الأرقام'));
  await page.screenshot({ path: join(OUT, 'key-figures-ar.png'), fullPage: true });
  await page.emulateMedia({ media: 'print' });
  const arabic = join(OUT, 'key-figures-ar.pdf');
  await page.pdf({ path: arabic, format: 'A4', printBackground: true });
  const arText = pdfText(arabic);
  assert.match(arText, /[\u0600-\u06FF]{3,}/, 'Arabic text is printed');
  const grouped = migrants('R53').toLocaleString('en').replace(/,/g, '');
  assert.ok(arText.replace(/[\s\u202F,]/g, '').includes(grouped), `the figure ${grouped} in the Arabic PDF`);
  assert.doesNotMatch(arText, /key figures|Migrants/, 'no English on the Arabic page');
  assert.deepEqual(pageErrors, [], 'the page threw no errors');
});
