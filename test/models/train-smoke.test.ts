// The training pipeline still runs end to end: a few steps on a slice of Beauty produce a model
// directory whose ONNX files load in onnxruntime-node and give finite, contract-shaped outputs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Fixture, maxAbsDiff, readJson, readModelMeta, runOnnx } from './contract.js';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const outs: string[] = [];

afterAll(() => outs.forEach((out) => fs.rmSync(out, { recursive: true, force: true })));

describe('train.py smoke run', () => {
  it.each([
    ['', [], undefined],
    // the refined Markov term over the 3 newest items: scorer inputs [B, K, N] and [B, K]
    [' (--markov-refine --markov-items 3)', ['--markov', '--markov-refine', '--markov-items', '3'], 3],
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
});
