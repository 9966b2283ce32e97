// The dashboard in a real browser (Debian's chromium, playwright-core) over a gateway with the
// shipped model and a real Beauty slice with its titles and category names: a real shopper's
// events and forecast by product name, reasons that name products, the category chart by
// category name, timeline and drift; the model view's offline metrics and the live summary; no
// console errors, nothing asked of another host. SCREENSHOTS=<dir> saves two PNGs.
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
    f = await openForecastFixture(backends[0]!, { users: 60, names: true });
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
    const page = await browser.newPage({ viewport: { width: 1000, height: 1600 } });
    const { errors, elsewhere } = watch(page, base);
    await page.goto(`${base}/dashboard?user=beauty:${user}`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });

    // the shopper's newest events are their real ones, newest first, by product title
    const title = async (id: string) =>
      (await f.server.gql(`query($id: ID!) { item(id: $id) { title } }`, { id })).data.item
        .title as string;
    const events = await page.locator('table.events tbody tr').allInnerTexts();
    expect(events.length).toBe(Math.min(10, items.length));
    expect(events[0]).toContain(await title(`beauty:${items[items.length - 1]}`));
    // the forecast: 10 products by title, with the reasons the API gives, naming products
    const forecast = await f.server.gql(
      `query($u: ID!) { interestForecast(userId: $u, first: 10, explain: true) {
        items { item { id title } reasons { kind message event { item { title } } category { name } } }
        categories(first: 8) { probability category { name } } } }`,
      { u: `beauty:${user}` },
    );
    const served = forecast.data.interestForecast as {
      items: {
        item: { id: string; title: string };
        reasons: {
          kind: string;
          message: string;
          event: { item: { title: string } } | null;
          category: { name: string } | null;
        }[];
      }[];
      categories: { probability: number; category: { name: string } }[];
    };
    const rows = await page.locator('table.items tbody tr').allInnerTexts();
    expect(rows).toHaveLength(10);
    served.items.forEach((it, k) => {
      expect(rows[k]).toContain(it.item.title);
      expect(rows[k]).not.toContain(it.item.id);
      for (const r of it.reasons) expect(rows[k]).toContain(r.message);
    });
    // a reason that names the product or category it rests on, as people name them
    const named = served.items
      .flatMap((it) => it.reasons)
      .find((r) => r.event?.item.title || r.category?.name);
    expect(named).toBeDefined();
    expect(named!.message).toContain(named!.event?.item.title ?? named!.category!.name);
    expect(named!.message).not.toMatch(/beauty:\d|attribute \d/);
    expect(
      await page.locator('table.items li', { hasText: named!.message }).count(),
    ).toBeGreaterThan(0);
    // the category chart: one bar per category, labelled by name with its share
    expect(await page.locator('svg.chart rect.bar').count()).toBe(8);
    const labels = await page.locator('svg.chart text.label').allTextContents();
    expect(labels).toEqual(served.categories.map((c) => c.category.name));
    for (const name of labels) expect(name).not.toMatch(/^attribute \d+$/);
    // each forecast's strategy, in words
    expect(await page.locator('p.strategy').innerText()).toContain(
      "the sequence model, from the shopper's own history",
    );
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
    const servedKey: string =
      category.rule ?? (category.forecaster === 'MODEL_MIX' ? 'modelMix' : 'rulesMix');
    const servedRow = await page.locator('table.category-metrics tbody tr').first().innerText();
    expect(servedRow).toContain('served');
    expect(servedRow).toContain(category.test[servedKey].top1.toFixed(4));
    // every forecaster measured on test but catnet alone, and the item model's head if measured
    const measured = Object.keys(category.test).filter((k) => k !== 'catnet').length;
    expect(await page.locator('table.category-metrics tbody tr').count()).toBe(
      measured + (category.sequenceModelHead ? 1 : 0),
    );
    // Beauty has a category tree: one row per depth, the roots first
    const levels = page.locator('table.category-levels tbody tr');
    expect(await levels.count()).toBe(category.treeLevels.levels.length);
    expect(await levels.first().innerText()).toContain(
      category.treeLevels.levels[0].served.top1.toFixed(4),
    );
    // the live summary, counted after the page's own forecast (at least that one), in words;
    // after a second read of /metrics, a rate
    const live = page.locator('dl.live');
    expect(await live.innerText()).toMatch(/Forecasts served\s+[1-9][\d,]* since start/);
    expect(await live.innerText()).toMatch(/forecasts per model batch on average/);
    expect(await live.innerText()).not.toContain('foresight_');
    await expect
      .poll(() => live.innerText(), { timeout: 15_000, interval: 500 })
      .toMatch(/\d+\.\d\d per second over the last 5 s/);

    // SCREENSHOTS=<dir>: the forecast and the live summary as PNGs (docs/dashboard.md)
    const shots = process.env.SCREENSHOTS;
    if (shots) {
      await page
        .locator('section.forecast')
        .screenshot({ path: `${shots}/dashboard-forecast.png` });
      await page.locator('#live').screenshot({ path: `${shots}/dashboard-live.png` });
    }
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
    expect(await page.locator('dl.live').innerText()).toMatch(/Forecasts served/);
    await page.close();
  }, 120_000);
});
