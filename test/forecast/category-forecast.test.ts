// The served next-category distribution through the API: interestForecast's `categories` come
// from the model's shipped category forecaster (category.json) and equal training's Python
// distribution (category-parity.json) for the same history, on the model path and the
// fallbacks alike; `categoryStrategy` names the forecaster.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForecastEngine } from '../../src/forecast/engine.js';
import { importDiginetica } from '../../src/import/diginetica.js';
import { Model } from '../../src/inference/model.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import { retrievalSettings } from '../../src/db/retrieval.js';
import { backends, type Backend } from '../helpers/backends.js';
import { openForecastFixture } from '../helpers/forecast.js';
import { tempDir } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const ANONYMOUS = `query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e, first: 5) {
  strategy categoryStrategy categoryStrategyDetail
  categories(first: 10) { probability category { id } } } }`;

interface Parity {
  forecaster: string;
  rule: string | null;
  cases: {
    events: { itemId: string; occurredAt: string | null }[];
    probabilities: number[];
  }[];
}
interface Spec {
  categories: string[];
  itemCategories: Record<string, number>;
  anchor?: string | null;
}

const read = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

interface Served {
  strategy: string;
  categoryStrategy: string;
  categoryStrategyDetail: string | null;
  categories: { probability: number; category: { id: string } }[];
}

/**
 * Every parity case through the API: the forecaster named, and the served categories the
 * Python ranking's (leaving out categories this database lacks) with its probabilities.
 * `complete`: every category exists here, so the served ten are exactly Python's first ten.
 */
async function checkCases(
  server: TestServer,
  dir: string,
  complete: boolean,
): Promise<Set<string>> {
  // the item model serves a history with an item it knows, the popularity fallback the others
  const known = new Set(read<{ items: string[] }>(`${dir}/vocab.json`).items);
  const parity = read<Parity>(`${dir}/category-parity.json`);
  const spec = read<Spec>(`${dir}/category.json`);
  const strategies = new Set<string>();
  for (const c of parity.cases) {
    const res = await server.gql<{ interestForecast: Served }>(ANONYMOUS, {
      e: c.events.map((e) => ({
        itemId: e.itemId,
        type: 'VIEW',
        ...(e.occurredAt && { occurredAt: e.occurredAt }),
      })),
    });
    expect(res.errors).toBeUndefined();
    const f = res.data!.interestForecast;
    strategies.add(f.strategy);
    const modelPath = c.events.some((e) => known.has(e.itemId));
    // (a database of catalogue rows only, as the DIGINETICA one here, has no popularity yet)
    expect(f.strategy).toBe(modelPath ? 'SEQUENCE_MODEL' : 'CATALOGUE');
    expect(f.categoryStrategy).toBe(parity.forecaster);
    if (parity.forecaster === 'RULE') expect(f.categoryStrategyDetail).toMatch(/\w/);
    else if (spec.anchor) expect(f.categoryStrategyDetail).toMatch(/ first, then the mix$/);
    else expect(f.categoryStrategyDetail).toBeNull();
    const want = new Map(c.probabilities.map((p, k) => [spec.categories[k] as string, p]));
    const served = f.categories.map((x) => x.probability);
    expect(served.length).toBeGreaterThan(0);
    f.categories.forEach((x, k) => {
      const p = want.get(x.category.id) as number;
      expect(Math.abs(x.probability - p)).toBeLessThan(1e-5 + 1e-4 * p);
      if (k > 0) expect(x.probability).toBeLessThanOrEqual(served[k - 1] as number);
    });
    if (complete) {
      // every category is in this database: the served ten are Python's ten most likely
      expect(served.length).toBe(10);
      const tenth = [...want.values()].sort((a, b) => b - a)[9] as number;
      expect(served[9]).toBeGreaterThanOrEqual(tenth - 1e-5);
    }
  }
  return strategies;
}

describe.each(backends)('the category forecast through the API on $name', (backend) => {
  it('serves the Beauty forecaster the Python reference computes', async () => {
    const f = await openForecastFixture(backend);
    try {
      const strategies = await checkCases(f.server, 'models/beauty', false);
      expect(strategies).toEqual(new Set(['SEQUENCE_MODEL']));
    } finally {
      await f.close();
    }
  }, 300_000);

  it('serves the DIGINETICA forecaster, on items the item model never saw too', async () => {
    const s = await openDiginetica(backend);
    try {
      const strategies = await checkCases(s.server, 'models/diginetica', true);
      // the parity histories include ones on items the item model does not know
      expect(strategies).toEqual(new Set(['SEQUENCE_MODEL', 'CATALOGUE']));
    } finally {
      await s.close();
    }
  }, 300_000);
});

describe.each(backends)(
  'a forecast with no event the category forecaster reads on $name',
  (backend) => {
    let f: Awaited<ReturnType<typeof openForecastFixture>>;
    beforeAll(async () => {
      f = await openForecastFixture(backend, { users: 20 });
    }, 120_000);
    afterAll(async () => f?.close());

    it("says the popularity fallback's categories are served when no event can be read", async () => {
      const res = await f.server.gql<{ interestForecast: Served }>(
        `{ interestForecast(recentEvents: [{ type: SEARCH }]) { strategy categoryStrategy categoryStrategyDetail categories { category { id } } } }`,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.interestForecast.strategy).toBe('DATASET_POPULARITY');
      expect(res.data!.interestForecast.categoryStrategy).toBe('POPULARITY');
    });
  },
);

/**
 * A database holding one item of every category the DIGINETICA forecaster knows and every item
 * of its parity histories (the excerpt's own item → category rows), served by the shipped model.
 */
async function openDiginetica(
  backend: Backend,
): Promise<{ server: TestServer; close: () => Promise<void> }> {
  const dir = 'models/diginetica';
  const spec = read<Spec>(`${dir}/category.json`);
  const parity = read<Parity>(`${dir}/category-parity.json`);
  const rows = new Map<string, number>();
  for (const [item, c] of Object.entries(spec.itemCategories)) {
    if (![...rows.values()].includes(c)) rows.set(item, c);
  }
  for (const c of parity.cases) {
    for (const e of c.events) rows.set(e.itemId, spec.itemCategories[e.itemId] as number);
  }
  const raw = (id: string) => id.slice(id.indexOf(':') + 1).replace(/^c/, '');
  const file = path.join(await tempDir(), 'product-categories.csv');
  await writeFile(
    file,
    'itemId;categoryId\n' +
      [...rows].map(([item, c]) => `${raw(item)};${raw(spec.categories[c - 1]!)}`).join('\n') +
      '\n',
  );
  const { db, dispose } = await backend.open(retrievalSettings(100));
  await importDiginetica(db, [file]);
  const model = await Model.load(dir, 'cpu', 1);
  await syncItemEmbeddings(db, model);
  const engine = new ForecastEngine(db, model, {
    batching: { maxBatch: 64, maxDelayMs: 2, maxQueue: 1024 },
    retrieval: { candidates: 100, efSearch: 100, successors: 100 },
  });
  const server = await startServer(db, {}, { engine });
  return {
    server,
    async close() {
      await server.close();
      await engine.close();
      await model.release();
      await dispose();
    },
  };
}
