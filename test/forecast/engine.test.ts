// The engine's stages with a small fake model (test/helpers/fake-model.ts), on both back-ends:
// what the shipped model's suites check with real ONNX, checked here against scores known by
// construction: one encoder and one scorer call per batch, retrieval with the filters in the
// index, exclusions, a scoring term (Markov) lifting items past the nearest neighbours, the
// fallbacks for shoppers the model cannot read, explanations, and the impression log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { ForecastEngine } from '../../src/forecast/engine.js';
import type { Forecast } from '../../src/forecast/forecast.js';
import { MIN_REASON_WEIGHT } from '../../src/forecast/reasons.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import { backends } from '../helpers/backends.js';
import { FakeModel } from '../helpers/fake-model.js';
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
import { retrievalSettings } from '../../src/db/retrieval.js';

describe.each(backends)('forecast engine stages with a fake model on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let model: FakeModel;
  let engine: ForecastEngine;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open(retrievalSettings(100)));
    await importToyShop(db);
    // Item 1 followed item 3 three times in "training", item 6 once: the Markov term.
    model = new FakeModel('toy', MODEL_CATEGORIES, TRANSITIONS);
    await syncItemEmbeddings(db, model);
    engine = new ForecastEngine(db, model, {
      batching: { maxBatch: 64, maxDelayMs: 1, maxQueue: 100 },
      retrieval: { candidates: 100, efSearch: 100, successors: 100 },
    });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await dispose?.();
  });

  it('ranks new items by the model’s scores, leaving out what the shopper had', async () => {
    const [f] = await engine.forecast([request('toy:1')]);
    expect(f).toMatchObject({
      modelVersion: 'toy-fake-1',
      mode: 'MODEL',
      strategy: 'SEQUENCE_MODEL',
      basedOnEvents: 2,
      executionProvider: 'fake',
    });
    // toy:1 had items 1 and 2: the rest by k / 10, highest first.
    expect(ids(f!)).toEqual(['toy:6', 'toy:5', 'toy:4']);
    (f as Forecast).items.forEach((it, k) => expect(it.score).toBeCloseTo([0.6, 0.5, 0.4][k]!, 6));
    // Without exclusions the shopper's own items lead (+1 each).
    const [all] = await engine.forecast([request('toy:1', { first: 7, filter: NO_FILTER })]);
    expect(ids(all!)).toEqual(['toy:2', 'toy:1', 'toy:6', 'toy:5', 'toy:4', 'toy:3', 'toy:7']);
  });

  it('applies the filter in retrieval, the product the model does not know included', async () => {
    const [f] = await engine.forecast([
      request('toy:1', {
        first: 5,
        filter: { ...NO_FILTER, excludeSeen: true, categoryIds: [A2] },
      }),
    ]);
    // toy:7 is stored with a content embedding (0.05): last, but in the category.
    expect(ids(f!)).toEqual(['toy:6', 'toy:4', 'toy:3', 'toy:7']);
  });

  it('runs a batch as one encoder call and one scorer call', async () => {
    const before = { encode: model.calls.encode.length, score: model.calls.score.length };
    const out = await engine.forecast([request('toy:1'), request('toy:2'), request('toy:3')]);
    expect(model.calls.encode.length - before.encode).toBe(1);
    expect(model.calls.score.length - before.score).toBe(1);
    expect(model.calls.encode.at(-1)).toEqual([['toy:1', 'toy:2'], ['toy:3'], ['toy:2', 'toy:5']]);
    expect(out.map(ids)).toEqual([
      ['toy:6', 'toy:5', 'toy:4'],
      ['toy:1', 'toy:6', 'toy:5'], // toy:2 had item 3: the Markov term lifts 1 and 6
      ['toy:6', 'toy:4', 'toy:3'],
    ]);
    expect(out.map((f) => (f as Forecast).timing.batchSize)).toEqual([3, 3, 3]);
  });

  it('retrieves the items the Markov term lifts beyond the nearest neighbours, and explains them', async () => {
    expect(engine.terms.list.map((t) => t.name)).toEqual(['markov']);
    const [f] = await engine.forecast([request('toy:2', { explain: true })]);
    // Nearest neighbours of the state are 6, 5, 4; item 1 (inner product 0.1) only comes in as
    // a successor of item 3, and leads with log(1 + 3).
    expect(model.calls.score.at(-1)![0]).toContain('toy:1');
    expect(ids(f!)).toEqual(['toy:1', 'toy:6', 'toy:5']);
    const expected = [0.1 + Math.log(4), 0.6 + Math.log(2), 0.5];
    (f as Forecast).items.forEach((it, k) => expect(it.score).toBeCloseTo(expected[k]!, 5));
    const follows = (f as Forecast).items[0]!.reasons!.find((r) => r.kind === 'FOLLOWS_LATEST');
    expect(follows).toMatchObject({ weight: 0.75, eventIndex: 0 });
    expect(follows!.message).toContain('often bought right after toy:3');
    expect((f as Forecast).items[2]!.reasons!.map((r) => r.kind)).not.toContain('FOLLOWS_LATEST');
  });

  it('serves a shopper the model cannot read from the fallbacks, and refuses an unknown one', async () => {
    const before = model.calls.encode.length;
    const [cold, missing] = await engine.forecast([request('toy:4'), request('toy:9')]);
    expect(model.calls.encode.length).toBe(before); // nobody for the model
    expect(cold).toMatchObject({
      modelVersion: 'popularity-baseline',
      mode: 'POPULARITY',
      basedOnEvents: 0,
      executionProvider: 'none',
    });
    // The dataset's most bought items, toy:7 (the shopper's own) left out: 2 was bought twice.
    expect(ids(cold!)[0]).toBe('toy:2');
    expect(ids(cold!)).not.toContain('toy:7');
    expect(missing).toBeInstanceOf(Error);
    expect((missing as Error & { code: string }).code).toBe('NOT_FOUND');
  });

  it('explains items by the next-category head and attention, and logs every forecast', async () => {
    const count = async () =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM forecasts`)).rows[0]!.n;
    const stored = await count();
    const [f] = await engine.forecast([request('toy:1', { explain: true })]);
    const reasons = Object.fromEntries(
      (f as Forecast).items.map((it) => [it.itemId, it.reasons!.map((r) => r.kind)]),
    );
    // The newest known item (toy:2) is in a1, so the head expects a1: toy:5 matches it.
    expect(reasons['toy:5']).toContain('CATEGORY_MATCH');
    expect(reasons['toy:6']).not.toContain('CATEGORY_MATCH');
    const match = (f as Forecast).items[1]!.reasons!.find((r) => r.kind === 'CATEGORY_MATCH');
    expect(match).toMatchObject({ categoryId: A1, weight: 1 });
    // Both events were attended to (0.5 each) and lie slightly towards every item: the one
    // whose attention × similarity reaches the threshold is shown (src/forecast/reasons.ts).
    expect(reasons['toy:6']).toEqual(['RECENT_EVENT']);
    expect((f as Forecast).items[0]!.reasons![0]!.weight).toBeGreaterThanOrEqual(
      MIN_REASON_WEIGHT.RECENT_EVENT,
    );
    expect(await count()).toBe(stored + 1);
    const { rows } = await db.query<{ items: { itemId: string; rank: number }[] }>(
      `SELECT items FROM forecasts WHERE id = $1`,
      [(f as Forecast).id],
    );
    expect(rows[0]!.items.map((i) => [i.itemId, i.rank])).toEqual([
      ['toy:6', 1],
      ['toy:5', 2],
      ['toy:4', 3],
    ]);
  });
});
