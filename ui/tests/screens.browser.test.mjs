// Every screen of the dashboard an admin reaches, in English and Arabic, on a laptop
// (1366×768) and a portrait tablet (768×1024), after the other browser tests filled HQ
// with three rounds (two imported, one collected by devices): each is screenshotted, and
// the test fails if any text overflows its box, the page is wider than the screen, or a
// string is left untranslated (English words in Arabic, Arabic in English), outside what
// is deliberately in the other language (an English place name, a P-code, a username).
// Run by scripts/browser-test.sh last, against a real dtm-hq.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { problems } from './page-checks.mjs';
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL;
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screens');
const SIZES = [
  { name: 'laptop', width: 1366, height: 768 },
  { name: 'tablet', width: 768, height: 1024 },
];
const TABS = ['completeness', 'conflicts', 'totals', 'map', 'trends', 'key', 'rounds', 'locations', 'people', 'devices', 'audit'];

async function settle(page) {
  // Until nothing says it is loading and the network has been quiet a moment.
  await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => /Loading|جارٍ التحميل/.test(e.textContent)), null, { timeout: 15_000 });
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(150);
}

test('every screen fits and speaks one language, in English and Arabic, on a laptop and a portrait tablet', async (t) => {
  assert.ok(HQ, 'DTM_HQ_URL is not set: start dtm-hq --demo serving ui/dist');
  mkdirSync(OUT, { recursive: true });
  const { page, pageErrors } = await signedIn(t, HQ, 'admin', 'admin-demo');
  await page.getByTestId('tab-completeness').waitFor();
  const found = [];
  let screens = 0;
  for (const lang of ['en', 'ar']) {
    if ((await page.evaluate(() => document.documentElement.lang)) !== lang) await page.getByTestId('lang-toggle').click();
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      const check = async (name) => {
        await settle(page);
        screens += 1;
        await page.screenshot({ path: join(OUT, `${name}-${lang}-${size.name}.png`), fullPage: true });
        for (const p of await page.evaluate(problems, lang)) found.push(`${name} (${lang}, ${size.width}×${size.height}): ${p}`);
      };
      for (const tab of TABS) {
        await page.getByTestId(`tab-${tab}`).click();
        await check(tab);
      }
      // A submission opened from the review queue.
      await page.getByTestId('tab-completeness').click();
      await page.getByTestId('round-picker').selectOption('R1');
      await page.getByTestId('row-LY021104').click();
      await page.locator('#review-title').waitFor();
      await check('review');
      await page.getByTestId('review-back').click();
      await page.getByTestId('tab-completeness').waitFor();
    }
  }
  assert.ok(screens >= 48, `every screen in both languages at both sizes (${screens})`);
  assert.deepEqual(found, [], `screens that overflow or are not translated:\n${found.join('\n')}`);
  assert.deepEqual(pageErrors, [], 'the pages threw nothing');
});
