// Run-time model rollout over GraphQL: a validated candidate directory takes over the forecasts
// at once, its item embeddings written beforehand into the other embedding slot while the old
// model serves; a rollback restores the previous model (re-embedding only what changed), and a
// candidate that fails a check (parity, ONNX files, dimension) never serves.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import type { ForecastEngine } from '../../src/forecast/engine.js';
import { ModelRegistry } from '../../src/serving/registry.js';
import { ModelRollouts } from '../../src/serving/rollouts.js';
import { backends } from '../helpers/backends.js';
import { candidateModel, openRolloutFixture, type RolloutFixture } from '../helpers/rollout.js';
import { MODEL_DIR, userForecastRequest, type ForecastFixture } from '../helpers/forecast.js';
import type { TestServer } from '../helpers/server.js';

const FORECASTS = `{ users(first: 6, dataset: "beauty") { edges { node { id
  interestForecast(first: 10) { modelVersion items { item { id } score } } } } } }`;
const STATUS = `{ modelStatus {
  serving { version dataset dim embeddingColumn directory provider loadedAt }
  previous { version directory }
  datasets { dataset serving { version } previous { version } }
  rolloutInProgress
  rollouts { kind dataset from to directory pauseMs embeddingsWritten switchedAt checks { name passed } }
} }`;
const ROLLOUT = `mutation($d: String!) { rolloutModel(directory: $d) {
  kind dataset from to directory pauseMs writeMs embeddingsWritten switchedAt
  checks { name passed detail } } }`;
const ROLLBACK = `mutation { rollbackModel { kind dataset from to directory pauseMs writeMs embeddingsWritten } }`;
const UPSERT = `mutation($i: ItemInput!) { upsertItem(input: $i) { id embeddingSource embeddingModelVersion } }`;
const ITEM = `query($id: ID!) { item(id: $id) { embeddingSource embeddingModelVersion } }`;

const CHECKS = [
  'manifest',
  'version',
  'dimension',
  'dataset',
  'contract.encoder',
  'parity.encoder',
  'contract.scorer',
  'parity.scorer',
  'contract.content',
  'parity.content',
  'load',
  'vocabulary',
];

type Json = Record<string, any>;
const candidate = candidateModel;
const withVersion = (version: string) => candidate({ manifest: (m) => (m.version = version) });

describe.each(backends)('model rollout on $name', (backend) => {
  let fixture: RolloutFixture;
  let f: ForecastFixture;
  let registry: ModelRegistry;
  let server: TestServer;
  let original: string;

  const forecasts = async () => {
    const res = await server.gql(FORECASTS);
    expect(res.errors).toBeUndefined();
    return res.data.users.edges.map((e: Json) => ({ user: e.node.id, ...e.node.interestForecast }));
  };
  /** The model versions each embedding slot holds for the dataset's items. */
  const storedVersions = async () => {
    const { rows } = await f.db.query<{ a: string[]; b: (string | null)[] }>(
      `SELECT array_agg(DISTINCT embedding_model_version) AS a,
              array_agg(DISTINCT embedding_b_model_version) AS b
       FROM items WHERE dataset = 'beauty'`,
    );
    return rows[0];
  };
  /** The rollout's error, asserting there is exactly one and no data. */
  const refused = async (directory: string) => {
    const res = await server.gql(ROLLOUT, { d: directory });
    expect(res.data).toBeNull();
    expect(res.errors).toHaveLength(1);
    return res.errors![0] as { message: string; extensions: Json };
  };
  const failedChecks = (err: { extensions: Json }) =>
    (err.extensions.checks as { name: string; passed: boolean }[])
      .filter((c) => !c.passed)
      .map((c) => c.name);

  beforeAll(async () => {
    fixture = await openRolloutFixture(backend, 60);
    ({ f, registry, server } = fixture);
    original = f.model.version;
  }, 180_000);

  afterAll(async () => {
    await fixture?.close();
  });

  it('rolls out a new version into the other slot (all checks passed) and rolls back to identical forecasts', async () => {
    const before = await forecasts();
    expect(before.map((x: Json) => x.modelVersion)).toEqual(before.map(() => original));
    expect(await storedVersions()).toEqual({ a: [original], b: [null] });
    const dir = await withVersion('beauty-rollout-a');
    // Resolved against the working directory.
    const res = await server.gql(ROLLOUT, { d: path.relative(process.cwd(), dir) });
    expect(res.errors).toBeUndefined();
    const r = res.data.rolloutModel;
    expect(r).toMatchObject({
      kind: 'ROLLOUT',
      dataset: 'beauty',
      from: original,
      to: 'beauty-rollout-a',
      directory: dir,
    });
    expect(r.checks.map((c: Json) => c.name)).toEqual(CHECKS);
    expect(r.checks.filter((c: Json) => !c.passed)).toEqual([]);
    const stored = await f.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM items WHERE dataset = 'beauty'`,
    );
    expect(r.embeddingsWritten).toBe(stored.rows[0]!.n);
    // Requests were held for the in-memory switch only; the write ran before it.
    expect(r.pauseMs).toBeGreaterThanOrEqual(0);
    expect(r.pauseMs).toBeLessThan(5);
    expect(r.writeMs).toBeGreaterThan(r.pauseMs);
    console.info(
      `${backend.name}: rollout pause ${r.pauseMs.toFixed(3)} ms, write ${r.writeMs.toFixed(0)} ms, ${r.embeddingsWritten} embeddings`,
    );

    const after = await forecasts();
    expect(after.map((x: Json) => x.modelVersion)).toEqual(before.map(() => 'beauty-rollout-a'));
    // The new model's vectors in slot b; the old model's stay in slot a for a rollback.
    expect(await storedVersions()).toEqual({ a: [original], b: ['beauty-rollout-a'] });
    const recorded = await f.db.query(
      `SELECT 1 FROM model_versions WHERE version = 'beauty-rollout-a' AND embeddings_at IS NOT NULL`,
    );
    expect(recorded.rows).toHaveLength(1);
    const status = (await server.gql(STATUS)).data.modelStatus;
    expect(status.serving).toMatchObject({
      version: 'beauty-rollout-a',
      dataset: 'beauty',
      dim: 64,
      embeddingColumn: 'embedding_b',
      directory: dir,
      provider: 'cpu',
    });
    expect(status.previous).toEqual({ version: original, directory: path.resolve(MODEL_DIR) });
    expect(status.datasets).toEqual([
      {
        dataset: 'beauty',
        serving: { version: 'beauty-rollout-a' },
        previous: { version: original },
      },
    ]);
    expect(status.rolloutInProgress).toBeNull();
    expect(status.rollouts).toHaveLength(1);
    expect(status.rollouts[0]).toMatchObject({
      kind: 'ROLLOUT',
      dataset: 'beauty',
      from: original,
      to: 'beauty-rollout-a',
    });

    // A product added while the new model serves: embedded at once in its slot (b) only;
    // upsertItem leaves the old model's slot without a vector for it, stale.
    const added = await server.gql(UPSERT, {
      i: { id: 'beauty:rollout-new', title: 'Rose hand cream', price: 9 },
    });
    expect(added.data.upsertItem).toEqual({
      id: 'beauty:rollout-new',
      embeddingSource: 'CONTENT',
      embeddingModelVersion: 'beauty-rollout-a',
    });

    const back = await server.gql(ROLLBACK);
    expect(back.errors).toBeUndefined();
    // Only the stale row is rewritten: the old model's vectors were kept in slot a.
    expect(back.data.rollbackModel).toMatchObject({
      kind: 'ROLLBACK',
      dataset: 'beauty',
      from: 'beauty-rollout-a',
      to: original,
      directory: path.resolve(MODEL_DIR),
      embeddingsWritten: 1,
    });
    expect(back.data.rollbackModel.pauseMs).toBeLessThan(5);
    expect(await forecasts()).toEqual(before);
    expect((await server.gql(ITEM, { id: 'beauty:rollout-new' })).data.item).toEqual({
      embeddingSource: 'CONTENT',
      embeddingModelVersion: original,
    });
    const again = (await server.gql(STATUS)).data.modelStatus;
    expect(again.serving).toMatchObject({ version: original, embeddingColumn: 'embedding' });
    expect(again.previous.version).toBe('beauty-rollout-a');
    expect(again.rollouts.map((x: Json) => x.kind)).toEqual(['ROLLBACK', 'ROLLOUT']);
    // Rolling back again returns to the newer model, its slot b vectors still valid.
    const forth = await server.gql(ROLLBACK);
    expect(forth.data.rollbackModel).toMatchObject({
      to: 'beauty-rollout-a',
      embeddingsWritten: 0,
    });
    expect((await forecasts()).map((x: Json) => x.modelVersion)).toEqual(
      before.map(() => 'beauty-rollout-a'),
    );
    expect((await server.gql(ROLLBACK)).data.rollbackModel.to).toBe(original);
    await f.db.query(`DELETE FROM items WHERE id = 'beauty:rollout-new'`);
  });

  it('finishes a request in flight on the old model and slot, and waits for it before the next write', async () => {
    const before = await forecasts();
    const request = userForecastRequest(before[0].user);
    const held = registry.acquire();
    const dir = await withVersion('beauty-rollout-b');
    const rolling = server.gql(ROLLOUT, { d: dir });
    // The switch happens while the request is held; the rollout then waits for it.
    for (let i = 0; i < 400; i++) {
      const s = (await server.gql(STATUS)).data.modelStatus;
      if (s.serving.version === 'beauty-rollout-b') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const now = await forecasts();
    expect(now.map((x: Json) => x.modelVersion)).toEqual(before.map(() => 'beauty-rollout-b'));
    const [old] = await held.forecast([request]);
    expect(old).toMatchObject({ modelVersion: original });
    expect(
      (old as { items: { itemId: string; score: number }[] }).items.map((i) => i.itemId),
    ).toEqual(before[0].items.map((i: Json) => i.item.id));
    let answered = false;
    void rolling.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    held.release();
    const res = await rolling;
    expect(res.errors).toBeUndefined();
    expect((await server.gql(ROLLBACK)).data.rollbackModel.to).toBe(original);
    expect((await forecasts()).map((x: Json) => x.modelVersion)).toEqual(
      before.map(() => original),
    );
  });

  it('refuses a candidate whose scorer misses parity.json beyond the tolerance; the old model keeps serving', async () => {
    const dir = await candidate({
      manifest: (m) => (m.version = 'beauty-perturbed'),
      parity: (p) => (p.scorer.outputs.scores[0][0] += 10 * p.tolerance),
    });
    const before = await server.gql(STATUS);
    const stored = await storedVersions();
    const err = await refused(dir);
    expect(err.extensions.code).toBe('MODEL_VALIDATION_FAILED');
    expect(failedChecks(err)).toEqual(['parity.scorer']);
    expect(err.message).toContain('parity.scorer');
    const check = err.extensions.checks.find((c: Json) => c.name === 'parity.scorer');
    expect(check.detail).toMatch(/^scores max \|Δ\| 1\.00e-3; tolerance 0\.0001$/);
    expect((await forecasts()).every((x: Json) => x.modelVersion === original)).toBe(true);
    expect(await storedVersions()).toEqual(stored);
    expect(await server.gql(STATUS)).toEqual(before);
  });

  it('refuses a corrupt or missing ONNX file and a wrong dimension', async () => {
    const corrupt = await candidate({
      manifest: (m) => (m.version = 'beauty-corrupt'),
      files: { 'scorer.onnx': Buffer.from('not an onnx graph') },
    });
    const missing = await candidate({
      manifest: (m) => (m.version = 'beauty-missing'),
      files: { 'content.onnx': null },
    });
    const stored = await storedVersions();
    const narrow = await candidate({
      manifest: (m) => {
        m.version = 'beauty-dim-32';
        m.dim = 32;
      },
    });
    for (const [dir, failing] of [
      [corrupt, ['contract.scorer']],
      [missing, ['contract.content']],
      [narrow, ['dimension']],
    ] as const) {
      const err = await refused(dir);
      expect(err.extensions.code).toBe('MODEL_VALIDATION_FAILED');
      expect(failedChecks(err)).toEqual(failing);
    }
    expect(await storedVersions()).toEqual(stored);
    expect((await server.gql(STATUS)).data.modelStatus.serving.version).toBe(original);
  });

  it('refuses a manifest of the wrong shape, naming the field in the check', async () => {
    const stored = await storedVersions();
    const wrong = await candidate({
      manifest: (m) => {
        m.version = 'beauty-dim-string';
        m.dim = '64';
      },
    });
    const err = await refused(wrong);
    expect(err.extensions.code).toBe('MODEL_VALIDATION_FAILED');
    expect(failedChecks(err)).toEqual(['manifest']);
    const check = err.extensions.checks.find((c: Json) => c.name === 'manifest');
    expect(check.detail).toMatch(/^cannot read model manifest .*model\.json: dim: .*number/);
    expect(await storedVersions()).toEqual(stored);
  });

  it('refuses a path that is not a model directory, naming `directory`', async () => {
    const err = await refused('test');
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'directory' });
    expect(err.message).toBe(
      `directory: ${path.resolve('test')} is not a directory with a model.json`,
    );
  });

  it('serves every forecast during a switch wholly from one of the two models, without a pause', async () => {
    // Item embeddings twice the shipped ones: a forecast mixing the new model with the old
    // embeddings (or the reverse) would score differently from both models' own.
    const raw = await readFile(path.resolve(MODEL_DIR, 'item_embeddings.f32'));
    const doubled = Float32Array.from(
      new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4),
      (x) => 2 * x,
    );
    const dir = await candidate({
      manifest: (m) => (m.version = 'beauty-rollout-d'),
      files: { 'item_embeddings.f32': Buffer.from(doubled.buffer) },
    });
    const before = await forecasts();
    let switched = false;
    const responses: Json[][] = [];
    /** When each response arrived (Date.now(), as `switchedAt`). */
    const arrived: number[] = [];
    const errors: unknown[] = [];
    const loop = async () => {
      while (!switched) {
        const res = await server.gql(FORECASTS);
        if (res.errors) errors.push(res.errors);
        else {
          responses.push(
            res.data.users.edges.map((e: Json) => ({
              user: e.node.id,
              ...e.node.interestForecast,
            })),
          );
          arrived.push(Date.now());
        }
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    const res = await server.gql(ROLLOUT, { d: dir });
    switched = true;
    await Promise.all(loops);
    expect(res.errors).toBeUndefined();
    expect(errors).toEqual([]);
    // The old model went on answering while the new one's embeddings were written (before the
    // switch, which held requests for well under a millisecond).
    const switchedAt = Date.parse(res.data.rolloutModel.switchedAt);
    const writing = switchedAt - res.data.rolloutModel.writeMs;
    const duringWrite = responses.filter(
      (_, k) => arrived[k]! > writing && arrived[k]! < switchedAt,
    );
    expect(duringWrite.length).toBeGreaterThan(0);
    expect(duringWrite.every((r) => r[0]!.modelVersion === original)).toBe(true);
    expect(res.data.rolloutModel.pauseMs).toBeLessThan(5);
    const after = await forecasts();
    expect(after.every((x: Json) => x.modelVersion === 'beauty-rollout-d')).toBe(true);
    expect(after[0].items[0].score).not.toBeCloseTo(before[0].items[0].score, 3);
    expect(responses.length).toBeGreaterThan(4);
    for (const response of responses) {
      // One request, one model: every forecast of a response names the same version, and has
      // that model's items and scores.
      const version = response[0]!.modelVersion;
      expect([original, 'beauty-rollout-d']).toContain(version);
      const expected = version === original ? before : after;
      expect(response.map((x) => x.modelVersion)).toEqual(expected.map(() => version));
      expect(response.map((x) => x.items.map((i: Json) => i.item.id))).toEqual(
        expected.map((x: Json) => x.items.map((i: Json) => i.item.id)),
      );
      response.forEach((x, k) =>
        x.items.forEach((i: Json, n: number) =>
          expect(i.score).toBeCloseTo(expected[k].items[n].score, 4),
        ),
      );
    }
    // The loops started before the rollout: the old model served some of them.
    expect(responses.some((r) => r[0]!.modelVersion === original)).toBe(true);
    expect((await server.gql(ROLLBACK)).errors).toBeUndefined();
    expect(await storedVersions()).toEqual({ a: [original], b: ['beauty-rollout-d'] });
  });

  it('answers ROLLOUT_CONFLICT to a rollout sent while another one runs', async () => {
    const [one, two] = await Promise.all([
      withVersion('beauty-rollout-e1'),
      withVersion('beauty-rollout-e2'),
    ]);
    const answers = await Promise.all([
      server.gql(ROLLOUT, { d: one }),
      server.gql(ROLLOUT, { d: two }),
    ]);
    // Whichever arrived first runs; the other is refused, naming it.
    const won = answers.filter((a) => !a.errors);
    const lost = answers.filter((a) => a.errors);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = won[0]!.data.rolloutModel as Json;
    expect(['beauty-rollout-e1', 'beauty-rollout-e2']).toContain(winner.to);
    expect(lost[0]!.errors![0]!.extensions?.code).toBe('ROLLOUT_CONFLICT');
    expect(lost[0]!.errors![0]!.message).toContain(winner.directory);
    expect(await storedVersions()).toEqual({ a: [original], b: [winner.to] });
    expect((await server.gql(ROLLBACK)).errors).toBeUndefined();
    expect((await server.gql(STATUS)).data.modelStatus.serving.version).toBe(original);
  });
});

describe('model rollout in a cluster', () => {
  it('is refused with GATEWAY_WORKERS > 1, pointing at a restart with MODEL_DIRS', async () => {
    const serving = {
      engine: { model: { manifest: { dataset: 'beauty' } } } as ForecastEngine,
      directory: 'models/beauty',
      loadedAt: new Date(),
    };
    const rollouts = new ModelRollouts({
      db: {} as Db,
      registry: new ModelRegistry([serving]),
      load: () => Promise.reject(new Error('not loaded in a cluster')),
      createEngine: () => ({}) as ForecastEngine,
      workers: 2,
    });
    const refusal = {
      code: 'UNAVAILABLE',
      // no retry hint: the same request is refused again
      extensions: expect.not.objectContaining({ retryAfterMs: expect.anything() }),
      message: expect.stringMatching(
        /runs 2 \(GATEWAY_WORKERS\).*restart the cluster with MODEL_DIRS/,
      ),
    };
    await expect(rollouts.rollout('models/beauty')).rejects.toMatchObject(refusal);
    await expect(rollouts.rollback()).rejects.toMatchObject(refusal);
    expect(rollouts.inProgress).toBeNull();
  });
});
