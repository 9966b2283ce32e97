// Debian's chromium driven by playwright-core (no browser download), with the flags that keep it
// off the network; `watch` collects a page's console errors and any request to another host.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Under CI a missing browser fails the suites instead of skipping them. */
export const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';
if (!haveBrowser) console.warn(`browser suites skipped: no ${CHROMIUM}`);

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export function watch(page: Page, base: string): { errors: string[]; elsewhere: string[] } {
  const errors: string[] = [];
  const elsewhere: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => !r.url().startsWith(base) && elsewhere.push(r.url()));
  return { errors, elsewhere };
}
