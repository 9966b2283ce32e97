// Cold items (forecast/cold-items.ts): the features the gateway computes equal training's
// (cold_items.py's `cold_features`, on real pairs of a Beauty model trained with held-out items:
// test/fixtures/cold-parity.json), and a model with scorer.coldItems ranks the catalogue's cold
// items by them, filters and exclusions applied (the fake model of engine.test.ts, scores known
// by construction).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { retrievalSettings } from '../../src/db/retrieval.js';
import { ColdItemScorer } from '../../src/forecast/cold-items.js';
import { ForecastEngine } from '../../src/forecast/engine.js';
import type { Forecast } from '../../src/forecast/forecast.js';
import { ExactTop, InnerProducts } from '../../src/inference/exact-top.js';
import { COLD_FEATURES, type ColdItemsManifest } from '../../src/inference/manifest.js';
import { ort } from '../../src/inference/onnx.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import { backends } from '../helpers/backends.js';
import { FAKE_DIM, FakeModel } from '../helpers/fake-model.js';
import {
  A1,
  A2,
  MODEL_CATEGORIES,
  NO_FILTER,
  TRANSITIONS,
  ids,
  importToyShop,
  request,
} from '../helpers/toy-shop.js';

interface Parity {
  tolerance: number;
  features: string[];
  neighbours: [number, number];
  temperature: number;
  recentItems: number;
  dim: number;
  content: number[][];
  itemAttributes: number[][];
  rows: {
    userState: number[];
    recent: number[];
    embedding: number[];
    attributes: number[];
    addends: Record<string, number>;
    features: number[];
  }[];
}

describe('cold-item features', () => {
  const parity = JSON.parse(readFileSync('test/fixtures/cold-parity.json', 'utf8')) as Parity;
  const { dim } = parity;
  const numItems = parity.content.length;
  const content = new Float32Array((numItems + 1) * dim);
  parity.content.forEach((v, k) => content.set(v, (k + 1) * dim));
  const model = {
    manifest: {
      dim,
      numItems,
      numAttributes: Math.max(
        ...parity.itemAttributes.flat(),
        ...parity.rows.flatMap((r) => r.attributes),
      ),
    },
    attributeIndexOf: (id: string) => Number(id),
    itemAt: (k: number) => ({ attributeIds: (parity.itemAttributes[k - 1] ?? []).map(String) }),
  };
  // one scorer per feature: weight 1 on it alone, so its score is the feature
  const single = (f: number) =>
    new ColdItemScorer(
      {
        features: [...COLD_FEATURES],
        weights: COLD_FEATURES.map((_, k) => (k === f ? 1 : 0)),
        boost: 0,
        neighbours: parity.neighbours,
        temperature: parity.temperature,
        recentItems: parity.recentItems,
      },
      content,
      model,
    );

  // the served arithmetic: neighbours, inner products and cosines on ONNX Runtime's Gemm
  let session: InnerProducts;
  let search: ExactTop;
  beforeAll(async () => {
    session = await InnerProducts.open(dim);
    search = await ExactTop.open(dim);
  });
  afterAll(async () => {
    await session.release();
    await search.release();
  });
  const matrix = (items: Float32Array) =>
    new ort.Tensor('float32', items, [items.length / dim, dim]);
  const products = (queries: Float32Array, items: Float32Array) =>
    session.run(queries, matrix(items));
  const top = (queries: Float32Array, items: Float32Array, bias: Float32Array, k: number) =>
    search.top(queries, matrix(items), new ort.Tensor('float32', bias, [1, bias.length]), k);

  it('are the features training computed, for every fixture row', async () => {
    expect(parity.features).toEqual([...COLD_FEATURES]);
    expect(parity.rows.length).toBeGreaterThan(0);
    for (const [f, name] of COLD_FEATURES.entries()) {
      const scorer = single(f);
      for (const [r, row] of parity.rows.entries()) {
        const pool = await scorer.pool(
          [
            {
              id: `row-${r}`,
              embedding: Float32Array.from(row.embedding),
              categoryIds: row.attributes.map(String),
            },
          ],
          top,
        );
        const addends = new Map(Object.entries(row.addends).map(([j, a]) => [Number(j), a]));
        const [inputs] = await scorer.prepare(
          pool,
          Float32Array.from(row.userState),
          [row.recent],
          products,
        );
        const [got] = scorer.scores(pool, inputs!, addends);
        expect(
          Math.abs(got! - row.features[f]!),
          `${name} of row ${r}: ${got} vs ${row.features[f]}`,
        ).toBeLessThan(parity.tolerance * Math.max(1, Math.abs(row.features[f]!)));
      }
    }
  });

  it("compute an input item's cosines once per pool, and read them back the same", async () => {
    const scorer = single(COLD_FEATURES.indexOf('recentSimilarityMax3'));
    const row = parity.rows[0]!;
    const pool = await scorer.pool(
      [{ id: 'row', embedding: Float32Array.from(row.embedding), categoryIds: [] }],
      top,
    );
    const calls: number[] = [];
    const counted = (queries: Float32Array, items: Float32Array) => {
      calls.push(queries.length / dim);
      return products(queries, items);
    };
    const state = Float32Array.from(row.userState);
    const twice = new Float32Array(2 * dim);
    twice.set(state);
    twice.set(state, dim);
    const first = await scorer.prepare(pool, twice, [row.recent, row.recent], counted);
    const again = await scorer.prepare(pool, state, [row.recent], counted);
    // first batch: the two states, then each distinct input item once; second: the state only
    expect(calls).toEqual([2, new Set(row.recent.slice(0, parity.recentItems)).size, 1]);
    const none = new Map<number, number>();
    expect(scorer.scores(pool, again[0]!, none)).toEqual(scorer.scores(pool, first[1]!, none));
  });

  it('refuses content vectors of the wrong size', () => {
    expect(() => new ColdItemScorer(single(0).spec, content.subarray(1), model)).toThrow(
      /content vectors/,
    );
  });
});

const EXCLUDE_SEEN = { ...NO_FILTER, excludeSeen: true };

/**
 * Content vectors: item k on axis k, but item 6 on axis 0 (the new product's direction: its
 * nearest neighbour, cosine 1) and item 5 at cosine 0.8 with it (the second).
 */
function contentVectors(n: number): Float32Array {
  const v = new Float32Array((n + 1) * FAKE_DIM);
  for (let k = 1; k <= n; k++) v[k * FAKE_DIM + k] = 1;
  v[6 * FAKE_DIM + 6] = 0;
  v[6 * FAKE_DIM] = 1;
  v[5 * FAKE_DIM + 5] = 0.6;
  v[5 * FAKE_DIM] = 0.8;
  return v;
}

const SPEC: ColdItemsManifest = {
  features: ['innerProduct', 'neighbourTerms5'],
  weights: [1, 10],
  boost: 0,
  neighbours: [1, 2],
  temperature: 0.1,
  recentItems: 3,
};

describe.each(backends)('cold items in the engine on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let engine: ForecastEngine;
  let plain: ForecastEngine;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open(retrievalSettings(100)));
    await importToyShop(db);
    const model = new FakeModel('toy', MODEL_CATEGORIES, TRANSITIONS, 'toy-fake-1', {
      spec: SPEC,
      contentVectors: contentVectors(6),
    });
    await syncItemEmbeddings(db, model);
    const options = {
      batching: { maxBatch: 64, maxDelayMs: 1, maxQueue: 100 },
      retrieval: { candidates: 100, efSearch: 100, successors: 100 },
    };
    engine = new ForecastEngine(db, model, options);
    plain = new ForecastEngine(db, new FakeModel('toy', MODEL_CATEGORIES, TRANSITIONS), options);
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await plain?.close();
    await dispose?.();
  });

  it('lifts a new product by the transitions into the product it resembles', async () => {
    // toy:2's newest item is 3: the Markov term adds log 4 to item 1 and log 2 to item 6, the
    // new product's nearest neighbour: it inherits 10 · log 2 on top of its inner product 0.05
    const calls = engine.modelCalls.coldItems.calls;
    const [f] = await engine.forecast([request('toy:2')]);
    expect(ids(f!)).toEqual(['toy:7', 'toy:1', 'toy:6']);
    // the batch's inner products with the cold rows, then the cosines of its input items (3 and
    // 2, not seen before); the next batch finds those cached
    expect(engine.modelCalls.coldItems.calls - calls).toBe(2);
    await engine.forecast([request('toy:2')]);
    expect(engine.modelCalls.coldItems.calls - calls).toBe(3);
    expect((f as Forecast).items[0]!.score).toBeCloseTo(0.05 + 10 * Math.log(2), 5);
    // without scorer.coldItems it ranks by its inner product alone: last
    const [before] = await plain.forecast([request('toy:2', { first: 7 })]);
    expect(ids(before!).at(-1)).toBe('toy:7');
    expect(plain.modelCalls.coldItems.calls).toBe(0);
  });

  it('scores it by its inner product where no neighbour is lifted', async () => {
    // toy:1's newest item is 2, which nothing followed
    const [f] = await engine.forecast([request('toy:1', { first: 5 })]);
    expect(ids(f!)).toEqual(['toy:6', 'toy:5', 'toy:4', 'toy:3', 'toy:7']);
    expect((f as Forecast).items[4]!.score).toBeCloseTo(0.05, 5);
  });

  it('applies the filter and the exclusions to cold items', async () => {
    const [other] = await engine.forecast([
      request('toy:2', { filter: { ...EXCLUDE_SEEN, categoryIds: [A1] } }),
    ]);
    expect(ids(other!)).not.toContain('toy:7');
    const [inCategory] = await engine.forecast([
      request('toy:2', { filter: { ...EXCLUDE_SEEN, categoryIds: [A2] } }),
    ]);
    expect(ids(inCategory!)[0]).toBe('toy:7');
    // toy:4 had item 7
    const [seen] = await engine.forecast([request('toy:4', { first: 7 })]);
    expect(ids(seen!)).not.toContain('toy:7');
  });
});
