// The dashboard in a real browser (Debian's chromium, playwright-core) over a gateway with the
// shipped model and a real Beauty slice: a real shopper's events, forecast with reasons and
// category chart, timeline and drift; the model view's offline metrics and live counters; no
// console errors, nothing asked of another host. SCREENSHOT=<file.png|.jpg> saves the page.
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/security/keys.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { haveBrowser, launch, watch } from './browser.js';

describe.runIf(haveBrowser)('the dashboard in chromium', () => {
  let f: ForecastFixture;
  let browser: Browser;
  beforeAll(async () => {
    f = await openForecastFixture(backends[0]!, { users: 60 });
    browser = await launch();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  it("shows a real shopper's forecast, timeline and the model's figures", async () => {
    const base = f.server.url.replace(/\/graphql$/, '');
    // the slice's longest history: enough events for a drift score
    const line = [...f.lines].sort((a, b) => b.split(' ').length - a.split(' ').length)[0]!;
    const [user, ...items] = line.split(' ');
    const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
    const { errors, elsewhere } = watch(page, base);
    await page.goto(`${base}/dashboard?user=beauty:${user}`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });

    // the shopper's newest events are their real ones, newest first
    const events = await page.locator('table.events tbody tr').allInnerTexts();
    expect(events.length).toBe(Math.min(10, items.length));
    expect(events[0]).toContain(`beauty:${items[items.length - 1]}`);
    // the forecast: 10 items, each with reasons, and the category chart
    const forecast = await f.server.gql(
      `query($u: ID!) { interestForecast(userId: $u, first: 10) { items { item { id } } } }`,
      { u: `beauty:${user}` },
    );
    const rows = await page.locator('table.items tbody tr').allInnerTexts();
    expect(rows).toHaveLength(10);
    forecast.data.interestForecast.items.forEach((it: { item: { id: string } }, k: number) =>
      expect(rows[k]).toContain(it.item.id),
    );
    expect(await page.locator('table.items li').count()).toBeGreaterThanOrEqual(10);
    expect(await page.locator('svg.chart rect.bar').count()).toBe(8);
    expect(await page.locator('table.timeline tbody tr').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('p.drift').count()).toBe(1);
    // the model view: the offline test figures of models/metrics.json and live counters
    const metrics = JSON.parse(readFileSync('models/metrics.json', 'utf8'))[
      'beauty-history-excluded'
    ];
    const modelRow = await page.locator('table.metrics tbody tr').first().innerText();
    expect(modelRow).toContain(metrics.model.test['HR@10'].toFixed(4));
    // the next-category forecasters' test figures (model.json metrics.category), the served first
    const category = JSON.parse(readFileSync('models/beauty/model.json', 'utf8')).metrics.category;
    const served = await page.locator('table.category-metrics tbody tr').first().innerText();
    expect(served).toContain('MODEL_MIX');
    expect(served).toContain(category.test.modelMix.top1.toFixed(4));
    expect(await page.locator('table.category-metrics tbody tr').count()).toBe(8);
    // counted after the page's own forecast (at least that one)
    const counters = await page.locator('table.counters').innerText();
    expect(counters).toMatch(/foresight_forecasts_total\s+[1-9]\d*/);

    const shot = process.env.SCREENSHOT;
    if (shot)
      await page.screenshot({
        path: shot,
        fullPage: true,
        ...(shot.endsWith('.jpg') && { quality: 60 }),
      });
    expect(errors, errors.join('\n')).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  }, 120_000);

  // Last: once a key exists, the fixture's gateway requires keys (AUTH=auto).
  it('asks for an API key once keys are required, and works with one', async () => {
    const base = f.server.url.replace(/\/graphql$/, '');
    const { token } = await createApiKey(f.db, { name: 'dash', scopes: ['read', 'metrics'] });
    // the gateway learns that a key exists within API_KEY_CACHE_MS (5 s)
    const anonymous = () =>
      fetch(f.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ about { version } }' }),
      }).then((r) => r.status);
    await expect.poll(anonymous, { timeout: 15_000, interval: 500 }).toBe(401);
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('#shopper p.error').innerText()).toContain('requires an API key');
    await page.fill('#key', token);
    await page.locator('#key').dispatchEvent('change'); // stores it and reloads
    await page.waitForLoadState('load');
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });
    await page.locator('table.items tbody tr').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('table.counters').innerText()).toMatch(/foresight_forecasts_total/);
    await page.close();
  }, 120_000);
});
