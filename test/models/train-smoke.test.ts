// The training pipeline still runs end to end: a few steps on a slice of Beauty produce a model
// directory whose ONNX files load in onnxruntime-node and give finite, contract-shaped outputs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Fixture, maxAbsDiff, readJson, readModelMeta, runOnnx } from './contract.js';
import { PYTHON } from '../helpers/python.js';
import { bindColdItems } from '../../src/forecast/cold-items.js';
import { withTerms } from '../../src/forecast/terms/index.js';
import { Model } from '../../src/inference/model.js';

const outs: string[] = [];

afterAll(() => outs.forEach((out) => fs.rmSync(out, { recursive: true, force: true })));

describe('train.py smoke run', () => {
  it.each([
    ['', [], undefined],
    // the refined Markov term over the 3 newest items: scorer inputs [B, K, N] and [B, K]; and a
    // content tower trained without the titles beside the sequences file
    [
      ' (--markov-refine --markov-items 3 --no-item-text)',
      ['--markov', '--markov-refine', '--markov-items', '3', '--no-item-text'],
      3,
    ],
    // plus the co-occurrence term with sequential rules, chosen with history excluded: scorer input
    // candidate_cooccurrence [B, N]
    [
      ' (--cooccurrence --cooccurrence-sequential 3 --exclude-history)',
      [
        '--markov', '--markov-refine', '--markov-items', '2', '--cooccurrence', '--cooccurrence-neighbors', '20',
        '--cooccurrence-sequential', '3', '--exclude-history',
      ],
      2,
    ],
  ] as const)('trains a few steps on 300 Beauty users and exports a loadable model%s', { timeout: 120_000 }, async (
    _label,
    extra,
    markovItems,
  ) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-smoke-'));
    outs.push(out);
    const run = spawnSync(
      PYTHON,
      [
        'models/training/train.py',
        '--data', 'data/amazon/Beauty.txt',
        '--attributes', 'data/amazon/Beauty_item2attributes.json',
        '--out', out,
        '--max-users', '300',
        '--max-steps', '3',
        '--epochs', '1',
        '--content-epochs', '1',
        '--dim', '16',
        ...extra,
      ],
      { encoding: 'utf8', timeout: 110_000 },
    );
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/epoch 1 loss \d/);

    const meta = readModelMeta(out);
    expect(meta.dataset).toBe('beauty');
    expect(meta.dim).toBe(16);
    expect(meta.scorer.markovItems).toBe(markovItems);
    // Beauty's titles (data/amazon/Beauty_item_text.tsv) feed the content tower unless told not to
    const hp = (meta as unknown as { training: { hyperParameters: { content_text?: string } } })
      .training.hyperParameters;
    expect(hp.content_text).toBe(
      (extra as readonly string[]).includes('--no-item-text') ? 'none (--no-item-text)' : 'titles',
    );
    if ((extra as readonly string[]).includes('--cooccurrence')) {
      // the weight is chosen on validation and may be 0 on 300 users; the file exists only when > 0
      const c = meta.scorer.cooccurrence;
      expect(run.stdout).toMatch(/cooccurrence: \d+ pairs, alpha [\d.]+, weight [\d.]+, window \d+/);
      // the validation grid covers the sequential part's alpha (0 = the cosine table alone)
      expect(run.stdout).toMatch(/cooccurrence alpha 0\.125 window 3: valid NDCG@10/);
      if (c) {
        expect(c.neighbors).toBe(20);
        expect(fs.statSync(path.join(out, 'cooccurrence.bin')).size).toBe((meta.numItems + 2 + 2 * c.pairs) * 4);
      }
    }
    const vocab = readJson<{ items: string[]; attributes: string[] }>(path.join(out, 'vocab.json'));
    expect(vocab.items).toHaveLength(meta.numItems);
    expect(fs.statSync(path.join(out, 'item_embeddings.f32')).size).toBe((meta.numItems + 1) * meta.dim * 4);

    const parity = readJson<Record<'encoder' | 'scorer' | 'content', { inputs: Fixture; outputs: Fixture }>>(
      path.join(out, 'parity.json'),
    );
    for (const name of ['encoder', 'scorer', 'content'] as const) {
      const { outputs } = await runOnnx(path.join(out, `${name}.onnx`), parity[name].inputs);
      for (const [key, expected] of Object.entries(parity[name].outputs)) {
        const t = outputs[key]!;
        expect((t.data as Float32Array).every(Number.isFinite), `${name}.${key} finite`).toBe(true);
        expect(maxAbsDiff(t, expected), `${name}.${key}`).toBeLessThanOrEqual(1e-4);
      }
    }
  });

  it('rejects --holdout-users outside [0, 1) before training', () => {
    const run = spawnSync(
      PYTHON,
      ['models/training/train.py', '--data', 'data/amazon/Beauty.txt', '--attributes', 'data/amazon/Beauty_item2attributes.json',
        '--out', path.join(os.tmpdir(), 'foresight-smoke-never-written'), '--holdout-users', '1'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/--holdout-users must be at least 0 and below 1, not 1/);
    expect(run.stdout).not.toMatch(/epoch/);
  });

  it('holds users out of training (--holdout-users) and evaluate.py ranks their first 1 and 2 items', { timeout: 240_000 }, async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-smoke-'));
    outs.push(out);
    const data = ['--data', 'data/amazon/Beauty.txt', '--attributes', 'data/amazon/Beauty_item2attributes.json'];
    const train = spawnSync(
      PYTHON,
      [
        'models/training/train.py', ...data, '--out', out, '--max-users', '300', '--max-steps', '3', '--epochs', '1',
        '--content-epochs', '1', '--dim', '16', '--holdout-users', '0.2', '--holdout-items', '0.05', '--markov',
        '--markov-refine', '--markov-items', '2', '--cooccurrence', '--cooccurrence-neighbors', '20', '--exclude-history',
      ],
      { encoding: 'utf8', timeout: 110_000 },
    );
    expect(train.status, train.stderr + train.stdout).toBe(0);
    const meta = readModelMeta(out) as ReturnType<typeof readModelMeta> & { data: Record<string, unknown> };
    expect(meta.data.heldOutUsers).toBe(60);
    const heldout = readJson<{ dataset: string; items: string[]; users: string[] }>(path.join(out, 'heldout.json'));
    expect(heldout.dataset).toBe('beauty');
    expect(heldout.users).toHaveLength(60);
    expect(heldout.items).toHaveLength(meta.data.heldOutItems as number);
    expect(heldout.items.length).toBe(Math.round(0.05 * meta.numItems));
    const vocab = new Set(readJson<{ items: string[] }>(path.join(out, 'vocab.json')).items);
    expect(heldout.items.every((id) => vocab.has(id))).toBe(true);

    // the transition counts are those of the other 240 users' training parts, held-out items removed
    const lines = fs.readFileSync('data/amazon/Beauty.txt', 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
      .filter((p) => p.length >= 2).slice(0, 300);
    const heldUsers = new Set(heldout.users);
    const heldItems = new Set(heldout.items);
    const warm = (raw: string) => !heldItems.has(`beauty:${raw}`);
    const transitions = (users: string[][]) => users.reduce((sum, [, ...items]) => {
      const kept = (items.length < 3 ? items : items.slice(0, -2)).filter(warm);
      return sum + Math.max(0, kept.length - 1);
    }, 0);
    const trainUsers = lines.filter(([u]) => !heldUsers.has(`beauty:${u}`));
    expect(trainUsers).toHaveLength(240);
    const bin = fs.readFileSync(path.join(out, 'transitions.bin'));
    const ints = new Int32Array(bin.buffer, bin.byteOffset, bin.length / 4);
    const nnz = ints[meta.numItems + 1]!;
    const counted = ints.subarray(meta.numItems + 2 + nnz).reduce((a, b) => a + b, 0);
    expect(counted).toBe(transitions(trainUsers));
    expect(counted).toBeLessThan(transitions(lines));

    const metricsFile = path.join(out, 'metrics.json');
    const evaluate = spawnSync(
      PYTHON,
      ['models/training/evaluate.py', ...data, '--model', out, '--metrics', metricsFile, '--exclude-history', '--threads', '1'],
      { encoding: 'utf8', timeout: 110_000 },
    );
    expect(evaluate.status, evaluate.stderr + evaluate.stdout).toBe(0);
    type Summary = Record<string, number>;
    const entry = readJson<Record<string, {
      users: number;
      model: { test: Summary };
      coldUsers: { heldOutUsers: number; prefixes: Record<string, { skippedColdItems: number; rows: Record<string, Summary> }> };
    }>>(metricsFile)['beauty-cold-users-history-excluded']!;
    expect(entry.users).toBe(300);
    expect(entry.model.test.users).toBe(240); // the warm users' leave-one-out (5-core: all have >= 3 events)
    expect(entry.coldUsers.heldOutUsers).toBe(60);
    expect(Object.keys(entry.coldUsers.prefixes)).toEqual(['1', '2']);
    const coldUsers = lines.filter(([u]) => heldUsers.has(`beauty:${u}`));
    for (const k of [1, 2]) {
      // held-out users whose first k + 1 items are all warm
      const expected = coldUsers.filter(([, ...items]) => items.length > k && items.slice(0, k + 1).every(warm)).length;
      const { skippedColdItems, rows } = entry.coldUsers.prefixes[String(k)]!;
      expect(skippedColdItems).toBe(60 - expected);
      expect(Object.keys(rows)).toEqual([
        'model (as served: scorer.onnx over all items)', 'model, encoder inner product only', 'most popular',
        'last-item transition counts', 'item co-occurrence kNN (last 5 items, decayed)',
      ]);
      for (const m of Object.values(rows)) {
        expect(m.users).toBe(expected);
        expect(m['HR@10']).toBeGreaterThanOrEqual(m['HR@5']!);
        expect(m['HR@20']).toBeLessThanOrEqual(1);
        expect(m['NDCG@10']).toBeLessThanOrEqual(m['HR@10']!);
      }
    }

    // cold_items.py fits scorer.coldItems on the held-out items, and the gateway serves it
    const fit = spawnSync(
      PYTHON,
      ['-m', 'foresight_training.sequence.cold_items', '--model', out, '--data', '../../data/amazon/Beauty.txt',
        '--attributes', '../../data/amazon/Beauty_item2attributes.json', '--warm', '200'],
      { encoding: 'utf8', timeout: 110_000, cwd: 'models/training' },
    );
    expect(fit.status, fit.stderr + fit.stdout).toBe(0);
    const fitted = readModelMeta(out) as ReturnType<typeof readModelMeta> & {
      scorer: { coldItems: { features: string[]; weights: number[] } };
      files: Record<string, string>;
      metrics: { coldItems: { heldOutItems: number } };
    };
    expect(fitted.scorer.coldItems.weights).toHaveLength(fitted.scorer.coldItems.features.length);
    expect(fitted.metrics.coldItems.heldOutItems).toBe(heldout.items.length);
    expect(fs.statSync(path.join(out, fitted.files.contentVectors!)).size).toBe((meta.numItems + 1) * 16 * 4);
    const model = await withTerms(Model.load(out, 'cpu'));
    try {
      const cold = bindColdItems(model);
      expect(cold?.spec.boost).toBe(fitted.scorer.coldItems.boost);
    } finally {
      await model.release();
    }

    // --weights-from measures a fit on another model's held-out items (here its own, so the
    // transferred weights are the model's); --attach gives them to a model without coldItems
    const report = path.join(out, 'transfer.json');
    const coldItems = ['-m', 'foresight_training.sequence.cold_items', '--data', '../../data/amazon/Beauty.txt',
      '--attributes', '../../data/amazon/Beauty_item2attributes.json', '--weights-from', path.join(out, 'model.json')];
    const measured = spawnSync(PYTHON, [...coldItems, '--model', out, '--warm', '200', '--report', report],
      { encoding: 'utf8', timeout: 110_000, cwd: 'models/training' });
    expect(measured.status, measured.stderr + measured.stdout).toBe(0);
    const transfer = readJson<Record<string, { weights?: number[]; test: Record<string, unknown> }>>(report);
    expect(Object.keys(transfer)).toEqual(expect.arrayContaining(['transferred', 'ownFit', 'scorerAlone']));
    expect(transfer.transferred!.weights).toEqual(fitted.scorer.coldItems.weights);
    const bare = path.join(out, 'bare');
    fs.mkdirSync(bare);
    for (const f of fs.readdirSync(out)) {
      if (f !== 'bare' && f !== fitted.files.contentVectors) fs.copyFileSync(path.join(out, f), path.join(bare, f));
    }
    const meta2 = readJson<Record<string, Record<string, unknown>>>(path.join(bare, 'model.json'));
    delete meta2.scorer!.coldItems;
    delete meta2.files!.contentVectors;
    fs.writeFileSync(path.join(bare, 'model.json'), JSON.stringify(meta2));
    const attached = spawnSync(PYTHON, [...coldItems, '--model', bare, '--attach', '--transfer', report],
      { encoding: 'utf8', timeout: 110_000, cwd: 'models/training' });
    expect(attached.status, attached.stderr + attached.stdout).toBe(0);
    const given = readModelMeta(bare) as typeof fitted & { metrics: { coldItems: { weightsFrom: string } } };
    expect(given.scorer.coldItems).toEqual(fitted.scorer.coldItems);
    expect(given.metrics.coldItems.weightsFrom).toBe(meta.version);
    // the model's content vectors, held-out rows included this time (it has nothing held out)
    const vectors = (dir: string) => new Float32Array(fs.readFileSync(path.join(dir, 'content_vectors.f32')).buffer.slice(0));
    const [own, all] = [vectors(out), vectors(bare)];
    const zero = (v: Float32Array, k: number) => v.subarray(k * 16, (k + 1) * 16).every((x) => x === 0);
    expect(all.length).toBe(own.length);
    for (let k = 1; k <= meta.numItems; k++) {
      if (!zero(own, k)) expect(Array.from(all.subarray(k * 16, (k + 1) * 16))).toEqual(Array.from(own.subarray(k * 16, (k + 1) * 16)));
    }
    const indexOf = new Map(readJson<{ items: string[] }>(path.join(out, 'vocab.json')).items.map((id, k) => [id, k + 1]));
    expect(heldout.items.every((id) => zero(own, indexOf.get(id)!) && !zero(all, indexOf.get(id)!))).toBe(true);
  });
});
