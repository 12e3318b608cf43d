// What the browser tests check on any page of the dashboard, whatever it shows.

/**
 * What on the page is wrong for a reader of `lang`: text cut or spilling out of its box,
 * a page wider than the window, and words in the other language where none belongs.
 * Runs in the page.
 */
export function problems(lang) {
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
