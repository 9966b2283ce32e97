// docs/your-shop.md followed as written, on both back-ends: the DIGINETICA excerpts onboarded
// through the catalogue API (upsertCategories), the shop importer (catalogue, history) and
// recordEvents, with no SQL; a model trained with `npm run train -- --from-db`, passed by the
// rollout gate and serving MODEL forecasts of the shop over HTTP; an undertrained model refused
// by the gate. Each shell command and GraphQL operation is taken from the page itself (the
// block after `<!-- your-shop: NAME -->`), so the page cannot drift from what works.
// YOUR_SHOP_TIMINGS=1 prints what each step cost.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { retrievalSettings } from '../../src/db/retrieval.js';
import { startServing, type Serving } from '../../src/serving/start.js';
import { backends, type Backend } from '../helpers/backends.js';
import { DIGINETICA_DIR, tempDirs } from '../helpers/fixtures.js';
import { PYTHON } from '../helpers/python.js';
import { startServer } from '../helpers/server.js';

const DOC = fs.readFileSync('docs/your-shop.md', 'utf8');

/** The code of the fenced block after `<!-- your-shop: name -->`. */
function step(name: string): string {
  const at = DOC.indexOf(`<!-- your-shop: ${name} -->`);
  if (at < 0) throw new Error(`docs/your-shop.md has no step ${name}`);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(DOC.slice(at));
  if (!block) throw new Error(`docs/your-shop.md: no code block after step ${name}`);
  return block[1] as string;
}

/** Training needs Debian's python3-torch (CI installs it, .ci/run). */
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' }).status === 0;

const dirs = tempDirs();
afterAll(() => dirs.removeAll());

const rows = (file: string) =>
  fs
    .readFileSync(path.join(DIGINETICA_DIR, file), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => l.split(';'));

/** The categories of the products with events, as step 1 sends them for DIGINETICA. */
function shopCategories(): { id: string; name: string }[] {
  const items = new Set([
    ...rows('sample-train-item-views.csv').map((r) => r[2]),
    ...rows('train-purchases.csv').map((r) => r[5]),
  ]);
  const ids = new Set(
    rows('product-categories.csv')
      .filter((r) => items.has(r[0]))
      .map((r) => r[1] as string),
  );
  return [...ids].sort().map((c) => ({ id: `shop:${c}`, name: `category ${c}` }));
}

/** The views sample as a storefront sends it (step 4): day + offset, sessions `shop:v<id>`. */
function liveViews(): Record<string, string | null>[] {
  const views = rows('sample-train-item-views.csv').map(([sess, user, item, tf, day], k) => ({
    clientEventId: `web-${k}`,
    type: 'VIEW',
    userId: user === 'NA' ? null : `shop:${user}`,
    sessionId: `shop:v${sess}`,
    itemId: `shop:${item}`,
    occurredAt: new Date(Date.parse(`${day}T00:00:00Z`) + Number(tf)).toISOString(),
  }));
  // A session belongs to one shopper: the sample leaves the user out of some of its lines.
  const owner = new Map<string, string>();
  for (const v of views) if (v.userId && !owner.has(v.sessionId)) owner.set(v.sessionId, v.userId);
  return views.map((v) => ({ ...v, userId: owner.get(v.sessionId) ?? null }));
}

interface Store {
  db: Db;
  /** Closes a PGlite database so that another process (importer, training) may open it. */
  release(): Promise<void>;
  reopen(): Promise<Db>;
  env: Record<string, string>;
  dispose(): Promise<void>;
}

async function open(backend: Backend): Promise<Store> {
  const settings = retrievalSettings(100);
  if (backend.name === 'postgres') {
    const { db, url, dispose } = await backend.open(settings);
    return {
      db,
      release: async () => {},
      reopen: async () => db,
      env: { DATABASE_URL: url! },
      dispose,
    };
  }
  const dataDir = await dirs.make();
  let db: Db | null = await openPglite(dataDir, settings);
  await migrate(db, { EMBEDDING_DIM: 64 });
  const store: Store = {
    db,
    release: async () => {
      await db?.close();
      db = null;
    },
    reopen: async () => (store.db = db ??= await openPglite(dataDir, settings)),
    env: { DATA_DIR: dataDir, DATABASE_URL: '' },
    dispose: async () => {
      await db?.close();
    },
  };
  return store;
}

/** The gateway as `npm start` runs it (MODEL_DIRS=models/beauty), over `db`. */
async function gateway(db: Db, env: Record<string, string>) {
  const config = loadConfig({
    ...env,
    MODEL_DIRS: 'models/beauty',
    LOG_LEVEL: 'silent',
    AUTO_IMPORT: 'false',
  });
  const serving = (await startServing(db, config)) as Serving;
  const server = await startServer(db, {}, {
    registry: serving.registry,
    rollouts: serving.rollouts,
  });
  return {
    server,
    close: async () => {
      await server.close();
      await serving.close();
    },
  };
}

describe.skipIf(!hasTorch).each(backends)('docs/your-shop.md on $name', (backend) => {
  it('onboards DIGINETICA without SQL, trains, passes the gate and serves MODEL forecasts', { timeout: 2_400_000 }, async () => {
    const store = await open(backend);
    const shop = await dirs.make();
    const costs: [string, string][] = [];
    const timed = async <T>(what: string, run: () => Promise<T> | T): Promise<T> => {
      const started = performance.now();
      const out = await run();
      costs.push([what, `${((performance.now() - started) / 1000).toFixed(1)} s`]);
      return out;
    };
    /** Runs a shell step of the page as written, with its variables set. */
    const sh = (name: string) => {
      const run = spawnSync('bash', ['-eo', 'pipefail', '-c', step(name)], {
        encoding: 'utf8',
        timeout: 1_200_000,
        env: { ...process.env, ...store.env, SHOP: shop, D: DIGINETICA_DIR, LOG_LEVEL: 'warn' },
      });
      expect(run.status, `${name}: ${run.stderr}\n${run.stdout}`).toBe(0);
      const rate = /([\d.]+) s, (\d+) rows\/s/.exec(run.stdout);
      if (rate) costs.push([`${name}: importer's own figure`, `${rate[1]} s, ${rate[2]} rows/s`]);
      return run.stdout;
    };
    let gw: Awaited<ReturnType<typeof gateway>> | undefined;
    const stop = async () => {
      await gw?.close();
      gw = undefined;
      await store.release(); // PGlite: one process per data directory
    };
    const start = async () => (gw = await gateway(await store.reopen(), store.env));
    const gql = async (name: string, variables: Record<string, unknown>) =>
      gw!.server.gql(step(name), variables);

    try {
      // 1. Categories through the catalogue API
      await start();
      const categories = shopCategories();
      expect(categories).toHaveLength(824);
      await timed('1. upsertCategories (824)', async () => {
        for (let k = 0; k < categories.length; k += 500) {
          const res = await gql('categories', { categories: categories.slice(k, k + 500) });
          expect(res.errors).toBeUndefined();
          expect(res.data.upsertCategories.created).toBe(Math.min(500, categories.length - k));
        }
      });
      await stop();

      // 2. Catalogue and 3. history through the shop importer
      const catalogue = await timed('2. catalogue import (15,936 rows)', () => sh('catalogue'));
      expect(catalogue).toMatch(/categories\s+824 read\s+0 new/); // step 1's, found by id
      expect(catalogue).toMatch(/items\s+15936 read\s+15936 new/);
      expect(catalogue).toMatch(/rejected rows\s+0/);
      const history = await timed('3. history import (18,025 rows)', () => sh('history'));
      expect(history).toMatch(/events\s+18025 read\s+18025 new/);
      expect(history).toMatch(/rejected rows\s+0/);

      // Before any model of the shop: its own popularity
      await start();
      const before = await gql('forecast', { user: 'shop:18278' });
      expect(before.errors).toBeUndefined();
      expect(before.data.interestForecast.strategy).toBe('DATASET_POPULARITY');

      // 4. Live events
      const views = liveViews();
      await timed('4. recordEvents (12,391 views, 200 per call)', async () => {
        for (let k = 0; k < views.length; k += 200) {
          const res = await gql('live-events', { events: views.slice(k, k + 200) });
          expect(res.errors).toBeUndefined();
          expect(res.data.recordEvents.accepted).toBe(Math.min(200, views.length - k));
        }
      });
      await stop();

      // 5. Training (and the undertrained model of step 6)
      await timed('5. train (at most 10 epochs)', () => sh('train'));
      await timed('6. train undertrained (5 steps)', () => sh('undertrained'));
      const good = path.join(shop, 'models/shop-1');
      const manifest = JSON.parse(fs.readFileSync(path.join(good, 'model.json'), 'utf8'));
      expect(manifest).toMatchObject({ dataset: 'shop' });
      expect(manifest.observed).toEqual({ eventTypes: ['VIEW', 'PURCHASE'], timeGaps: true });
      costs.push(['5. training seconds (model.json)', String(manifest.training.seconds)]);
      const t = manifest.metrics.test;
      costs.push([
        '5. test targets; model NDCG@10 / HR@10',
        `${t.users}; ${t['NDCG@10'].toFixed(4)} / ${t['HR@10'].toFixed(4)}`,
      ]);

      // 6. The gate refuses the undertrained model, then passes the trained one
      await start();
      const refused = await gql('rollout', { directory: path.join(shop, 'models/shop-0') });
      expect(refused.data).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe('MODEL_BELOW_BASELINE');
      expect(refused.errors?.[0]?.message).toMatch(
        /does not beat the best baseline on its own test targets \(\d+ targets\): NDCG@10 /,
      );
      const rolled = await timed('6. rolloutModel', () => gql('rollout', { directory: good }));
      expect(rolled.errors).toBeUndefined();
      expect(rolled.data.rolloutModel).toMatchObject({
        dataset: 'shop',
        from: 'popularity-baseline',
        to: manifest.version,
        gate: { passed: true, outcome: 'BEATS_BASELINES' },
      });
      costs.push(['6. gate', rolled.data.rolloutModel.gate.detail]);
      expect(rolled.data.rolloutModel.embeddingsWritten).toBe(15936);

      // 7. First forecasts: the trained model, the shop's own products
      const forecast = (await gql('forecast', { user: 'shop:18278' })).data.interestForecast;
      expect(forecast).toMatchObject({ strategy: 'SEQUENCE_MODEL', modelVersion: manifest.version });
      expect(forecast.items).toHaveLength(10);
      for (const i of forecast.items) expect(i.item.id).toMatch(/^shop:\d+$/);
      expect(forecast.items[0].item.categories[0].name).toMatch(/^category \d+$/);
      // the next categories come from the forecaster training chose for the shop on validation
      const chosen = manifest.metrics.category;
      expect(chosen.forecaster, JSON.stringify(chosen).slice(0, 300)).toMatch(
        /^(MODEL_MIX|RULES_MIX|RULE)$/,
      );
      expect(forecast.categoryStrategy).toBe(chosen.forecaster);
      expect(forecast.categories).toHaveLength(3);
      for (const c of forecast.categories) expect(c.category.name).toMatch(/^category \d+$/);
      const mix = chosen.forecaster === 'MODEL_MIX' ? 'modelMix' : 'rulesMix';
      const shipped = chosen.test[chosen.rule ?? (chosen.anchor ? `${mix}Anchored` : mix)];
      const last = chosen.test.last;
      // a mix anchored on a rule ranks that rule's choice first: the same top-1, exactly
      if (chosen.anchor) expect(shipped.top1).toBe(chosen.test[chosen.anchor].top1);
      costs.push([
        '7. category forecaster; test top-1 / top-5 (last event rule)',
        `${chosen.forecaster}${chosen.rule ? ` ${chosen.rule}` : ''}` +
          `${chosen.anchor ? ` anchored on ${chosen.anchor}` : ''}; ${shipped.top1.toFixed(3)} / ` +
          `${shipped.top5.toFixed(3)} (${last.top1.toFixed(3)} / ${last.top5.toFixed(3)})`,
      ]);
      // The dashboard's model view: the serving model's own figures
      const summary = (await (
        await fetch(gw!.server.url.replace(/graphql$/, 'dashboard/model.json?dataset=shop'))
      ).json()) as { version: string; source: string; rows: { method: string }[] };
      expect(summary).toMatchObject({ version: manifest.version, source: 'model.json' });
      expect(summary.rows.map((r) => r.method)).toContain('last-item transition counts');
    } finally {
      await gw?.close();
      await store.dispose();
      if (process.env.YOUR_SHOP_TIMINGS)
        console.info(
          `docs/your-shop.md on ${backend.name}:\n` +
            costs.map(([k, v]) => `  ${k.padEnd(44)} ${v}`).join('\n'),
        );
    }
  });
});
