// What the dashboard's browser tests share: Debian's Chromium started as the suite
// starts it, and a person signed in through the login form.

import { chromium } from 'playwright-core';

/**
 * A page of the dashboard at `hq`, signed in as `username` in a window of `viewport`;
 * the browser closes when the test ends. `pageErrors` collects what the page threw.
 */
export async function signedIn(t, hq, username, password, viewport = { width: 1366, height: 768 }) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${hq}/`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('form.login button[type="submit"]').click();
  return { page, pageErrors };
}
