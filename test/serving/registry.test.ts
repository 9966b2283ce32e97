// Several datasets at once (src/serving/registry.ts): each dataset's shoppers are forecast by
// its own model from its own embedding slot, a request mixing datasets runs one encoder batch
// per engine, a dataset without a model gets its popularity (and says so), catalogue changes
// are embedded by their dataset's model, and rollouts and rollbacks switch one dataset only.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { ForecastEngine } from '../../src/forecast/engine.js';
import { ModelRegistry } from '../../src/serving/registry.js';
import { importAmazon } from '../../src/import/amazon.js';
import { Model } from '../../src/inference/model.js';
import { IntentModel } from '../../src/intent/model.js';
import { slotHolding, syncItemEmbeddings } from '../../src/serving/embeddings.js';
import type { EmbeddingSlot } from '../../src/db/embedding-slots.js';
import { ModelRollouts } from '../../src/serving/rollouts.js';
import { backends } from '../helpers/backends.js';
import { importSliceAs, renamedModel } from '../helpers/datasets.js';
import { beautySlice, tempDir } from '../helpers/fixtures.js';
import { INTENT_MODEL_DIR, MODEL_DIR } from '../helpers/forecast.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { retrievalSettings } from '../../src/db/retrieval.js';

type Json = Record<string, any>;

const FORECAST_FIELDS = `modelVersion mode strategy strategyDetail items { item { id } score }
  timing { batchSize }`;
const MIXED = `{
  b: users(first: 4, dataset: "beauty") { edges { node { id interestForecast(first: 5) { ${FORECAST_FIELDS} } } } }
  c: users(first: 3, dataset: "cosmetics") { edges { node { id interestForecast(first: 5) { ${FORECAST_FIELDS} } } } }
  n: users(first: 1, dataset: "newshop") { edges { node { id interestForecast(first: 5) { ${FORECAST_FIELDS} } } } }
}`;
const ANONYMOUS = `query($e: [AnonymousEventInput!]) {
  interestForecast(recentEvents: $e, first: 5) { modelVersion strategy items { item { id } } } }`;
const ITEM = `query($id: ID!) { item(id: $id) { embeddingSource embeddingModelVersion } }`;
const UPSERT = `mutation($i: ItemInput!) { upsertItem(input: $i) { id embeddingSource embeddingModelVersion } }`;
const STATUS = `{ modelStatus {
  serving { version dataset }
  datasets { dataset serving { version embeddingColumn } previous { version embeddingColumn } }
} }`;
const ROLLOUT = `mutation($d: String!) { rolloutModel(directory: $d) {
  kind dataset from to embeddingsWritten pauseMs } }`;
const ROLLBACK = `mutation($d: String) { rollbackModel(dataset: $d) { kind dataset from to embeddingsWritten } }`;

/** A third shop without a model: four shoppers, seven products; item 4 the most bought. */
const NEWSHOP = ['1 1 2', '2 3 4 5', '3 3 4 6', '4 4 5 6 7'];

describe.each(backends)('several datasets, one model each, on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let intent: IntentModel;
  let registry: ModelRegistry;
  let server: TestServer;
  let beauty: Model;
  let cosmetics: Model;
  const temps: string[] = [];

  const createEngine = (m: Model, slot: EmbeddingSlot) =>
    new ForecastEngine(db, m, {
      batching: { maxBatch: 64, maxDelayMs: 2, maxQueue: 1024, maxInFlight: 4 },
      retrieval: { candidates: 100, efSearch: 100, successors: 100 },
      intent,
      embeddingSlot: slot,
    });
  const engineOf = (dataset: string) => registry.modelsOf(dataset)!.current.engine;
  const ok = async (query: string, variables?: Record<string, unknown>) => {
    const res = await server.gql(query, variables);
    expect(res.errors).toBeUndefined();
    return res.data as Json;
  };
  const forecastsOf = (data: Json, alias: string) =>
    (data[alias].edges as Json[]).map((e) => ({ user: e.node.id, ...e.node.interestForecast }));
  // What a forecast says, without its batch size: a forecast of the dataset without a model
  // may or may not share another engine's batch, so that size varies from request to request.
  const answersOf = (data: Json, alias: string) =>
    forecastsOf(data, alias).map(({ timing: _timing, ...answer }) => answer);

  beforeAll(async () => {
    ({ db, dispose } = await backend.open(retrievalSettings(100)));
    const slice = await beautySlice(60);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    await importSliceAs(db, slice, 'cosmetics');
    const shop = path.join(await tempDir(), 'Newshop.txt');
    await writeFile(shop, NEWSHOP.join('\n') + '\n');
    await importAmazon(db, { sequences: [shop], attributes: [] });
    const cosmeticsDir = await renamedModel('cosmetics', 'cosmetics-sasrec-1');
    temps.push(cosmeticsDir);
    [beauty, cosmetics, intent] = await Promise.all([
      Model.load(MODEL_DIR, 'cpu'),
      Model.load(cosmeticsDir, 'cpu'),
      IntentModel.load(INTENT_MODEL_DIR, 'cpu'),
    ]);
    // One dataset in each slot: retrieval reads each engine's own columns.
    await syncItemEmbeddings(db, beauty, { slot: 'a' });
    await syncItemEmbeddings(db, cosmetics, { slot: 'b' });
    registry = new ModelRegistry([
      {
        engine: createEngine(beauty, 'a'),
        directory: path.resolve(MODEL_DIR),
        loadedAt: new Date(),
      },
      { engine: createEngine(cosmetics, 'b'), directory: cosmeticsDir, loadedAt: new Date() },
    ]);
    const rollouts = new ModelRollouts({
      db,
      registry,
      load: (dir) => Model.load(dir, 'cpu'),
      createEngine,
      workers: 1,
    });
    server = await startServer(db, {}, { registry, rollouts });
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    for (const s of registry?.loaded() ?? []) {
      await s.engine.close();
      await s.engine.model.release();
    }
    await intent?.release();
    await dispose?.();
    await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('finds each model where start-up would: the slot holding its version', async () => {
    expect(await slotHolding(db, beauty)).toBe('a');
    expect(await slotHolding(db, cosmetics)).toBe('b');
    const { rows } = await db.query<{ dataset: string; a: number; b: number }>(
      `SELECT dataset, count(embedding)::int AS a, count(embedding_b)::int AS b
       FROM items GROUP BY dataset ORDER BY dataset`,
    );
    expect(rows).toEqual([
      { dataset: 'beauty', a: rows[0]!.a, b: 0 },
      { dataset: 'cosmetics', a: 0, b: rows[0]!.a },
      { dataset: 'newshop', a: 0, b: 0 },
    ]);
    expect(rows[0]!.a).toBeGreaterThan(600);
  });

  it('serves a request mixing datasets from each one’s own model, one encoder batch per engine', async () => {
    const encoder = () =>
      [engineOf('beauty'), engineOf('cosmetics')].map((e) => ({ ...e.modelCalls.encoder }));
    const [b0, c0] = encoder();
    const data = await ok(MIXED);
    const [b1, c1] = encoder();
    // One encoder call per engine, each over its own dataset's shoppers only.
    expect([b1!.calls - b0!.calls, b1!.items - b0!.items]).toEqual([1, 4]);
    expect([c1!.calls - c0!.calls, c1!.items - c0!.items]).toEqual([1, 3]);
    const b = forecastsOf(data, 'b');
    const c = forecastsOf(data, 'c');
    expect(b.map((f) => [f.modelVersion, f.strategy])).toEqual(
      b.map(() => [beauty.version, 'SEQUENCE_MODEL']),
    );
    // The newshop forecast (no model) may share the first engine's batch: 4 or 5.
    for (const f of b) expect([4, 5]).toContain(f.timing.batchSize);
    expect(c.map((f) => [f.modelVersion, f.strategy, f.timing.batchSize])).toEqual(
      c.map(() => ['cosmetics-sasrec-1', 'SEQUENCE_MODEL', 3]),
    );
    for (const f of b)
      expect(f.items.every((i: Json) => i.item.id.startsWith('beauty:'))).toBe(true);
    // The same weights over the same data under another namespace: the same forecasts, read
    // from the other embedding slot.
    c.forEach((f, k) => {
      expect(f.user.replace(/^cosmetics:/, '')).toBe(b[k]!.user.replace(/^beauty:/, ''));
      expect(f.items.map((i: Json) => i.item.id)).toEqual(
        b[k]!.items.map((i: Json) => i.item.id.replace(/^beauty:/, 'cosmetics:')),
      );
      f.items.forEach((i: Json, n: number) => expect(i.score).toBeCloseTo(b[k]!.items[n].score, 4));
    });
    // The shop without a model: its own popularity, not an empty list, and the forecast says so.
    const [n] = forecastsOf(data, 'n');
    expect(n).toMatchObject({
      user: 'newshop:1',
      modelVersion: 'popularity-baseline',
      mode: 'POPULARITY',
      strategy: 'DATASET_POPULARITY',
    });
    expect(n!.strategyDetail).toMatch(
      /^most interacted items of newshop .*; no model serves dataset newshop$/,
    );
    // newshop:1 bought 1 and 2 (excluded); 4 was bought three times, 3, 5 and 6 twice.
    expect(n!.items.map((i: Json) => i.item.id)).toEqual([
      'newshop:4',
      'newshop:3',
      'newshop:5',
      'newshop:6',
      'newshop:7',
    ]);
  });

  it('picks the model of an anonymous visitor by the dataset of its items', async () => {
    const raw = ['12', '1']; // items of the slice
    const beautyEvents = raw.map((r) => ({ itemId: `beauty:${r}`, type: 'VIEW' }));
    const cosmeticsEvents = raw.map((r) => ({ itemId: `cosmetics:${r}`, type: 'VIEW' }));
    const fb = (await ok(ANONYMOUS, { e: beautyEvents })).interestForecast;
    const fc = (await ok(ANONYMOUS, { e: cosmeticsEvents })).interestForecast;
    expect([fb.modelVersion, fc.modelVersion]).toEqual([beauty.version, 'cosmetics-sasrec-1']);
    expect(fc.items.map((i: Json) => i.item.id)).toEqual(
      fb.items.map((i: Json) => i.item.id.replace(/^beauty:/, 'cosmetics:')),
    );
    const fn = (await ok(ANONYMOUS, { e: [{ itemId: 'newshop:1', type: 'VIEW' }] }))
      .interestForecast;
    expect(fn).toMatchObject({
      modelVersion: 'popularity-baseline',
      strategy: 'DATASET_POPULARITY',
    });
    expect(fn.items[0].item.id).toBe('newshop:4');
  });

  it("embeds a catalogue change with its dataset's model, in that model's slot only", async () => {
    const item = async (id: string) => (await ok(ITEM, { id })).item;
    expect(await item('beauty:1')).toEqual({
      embeddingSource: 'MODEL',
      embeddingModelVersion: beauty.version,
    });
    expect(await item('cosmetics:1')).toEqual({
      embeddingSource: 'MODEL',
      embeddingModelVersion: 'cosmetics-sasrec-1',
    });
    expect(await item('newshop:1')).toEqual({ embeddingSource: null, embeddingModelVersion: null });
    const added = (await ok(UPSERT, { i: { id: 'cosmetics:new-1', title: 'Lip balm', price: 4 } }))
      .upsertItem;
    expect(added).toEqual({
      id: 'cosmetics:new-1',
      embeddingSource: 'CONTENT',
      embeddingModelVersion: 'cosmetics-sasrec-1',
    });
    const { rows } = await db.query(
      `SELECT embedding IS NULL AS a_empty, embedding_b_model_version AS b FROM items WHERE id = $1`,
      ['cosmetics:new-1'],
    );
    expect(rows).toEqual([{ a_empty: true, b: 'cosmetics-sasrec-1' }]);
    const shop = (await ok(UPSERT, { i: { id: 'newshop:8', title: 'Mug' } })).upsertItem;
    expect(shop).toEqual({ id: 'newshop:8', embeddingSource: null, embeddingModelVersion: null });
  });

  it('rolls out and back one dataset, the others untouched; a rollback names its dataset', async () => {
    const before = answersOf(await ok(MIXED), 'b');
    const candidate = await renamedModel('cosmetics', 'cosmetics-sasrec-2');
    temps.push(candidate);
    const out = (await ok(ROLLOUT, { d: candidate })).rolloutModel;
    expect(out).toMatchObject({
      kind: 'ROLLOUT',
      dataset: 'cosmetics',
      from: 'cosmetics-sasrec-1',
      to: 'cosmetics-sasrec-2',
    });
    const cosmeticsItems = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM items WHERE dataset = 'cosmetics'`,
    );
    expect(out.embeddingsWritten).toBe(cosmeticsItems.rows[0]!.n);
    const status = (await ok(STATUS)).modelStatus;
    expect(status.serving).toEqual({ version: beauty.version, dataset: 'beauty' });
    expect(status.datasets).toEqual([
      {
        dataset: 'beauty',
        serving: { version: beauty.version, embeddingColumn: 'embedding' },
        previous: null,
      },
      {
        dataset: 'cosmetics',
        serving: { version: 'cosmetics-sasrec-2', embeddingColumn: 'embedding' },
        previous: { version: 'cosmetics-sasrec-1', embeddingColumn: 'embedding_b' },
      },
    ]);
    const during = await ok(MIXED);
    expect(answersOf(during, 'b')).toEqual(before);
    expect(forecastsOf(during, 'c').map((f) => f.modelVersion)).toEqual([
      'cosmetics-sasrec-2',
      'cosmetics-sasrec-2',
      'cosmetics-sasrec-2',
    ]);
    // Beauty's slot a was not written: the new cosmetics vectors went to the cosmetics rows.
    const beautyA = await db.query(
      `SELECT DISTINCT embedding_model_version AS v FROM items WHERE dataset = 'beauty'`,
    );
    expect(beautyA.rows).toEqual([{ v: beauty.version }]);

    const unnamed = await server.gql(ROLLBACK, {});
    expect(unnamed.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'dataset',
    });
    expect(unnamed.errors?.[0]?.message).toBe(
      'dataset: required, this gateway serves models for beauty, cosmetics',
    );
    const none = await server.gql(ROLLBACK, { d: 'newshop' });
    expect(none.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const onlyOne = await server.gql(ROLLBACK, { d: 'beauty' });
    expect(onlyOne.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const back = (await ok(ROLLBACK, { d: 'cosmetics' })).rollbackModel;
    expect(back).toMatchObject({
      kind: 'ROLLBACK',
      dataset: 'cosmetics',
      from: 'cosmetics-sasrec-2',
      to: 'cosmetics-sasrec-1',
      embeddingsWritten: 0,
    });
    const after = await ok(MIXED);
    expect(answersOf(after, 'b')).toEqual(before);
    expect(new Set(forecastsOf(after, 'c').map((f) => f.modelVersion))).toEqual(
      new Set(['cosmetics-sasrec-1']),
    );
  });

  it('gives a dataset without a model its first one by rolloutModel', async () => {
    const first = await renamedModel('newshop', 'newshop-sasrec-1');
    temps.push(first);
    const out = (await ok(ROLLOUT, { d: first })).rolloutModel;
    expect(out).toMatchObject({
      kind: 'ROLLOUT',
      dataset: 'newshop',
      from: 'popularity-baseline',
      to: 'newshop-sasrec-1',
      embeddingsWritten: 8,
    });
    const status = (await ok(STATUS)).modelStatus;
    expect(status.datasets.map((d: Json) => [d.dataset, d.serving.version])).toEqual([
      ['beauty', beauty.version],
      ['cosmetics', 'cosmetics-sasrec-1'],
      ['newshop', 'newshop-sasrec-1'],
    ]);
    const [n] = forecastsOf(await ok(MIXED), 'n');
    expect(n).toMatchObject({ modelVersion: 'newshop-sasrec-1', strategy: 'SEQUENCE_MODEL' });
    expect(n!.items.every((i: Json) => i.item.id.startsWith('newshop:'))).toBe(true);
    // Its manifest is recorded, as for every model that served.
    const recorded = await db.query<{ dataset: string }>(
      `SELECT dataset FROM model_versions WHERE version = 'newshop-sasrec-1'`,
    );
    expect(recorded.rows).toEqual([{ dataset: 'newshop' }]);
  });
});
