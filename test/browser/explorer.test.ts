// The offline explorer in a real browser (Debian's chromium, driven by playwright-core; no
// browser download): GraphiQL renders from the gateway's own assets, loads the schema from
// /graphql, runs an operation, asks no other host for anything and logs no console errors.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { haveBrowser, launch, watch } from './browser.js';

describe.runIf(haveBrowser)('the explorer in chromium', () => {
  let db: Db;
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    db = await openPglite(undefined);
    await migrate(db, { EMBEDDING_DIM: 64 }); // the API key check reads api_keys
    server = await startServer(db);
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await db?.close();
  });

  it('renders GraphiQL offline, loads the schema and runs an operation', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    const page = await browser.newPage();
    const { errors, elsewhere } = watch(page, base);
    const introspected = page.waitForResponse(
      (r) => r.url() === server.url && (r.request().postData() ?? '').includes('__schema'),
    );
    await page.goto(`${base}/explorer`);
    await page.locator('.graphiql-container').waitFor({ timeout: 30_000 });
    expect((await introspected).status()).toBe(200);
    // the examples are loaded into the editor; replace them with one operation and run it
    const editor = page.locator('.graphiql-query-editor .CodeMirror');
    await expect
      .poll(() => editor.innerText(), { timeout: 30_000 })
      .toContain('Example operations');
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('{ __typename }');
    await page.keyboard.press('Escape'); // close the autocompletion popup, if any
    // GraphiQL takes the editor's text into its state after a debounce (and stores it): run
    // only then, or the button would offer the examples' operations instead
    await expect
      .poll(() => page.evaluate(() => localStorage.getItem('graphiql:query')))
      .toBe('{ __typename }');
    const answered = page.waitForResponse(
      (r) => r.url() === server.url && (r.request().postData() ?? '').includes('__typename'),
    );
    await page.locator('.graphiql-execute-button').click();
    expect(await (await answered).json()).toEqual({ data: { __typename: 'Query' } });
    await expect
      .poll(() => page.locator('.graphiql-response').innerText(), { timeout: 10_000 })
      .toContain('"__typename": "Query"');
    expect(errors, errors.join('\n')).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  }, 90_000);
});
