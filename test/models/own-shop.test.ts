// A shop's own data end to end, on both back-ends, as a new user would do it: the category tree
// and the catalogue through upsertCategories and upsertItems, and real DIGINETICA behaviour
// (views and purchases, with their dates) through recordEvents over HTTP under the shop's own id
// prefix, then `train.py --from-db`
// reads it back from the database, and the gateway serves the trained model: a MODEL forecast
// of the shop's own items, and a VIEW-only and a PURCHASE-only history scored differently.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { ForecastEngine } from '../../src/forecast/engine.js';
import { Model } from '../../src/inference/model.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import { backends, type Backend } from '../helpers/backends.js';
import { digineticaFixture, tempDirs } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { PYTHON } from '../helpers/python.js';
import { retrievalSettings } from '../../src/db/retrieval.js';

const RETRIEVAL = { candidates: 50, efSearch: 100, successors: 100 };
const dirs = tempDirs();
afterAll(() => dirs.removeAll());
const dir = dirs.make;
const csv = digineticaFixture;

const at = (day: string, offsetMs: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + Number(offsetMs)).toISOString();

/** The shop's events, as its storefront would send them: views and purchases with times. */
async function shopEvents(): Promise<Record<string, string | null>[]> {
  const views = (await csv('sample-train-item-views.csv')).map(([sess, user, item, tf, day]) => ({
    type: 'VIEW',
    userId: user === 'NA' ? null : `shop:u${user}`,
    sessionId: `shop:v${sess}`,
    itemId: `shop:${item}`,
    occurredAt: at(day!, tf!),
  }));
  const purchases = (await csv('train-purchases.csv')).map(([sess, user, tf, day, , item]) => ({
    type: 'PURCHASE',
    userId: user === 'NA' ? null : `shop:u${user}`,
    sessionId: `shop:p${sess}`,
    itemId: `shop:${item}`,
    occurredAt: at(day!, tf!),
  }));
  // A session belongs to one shopper: the source leaves the user out of some of its lines.
  const owner = new Map<string, string>();
  for (const e of [...views, ...purchases])
    if (e.userId && !owner.has(e.sessionId)) owner.set(e.sessionId, e.userId);
  return [...views, ...purchases]
    .sort((a, b) => a.occurredAt.localeCompare(b.occurredAt))
    .map((e, k) => ({ clientEventId: `shop-${k}`, ...e, userId: owner.get(e.sessionId) ?? null }));
}

/** A migrated database of the back-end; PGlite in a data directory, which the training's
 * exporter (another process) opens once this one has closed it. */
async function open(backend: Backend): Promise<{
  db: Db;
  reopen: () => Promise<Db>;
  env: Record<string, string>;
  dispose: () => Promise<void>;
}> {
  const settings = retrievalSettings(RETRIEVAL.efSearch);
  if (backend.name === 'postgres') {
    const { db, url, dispose } = await backend.open(settings);
    return { db, reopen: async () => db, env: { DATABASE_URL: url! }, dispose };
  }
  const dataDir = await dir();
  const db = await openPglite(dataDir, settings);
  await migrate(db, { EMBEDDING_DIM: 64 });
  let current = db;
  return {
    db,
    reopen: async () => (current = await openPglite(dataDir, settings)),
    env: { DATA_DIR: dataDir, DATABASE_URL: '' },
    dispose: () => current.close(),
  };
}

const FORECAST = `query($u: ID, $events: [AnonymousEventInput!]) {
  interestForecast(userId: $u, recentEvents: $events, first: 10) {
    strategy modelVersion basedOnEvents items { score item { id } }
  }
}`;

describe.each(backends)("a shop's own data on $name", (backend) => {
  it('is recorded, trained from the database and served', { timeout: 300_000 }, async () => {
    const { db, reopen, env, dispose } = await open(backend);
    let server: TestServer | undefined;
    let model: Model | undefined;
    let engine: ForecastEngine | undefined;
    try {
      // 1. Catalogue and behaviour through the API: the category tree, then the items in
      //    batches of 500 (upsertItems), then the events
      const events = await shopEvents();
      const items = [...new Set(events.map((e) => e.itemId!))];
      const categoryOf = new Map(
        (await csv('product-categories.csv')).map(([i, c]) => [`shop:${i}`, `shop:c${c}`]),
      );
      const categories = [...new Set(items.map((i) => categoryOf.get(i)).filter(Boolean))];
      // The gateway as shipped: the Beauty model, which covers no `shop:` id
      const beauty = await Model.load('models/beauty', 'cpu', 1);
      const shipped = new ForecastEngine(db, beauty, {
        batching: { maxBatch: 16, maxDelayMs: 1, maxQueue: 256 },
        retrieval: RETRIEVAL,
      });
      server = await startServer(db, {}, { engine: shipped });
      for (let k = 0; k < categories.length; k += 500) {
        const res = await server.gql(
          `mutation($c: [CategoryInput!]!) { upsertCategories(categories: $c) { created } }`,
          { c: categories.slice(k, k + 500).map((id) => ({ id, name: `category ${id!.slice(6)}` })) },
        );
        expect(res.errors).toBeUndefined();
      }
      for (let k = 0; k < items.length; k += 500) {
        const res = await server.gql(
          `mutation($i: [ItemInput!]!) { upsertItems(items: $i) { created } }`,
          {
            i: items.slice(k, k + 500).map((id) => ({
              id,
              title: `item ${id}`,
              categoryIds: categoryOf.has(id) ? [categoryOf.get(id)] : [],
            })),
          },
        );
        expect(res.errors).toBeUndefined();
        expect(res.data.upsertItems.created).toBe(Math.min(500, items.length - k));
      }
      for (let k = 0; k < events.length; k += 200) {
        const res = await server.gql(
          `mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }`,
          { e: events.slice(k, k + 200) },
        );
        expect(res.errors).toBeUndefined();
        expect(res.data.recordEvents.accepted).toBe(Math.min(200, events.length - k));
      }
      // No model covers the shop yet: never an empty answer (the shop's own popularity)
      const user = events.find((e) => e.userId && e.type === 'VIEW')!.userId!;
      const before = await server.gql(FORECAST, { u: user });
      expect(before.data.interestForecast.strategy).toBe('DATASET_POPULARITY');
      expect(before.data.interestForecast.items.length).toBe(10);
      await server.close();
      server = undefined;
      shipped.close();
      await beauty.release();
      if (backend.name === 'pglite') await db.close(); // the exporter opens the directory

      // 2. Train from the database
      const out = await dir();
      const run = spawnSync(
        PYTHON,
        [
          'models/training/train.py',
          '--from-db', '--dataset', 'shop', '--split', 'loo', '--out', out,
          '--max-steps', '5', '--epochs', '1', '--content-epochs', '1', '--threads', '1',
        ],
        { encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } },
      );
      expect(run.status, run.stderr + run.stdout).toBe(0);
      const manifest = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
      expect(manifest.dataset).toBe('shop');
      expect(manifest.observed).toEqual({ eventTypes: ['VIEW', 'PURCHASE'], timeGaps: true });

      // 3. Serve it
      const served = await reopen();
      model = await Model.load(out, 'cpu', 1);
      await syncItemEmbeddings(served, model);
      engine = new ForecastEngine(served, model, {
        batching: { maxBatch: 16, maxDelayMs: 1, maxQueue: 256 },
        retrieval: RETRIEVAL,
      });
      server = await startServer(served, {}, { engine });
      const forecast = (await server.gql(FORECAST, { u: user })).data.interestForecast;
      expect(forecast).toMatchObject({ strategy: 'SEQUENCE_MODEL', modelVersion: model.version });
      expect(forecast.items).toHaveLength(10);
      expect(forecast.items.every((i: { item: { id: string } }) => i.item.id.startsWith('shop:'))).toBe(
        true,
      );
      // The same items viewed or bought: the model observed both types, so they score apart
      const known = items.filter((i) => model!.knows(i)).slice(0, 3);
      const history = (type: string) =>
        known.map((itemId, k) => ({ itemId, type, occurredAt: `2016-05-0${k + 1}T10:00:00Z` }));
      const viewed = (await server.gql(FORECAST, { events: history('VIEW') })).data.interestForecast;
      const bought = (await server.gql(FORECAST, { events: history('PURCHASE') })).data
        .interestForecast;
      expect(viewed.strategy).toBe('SEQUENCE_MODEL');
      expect(bought.strategy).toBe('SEQUENCE_MODEL');
      const scores = (f: { items: { score: number; item: { id: string } }[] }) =>
        f.items.map((i) => `${i.item.id}:${i.score.toFixed(6)}`);
      expect(scores(viewed)).not.toEqual(scores(bought));
    } finally {
      await server?.close();
      await engine?.close();
      await model?.release();
      await dispose();
    }
  });
});
