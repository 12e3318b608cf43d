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
import { signedIn } from './session.mjs';

const HQ = process.env.DTM_HQ_URL;
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screens');
const SIZES = [
  { name: 'laptop', width: 1366, height: 768 },
  { name: 'tablet', width: 768, height: 1024 },
];
const TABS = ['completeness', 'conflicts', 'totals', 'map', 'trends', 'key', 'rounds', 'locations', 'people', 'devices', 'audit'];

/**
 * What on the page is wrong for a reader of `lang`: text cut or spilling out of its box,
 * a page wider than the window, and words in the other language where none belongs.
 * Runs in the page.
 */
function problems(lang) {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) out.push(`the page is ${root.scrollWidth}px wide in a ${root.clientWidth}px window`);
  const shown = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility === 'hidden') return false;
    }
    return el.getClientRects().length > 0;
  };
  const describe = (el) => `<${el.tagName.toLowerCase()}${el.dataset.testid ? ` data-testid=${el.dataset.testid}` : ''}${el.className && typeof el.className === 'string' ? ` class="${el.className}"` : ''}> "${el.textContent.trim().slice(0, 60)}"`;
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'svg', 'path', 'OPTION', 'SELECT', 'TEXTAREA', 'INPUT'].includes(el.tagName)) continue;
    const cs = getComputedStyle(el);
    // Boxes of a pixel or less are visually hidden on purpose (captions for screen readers).
    if (cs.display === 'inline' || cs.display === 'contents' || el.clientWidth <= 1) continue;
    if (cs.overflowX === 'auto' || cs.overflowX === 'scroll') continue; // scrolls by design
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || !shown(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1) out.push(`text overflows its box by ${el.scrollWidth - el.clientWidth}px: ${describe(el)}`);
  }
  // Words in the other language, outside what is marked as such on purpose.
  const other = lang === 'ar' ? 'en' : 'ar';
  const foreign = lang === 'ar' ? /[A-Za-z]{3,}/ : /[\u0600-\u06FF]/;
  // Names of standards, formats and sources, written as they are in both languages; and
  // values set inside a sentence between isolates (a person's name, a number), which are
  // what was entered, not the interface's words.
  const allowed =
    /\b(DTM|HXL|CSV|XLSX|JSON|PDF|IOM|OCHA|COD|HDX|OpenStreetMap|geoBoundaries|ODbL|MapLibre|OSM|Excel|P-code)\b|\.(csv|xlsx|json|pdf)\b|\bLY\d+\b|\bR\d+\b|[\u2066-\u2068][^\u2069]*\u2069/g;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    const text = n.textContent.replace(allowed, '');
    if (!foreign.test(text) || !el || !shown(el)) continue;
    if (['SCRIPT', 'STYLE'].includes(el.tagName)) continue;
    // Deliberately in the other language: marked so, what people wrote in whichever
    // language they wrote it (dir="auto": a name, a comment), or a left-to-right island
    // (a P-code, a username, a device id) inside Arabic.
    const marked = el.closest(
      `[lang="${other}"], [lang^="${other}-"], [dir="auto"]${lang === 'ar' ? ', [dir="ltr"], code' : ', [dir="rtl"]'}`,
    );
    if (marked) continue;
    out.push(`untranslated for ${lang}: "${n.textContent.trim().slice(0, 80)}" in ${describe(el)}`);
  }
  return [...new Set(out)];
}

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
