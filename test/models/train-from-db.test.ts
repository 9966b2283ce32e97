// `npm run train -- --from-db`: train.py exports a dataset from the database (here the embedded
// PGlite, released before training), trains on its event types and times and writes a model
// directory whose encoder input, as the gateway builds it from the stored events, is the one
// training fed; too small a dataset, bad flags and a failed export are refused before training.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEventBatch, type EventSubmission } from '../../src/db/events.js';
import { subjectHistories } from '../../src/db/forecasts.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { Model } from '../../src/inference/model.js';
import { exportDataset } from '../../src/training/export-dataset.js';
import { digineticaFixture, tempDirs } from '../helpers/fixtures.js';
import { type Fixture, maxAbsDiff, readJson, readModelMeta, runOnnx } from './contract.js';
import { PYTHON, runTrainingSnippet } from '../helpers/python.js';

const dirs = tempDirs();
afterAll(() => dirs.removeAll());
const dir = dirs.make;
const csv = digineticaFixture;

/**
 * A PGlite data directory holding the DIGINETICA views fixture recorded as a live shop's events
 * (dataset `shop`): through recordEventBatch, with occurredAt = day + offset, and the items'
 * categories from the categories fixture.
 */
async function shopDatabase(): Promise<string> {
  const dataDir = await dir();
  const db = await openPglite(dataDir);
  try {
    await migrate(db, { EMBEDDING_DIM: 16 });
    const views = (await csv('sample-train-item-views.csv')).sort(
      (a, b) => Number(a[0]) - Number(b[0]) || Number(a[3]) - Number(b[3]),
    );
    const items = [...new Set(views.map((v) => v[2]!))];
    const categories = (await csv('product-categories.csv')).filter(([i]) => items.includes(i!));
    await db.query(
      `INSERT INTO items (id, dataset) SELECT 'shop:' || i, 'shop' FROM unnest($1::text[]) i`,
      [items],
    );
    await db.query(
      `INSERT INTO categories (id, dataset, name)
       SELECT DISTINCT 'shop:c' || c, 'shop', c FROM unnest($1::text[]) c`,
      [categories.map((c) => c[1]!)],
    );
    await db.query(
      `INSERT INTO item_categories (item_id, category_id)
       SELECT 'shop:' || i, 'shop:c' || c FROM unnest($1::text[], $2::text[]) AS x(i, c)`,
      [categories.map((c) => c[0]!), categories.map((c) => c[1]!)],
    );
    const batch: EventSubmission[] = views.map(([sess, user, item, timeframe, day], k) => ({
      clientEventId: `v${k}`,
      type: 'VIEW',
      userId: user === 'NA' ? null : `shop:${user}`,
      sessionId: `shop:v${sess}`,
      itemId: `shop:${item}`,
      query: null,
      occurredAt: new Date(Date.parse(`${day}T00:00:00Z`) + Number(timeframe)),
    }));
    await recordEventBatch(db, batch, new Date());
  } finally {
    await db.close();
  }
  return dataDir;
}

function train(dataDir: string, args: string[]) {
  return spawnSync(PYTHON, ['models/training/train.py', ...args], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' },
  });
}

// The training side's encoder input for one exported sequence, by the training code itself.
const TRAINING_STATE = `
import json, sys
import torch
from foresight_training.sequence.data import apply_observed, encoder_inputs, read_events, sequence_events
from foresight_training.sequence.evaluate import load_model
out, events_file, sequence_id = sys.argv[1:]
enc, _, _ = load_model(out)
meta = json.load(open(out + "/model.json"))
index = {i: k + 1 for k, i in enumerate(json.load(open(out + "/vocab.json"))["items"])}
s = sequence_events(dict(read_events(events_file))[sequence_id], index)
apply_observed([s], meta["observed"])
ids, ev, gaps = encoder_inputs([s[-enc.max_len:]], meta["maxLen"])
with torch.no_grad():
    u, _, _ = enc(ids, ev, gaps)
print(json.dumps({"userState": u[0].tolist(), "types": sorted(set(ev[0].tolist())),
                  "gaps": sorted(set(gaps[0].tolist()))}))
`;

describe('train.py --from-db', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await shopDatabase();
  });

  it('trains on the exported events and serves the encoder input training fed', { timeout: 180_000 }, async () => {
    const out = await dir();
    const run = train(dataDir, [
      '--from-db', '--dataset', 'shop', '--split', 'loo', '--out', out, '--max-steps', '3', '--epochs', '1',
      '--content-epochs', '1', '--dim', '16', '--threads', '1', '--markov',
    ]);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/exported shop from PGlite at .*: 300 events in \d+ sequences/);
    expect(run.stdout).toMatch(/epoch 1 loss \d/);

    const meta = readModelMeta(out) as ReturnType<typeof readModelMeta> & {
      data: { format: string; source: string; split: { kind: string } };
    };
    expect(meta.dataset).toBe('shop');
    expect(meta.data).toMatchObject({ format: 'events', source: 'database', split: { kind: 'loo' } });
    expect(meta.observed).toEqual({ eventTypes: ['VIEW'], timeGaps: true });
    // 300 events leave too few next-category targets to choose a forecaster: none is shipped,
    // and model.json says why (forecasts keep the item model's head)
    const category = (meta as unknown as { metrics: { category: { skipped?: string } } }).metrics
      .category;
    expect(category.skipped).toMatch(/validation and \d+ test next-category targets .*too few/);
    expect(fs.existsSync(path.join(out, 'category.json'))).toBe(false);
    const vocab = readJson<{ items: string[]; attributes: string[] }>(path.join(out, 'vocab.json'));
    expect(vocab.items.every((id) => id.startsWith('shop:'))).toBe(true);
    expect(vocab.attributes.every((id) => /^shop:c\d+$/.test(id))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain(`# Model card: ${meta.version}`);
    const parity = readJson<Record<'encoder' | 'scorer' | 'content', { inputs: Fixture; outputs: Fixture }>>(
      path.join(out, 'parity.json'),
    );
    for (const name of ['encoder', 'scorer', 'content'] as const) {
      const { outputs } = await runOnnx(path.join(out, `${name}.onnx`), parity[name].inputs);
      for (const [key, expected] of Object.entries(parity[name].outputs))
        expect(maxAbsDiff(outputs[key]!, expected), `${name}.${key}`).toBeLessThanOrEqual(1e-4);
    }

    // The exporter released the data directory: the gateway's read path opens it again.
    const db = await openPglite(dataDir);
    const exported = await dir();
    let history;
    let sessionId: string;
    try {
      await exportDataset(db, 'shop', exported);
      const { rows } = await db.query<{ id: string }>(
        `SELECT session_id AS id FROM events WHERE user_id IS NULL GROUP BY session_id
         ORDER BY count(*) DESC, session_id LIMIT 1`,
      );
      sessionId = rows[0]!.id;
      history = (await subjectHistories(db, 'session', [sessionId], 200)).get(sessionId)!;
    } finally {
      await db.close();
    }
    const model = await Model.load(out, 'cpu', 1);
    try {
      const [served] = await model.encode([
        history.events.map((e) => ({ itemId: e.itemId, type: e.type, occurredAt: e.occurredAt })),
      ]);
      const py = runTrainingSnippet(TRAINING_STATE, [
        out,
        path.join(exported, 'events.jsonl'),
        `session:${sessionId}`,
      ]);
      expect(py.status, py.stderr).toBe(0);
      const trained = JSON.parse(py.stdout) as { userState: number[]; types: number[]; gaps: number[] };
      expect(trained.types).toEqual([0, 2]); // padding and VIEW
      expect(trained.gaps.length).toBeGreaterThan(2); // padding, the first event's 1, real buckets
      expect(served!.userState).toHaveLength(trained.userState.length);
      const diff = Math.max(...served!.userState.map((x, d) => Math.abs(x - trained.userState[d]!)));
      expect(diff).toBeLessThanOrEqual(1e-4);
    } finally {
      await model.release();
    }
  });

  it('refuses a dataset too small to train on, naming its counts', { timeout: 240_000 }, async () => {
    const tiny = await dir();
    const db = await openPglite(tiny);
    try {
      await migrate(db, { EMBEDDING_DIM: 16 });
      await db.query(`INSERT INTO items (id, dataset) VALUES ('tiny:1', 'tiny'), ('tiny:2', 'tiny')`);
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s));
      await recordEventBatch(
        db,
        ['tiny:1', 'tiny:2', 'tiny:1'].map((itemId, k) => ({
          clientEventId: `t${k}`,
          type: 'VIEW',
          userId: 'tiny:u1',
          sessionId: null,
          itemId,
          query: null,
          occurredAt: at(k),
        })),
        new Date(),
      );
    } finally {
      await db.close();
    }
    const run = train(tiny, ['--from-db', '--dataset', 'tiny', '--out', path.join(tiny, 'never')]);
    expect(run.status).not.toBe(0);
    // events with times: the cut-off protocol, whose validation and test parts are counted first
    expect(run.stderr).toMatch(
      /too few targets to choose a model or to judge it: valid: 0 evaluated of 1 targets \(1 on items unseen before the validation cut-off, 0 without a known earlier event\); test: 0 evaluated of 1 targets \(1 on items unseen before the validation cut-off, 0 without a known earlier event\)\. Each of validation and test needs at least 200 \(--min-targets\)/,
    );
    const loo = train(tiny, ['--from-db', '--dataset', 'tiny', '--split', 'loo', '--out', path.join(tiny, 'never')]);
    expect(loo.status).not.toBe(0);
    expect(loo.stderr).toMatch(
      /dataset tiny has too few events to train: 3 events in 1 sequences; the training part has 0 transitions \(next-event pairs\) on 2 items, with 1 validation and 1 test sequences to evaluate \(loo split\)\. Training needs at least 100 transitions, 10 items/,
    );
    expect(run.stdout).not.toMatch(/epoch/);
    expect(fs.existsSync(path.join(tiny, 'never'))).toBe(false);
  });

  it('checks its flags before exporting, and stops when the export fails', { timeout: 60_000 }, () => {
    const out = path.join(dataDir, 'never');
    const flags = train(dataDir, ['--from-db', '--dataset', 'shop', '--attributes', 'x.json', '--out', out]);
    expect(flags.status).not.toBe(0);
    expect(flags.stderr).toMatch(
      /--from-db reads the items' categories and their tree from the database: drop --attributes/,
    );
    expect(flags.stdout).not.toMatch(/exporting/);
    const tree = train(dataDir, ['--from-db', '--dataset', 'shop', '--categories', 'c.json', '--out', out]);
    expect(tree.status).not.toBe(0);
    expect(tree.stderr).toMatch(/from the database: drop --categories/);
    const missing = train(dataDir, ['--from-db', '--dataset', 'nope', '--out', out]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/dataset "nope" has no events on items to train on; datasets with events: shop/);
    expect(missing.stderr).toMatch(/--from-db: exporting dataset nope failed \(exit 2/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
