// The rollout gate over GraphQL: rolloutModel refuses a model that does not beat the best
// baseline on its own test targets (MODEL_BELOW_BASELINE, naming the baseline and the margin) or
// whose model.json has no such figures (MODEL_NOT_EVALUATED); with an override reason it serves,
// and the reason is recorded in model_versions and shown by modelStatus; the dashboard shows the
// serving model's own figures from its model.json.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeModel } from '../../src/serving/gate.js';
import { ModelRegistry } from '../../src/serving/registry.js';
import { backends } from '../helpers/backends.js';
import { candidateModel, openRolloutFixture, type RolloutFixture } from '../helpers/rollout.js';
import { MODEL_DIR, type ForecastFixture } from '../helpers/forecast.js';
import type { TestServer } from '../helpers/server.js';

type Json = Record<string, any>;

const GATE = `gate { passed outcome detail admittedBy overrideReason judgedAt
  comparisons { metric model bestBaseline baseline lead } }`;
const ROLLOUT = `mutation($d: String!, $o: RolloutOverride) {
  rolloutModel(directory: $d, override: $o) { to ${GATE} } }`;
const STATUS = `{ modelStatus { serving { version ${GATE} } rollouts { to ${GATE} } } }`;

/** models/beauty linked file by file, with its model.json's version set and `metrics` edited. */
const candidate = (version: string, metrics: (m: Json) => void) =>
  candidateModel({
    manifest: (m) => {
      m.version = version;
      metrics(m);
    },
  });

/** The shipped figures with the model's test NDCG@10 below the transition baseline's. */
const worse = (m: Json) => {
  const best = m.metrics.baselines['last-item transition counts'].test;
  m.metrics.test['NDCG@10'] = best['NDCG@10'] - 0.01;
};

describe('the rollout gate', () => {
  it('passes a model ahead of every baseline on NDCG@10 and HR@10, naming the best', async () => {
    const shipped = JSON.parse(await readFile(path.join(MODEL_DIR, 'model.json'), 'utf8'));
    const v = judgeModel(shipped);
    expect(v).toMatchObject({ passed: true, outcome: 'BEATS_BASELINES' });
    expect(v.comparisons.map((c) => [c.metric, c.bestBaseline])).toEqual([
      ['NDCG@10', 'last-item transition counts'],
      ['HR@10', 'last-item transition counts'],
    ]);
    expect(v.comparisons[0]!.lead).toBeCloseTo(0.0576088 - 0.0439793, 6);
  });

  it('refuses a tie, a loss on one metric, and figures that are missing or not numbers', () => {
    const metrics = (test: Json, baselines: Json) => ({ metrics: { test, baselines } });
    const b = { rule: { test: { 'NDCG@10': 0.1, 'HR@10': 0.2 } } };
    expect(judgeModel(metrics({ 'NDCG@10': 0.1, 'HR@10': 0.3 }, b))).toMatchObject({
      passed: false,
      outcome: 'BELOW_BASELINE',
    });
    const oneLoss = judgeModel(metrics({ 'NDCG@10': 0.2, 'HR@10': 0.19 }, b));
    expect(oneLoss.outcome).toBe('BELOW_BASELINE');
    expect(oneLoss.detail).toContain('HR@10 0.1900 against 0.2000 for "rule" (−0.0100)');
    expect(judgeModel({}).outcome).toBe('NO_METRICS');
    expect(judgeModel(metrics({ 'NDCG@10': 0.2, 'HR@10': 0.3 }, {})).detail).toContain(
      'metrics.baselines has no baseline with test NDCG@10 and HR@10',
    );
    expect(judgeModel(metrics({ 'NDCG@10': '0.2', 'HR@10': 0.3 }, b)).detail).toContain(
      'metrics.test has no NDCG@10',
    );
  });
});

describe.each(backends)('the rollout gate on $name', (backend) => {
  let fixture: RolloutFixture;
  let f: ForecastFixture;
  let registry: ModelRegistry;
  let server: TestServer;

  const refused = async (d: string, o?: Json) => {
    const res = await server.gql(ROLLOUT, { d, o });
    expect(res.data).toBeNull();
    return res.errors![0] as { message: string; extensions: Json };
  };
  const recorded = async (version: string) =>
    (
      await f.db.query<{ gate: Json | string | null; gate_override_reason: string | null }>(
        'SELECT gate, gate_override_reason FROM model_versions WHERE version = $1',
        [version],
      )
    ).rows[0];

  beforeAll(async () => {
    fixture = await openRolloutFixture(backend, 40);
    ({ f, registry, server } = fixture);
  }, 180_000);

  afterAll(async () => {
    await fixture?.close();
  });

  it('refuses a model worse than its best baseline, naming it and the margin', async () => {
    const dir = await candidate('beauty-gate-worse', worse);
    const err = await refused(dir);
    expect(err.extensions.code).toBe('MODEL_BELOW_BASELINE');
    expect(err.message).toMatch(
      /^the model in .* does not beat the best baseline on its own test targets \(22363 targets\): NDCG@10 0\.0340 against 0\.0440 for "last-item transition counts" \(−0\.0100\), HR@10 0\.0917 against 0\.0670 for "last-item transition counts" \(\+0\.0247\); the serving model is unchanged/,
    );
    expect(err.extensions.gate).toMatchObject({ passed: false, outcome: 'BELOW_BASELINE' });
    expect(registry.modelsOf('beauty')!.current.engine).toBe(f.engine);
    expect(await recorded('beauty-gate-worse')).toBeUndefined();
  });

  it('refuses a model whose model.json has no test figures to compare', async () => {
    const none = await candidate('beauty-gate-none', (m) => delete m.metrics);
    const err = await refused(none);
    expect(err.extensions.code).toBe('MODEL_NOT_EVALUATED');
    expect(err.message).toContain('metrics.test has no NDCG@10 or HR@10');
    const noBaselines = await candidate('beauty-gate-nob', (m) => delete m.metrics.baselines);
    expect((await refused(noBaselines)).extensions.code).toBe('MODEL_NOT_EVALUATED');
    // an empty reason is no override
    const blank = await refused(none, { reason: '  ' });
    expect(blank.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'override.reason' });
  });

  it('serves a refused model with an override, recording and showing the reason', async () => {
    const dir = await candidate('beauty-gate-override', worse);
    const reason = 'ticket 42: the baselines were fitted on a broken export';
    const res = await server.gql(ROLLOUT, { d: dir, o: { reason } });
    expect(res.errors).toBeUndefined();
    expect(res.data.rolloutModel).toMatchObject({
      to: 'beauty-gate-override',
      gate: {
        passed: false,
        outcome: 'BELOW_BASELINE',
        admittedBy: 'ROLLOUT',
        overrideReason: reason,
      },
    });
    const row = await recorded('beauty-gate-override');
    const gate = typeof row!.gate === 'string' ? JSON.parse(row!.gate) : row!.gate;
    expect(gate).toMatchObject({ passed: false, outcome: 'BELOW_BASELINE' });
    expect(row!.gate_override_reason).toBe(reason);
    const status = (await server.gql(STATUS)).data.modelStatus;
    expect(status.serving).toMatchObject({
      version: 'beauty-gate-override',
      gate: { passed: false, overrideReason: reason, admittedBy: 'ROLLOUT' },
    });
    expect(status.serving.gate.comparisons[0]).toMatchObject({
      metric: 'NDCG@10',
      bestBaseline: 'last-item transition counts',
    });
    expect(status.rollouts[0].gate.overrideReason).toBe(reason);
  });

  it('passes a model that beats its baselines, and the dashboard shows its own figures', async () => {
    // a rollback is not gated (and keeps the fixture's model loaded: the next switch retires
    // the overridden one)
    const back = await server.gql(
      'mutation { rollbackModel(dataset: "beauty") { to gate { passed } } }',
    );
    expect(back.data.rollbackModel).toEqual({ to: f.model.version, gate: null });
    const dir = await candidate('beauty-gate-better', (m) => (m.metrics.test['HR@10'] = 0.5));
    const res = await server.gql(ROLLOUT, { d: dir });
    expect(res.errors).toBeUndefined();
    expect(res.data.rolloutModel.gate).toMatchObject({
      passed: true,
      outcome: 'BEATS_BASELINES',
      overrideReason: null,
    });
    expect(await recorded('beauty-gate-better')).toMatchObject({ gate_override_reason: null });
    const summary = (await (
      await fetch(`${server.url.replace(/\/graphql$/, '')}/dashboard/model.json?dataset=beauty`)
    ).json()) as Json;
    expect(summary).toMatchObject({ version: 'beauty-gate-better', source: 'model.json' });
    expect(summary.rows[0]).toMatchObject({ method: 'model', 'HR@10': 0.5 });
    expect(summary.rows.map((r: Json) => r.method)).toContain('last-item transition counts');
    expect(summary.gate).toContain('rollout gate: beats the best baseline');
  });
});
