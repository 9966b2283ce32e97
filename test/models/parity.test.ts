// The shipped model directory honours models/README.md, and its ONNX files reproduce the PyTorch
// outputs saved at export (parity.json) within the stated tolerance.
import path from 'node:path';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { datasetOf } from '../../src/db/events.js';
import {
  CONTRACT,
  type Fixture,
  maxAbsDiff,
  readItemEmbeddings,
  readJson,
  readModelMeta,
  runOnnx,
  shapeOf,
} from './contract.js';
import { scorerTermInputs } from '../../src/forecast/terms/index.js';

// PARITY_MODEL_DIR: check another model directory (e.g. a candidate before it is shipped)
const MODEL_DIR = path.resolve(process.env.PARITY_MODEL_DIR ?? 'models/beauty');
const meta = readModelMeta(MODEL_DIR);

interface ParityCase {
  inputs: Fixture;
  outputs: Fixture;
}
const parity = readJson<{
  tolerance: number;
  encoder: ParityCase & { topItems: number[][] };
  scorer: ParityCase;
  content: ParityCase;
}>(path.join(MODEL_DIR, 'parity.json'));

describe('model directory', () => {
  it('has every file named in model.json and is small enough to commit', () => {
    let total = 0;
    for (const f of Object.values(meta.files)) {
      total += fs.statSync(path.join(MODEL_DIR, f)).size;
    }
    expect(total).toBeLessThan(30 * 1024 * 1024);
    expect(meta.heads).toEqual({ category: true, purchase: false });
  });

  it('item_embeddings.f32 is [numItems + 1, dim] with a zero padding row', () => {
    const emb = readItemEmbeddings(MODEL_DIR, meta);
    expect(emb.length).toBe((meta.numItems + 1) * meta.dim);
    expect(Array.from(emb.subarray(0, meta.dim)).every((x) => x === 0)).toBe(true);
    expect(emb.every((x) => Number.isFinite(x))).toBe(true);
  });

  it('transitions.bin is the CSR the scorer\'s Markov term reads, each row most frequent first', () => {
    expect(meta.scorer.markov).toHaveLength(2);
    const raw = fs.readFileSync(path.join(MODEL_DIR, meta.files.transitions!));
    const ints = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const rows = meta.numItems + 1;
    const indptr = ints.subarray(0, rows + 1);
    const nnz = indptr[rows]!;
    expect(nnz).toBe(meta.scorer.transitions);
    expect(ints.length).toBe(rows + 1 + 2 * nnz);
    const succ = ints.subarray(rows + 1, rows + 1 + nnz);
    const counts = ints.subarray(rows + 1 + nnz);
    expect(indptr[0]).toBe(0);
    expect(indptr[1]).toBe(0); // row 0 = padding
    const bad: string[] = [];
    for (let i = 1; i < rows; i++) {
      if (indptr[i + 1]! < indptr[i]!) bad.push(`indptr[${i + 1}] < indptr[${i}]`);
      for (let k = indptr[i]!; k < indptr[i + 1]!; k++) {
        if (!(succ[k]! >= 1 && succ[k]! <= meta.numItems)) bad.push(`row ${i}: successor ${succ[k]}`);
        if (!(counts[k]! >= 1)) bad.push(`row ${i}: count ${counts[k]}`);
        if (k > indptr[i]! && counts[k]! > counts[k - 1]!) bad.push(`row ${i}: not most frequent first`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it.runIf(meta.scorer.cooccurrence)(
    'cooccurrence.bin is the CSR the co-occurrence term reads, each row most similar first',
    () => {
      const cooc = meta.scorer.cooccurrence!;
      expect(cooc.weight).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(cooc.window) && cooc.window >= 1).toBe(true);
      expect(cooc.decay > 0 && cooc.decay <= 1).toBe(true);
      const raw = fs.readFileSync(path.join(MODEL_DIR, meta.files.cooccurrence!));
      const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      const rows = meta.numItems + 1;
      const indptr = new Int32Array(buf, 0, rows + 1);
      const nnz = indptr[rows]!;
      expect(nnz).toBe(cooc.pairs);
      expect(raw.byteLength).toBe(4 * (rows + 1 + 2 * nnz));
      const cols = new Int32Array(buf, 4 * (rows + 1), nnz);
      const sims = new Float32Array(buf, 4 * (rows + 1 + nnz), nnz);
      expect(indptr[0]).toBe(0);
      expect(indptr[1]).toBe(0); // row 0 = padding
      const bad: string[] = [];
      for (let i = 1; i < rows; i++) {
        if (indptr[i + 1]! - indptr[i]! > cooc.neighbors) bad.push(`row ${i}: more than ${cooc.neighbors}`);
        for (let k = indptr[i]!; k < indptr[i + 1]!; k++) {
          if (!(cols[k]! >= 1 && cols[k]! <= meta.numItems)) bad.push(`row ${i}: neighbour ${cols[k]}`);
          if (!(sims[k]! > 0)) bad.push(`row ${i}: similarity ${sims[k]}`);
          const prev = k > indptr[i]! ? k - 1 : -1;
          if (prev >= 0 && (sims[k]! > sims[prev]! || (sims[k] === sims[prev] && cols[k]! < cols[prev]!)))
            bad.push(`row ${i}: not most similar first (ties by index)`);
        }
      }
      expect(bad.slice(0, 5)).toEqual([]);
    },
  );

  it('vocab.json holds the gateway\'s ids of the dataset in model-index order', () => {
    const vocab = readJson<{ items: string[]; attributes: string[] }>(
      path.join(MODEL_DIR, meta.files.vocab),
    );
    expect(vocab.items).toHaveLength(meta.numItems);
    expect(vocab.attributes).toHaveLength(meta.numAttributes);
    expect(vocab.items.every((id) => datasetOf(id) === meta.dataset)).toBe(true);
    // Amazon sequences files: `<dataset>:a<raw id>`; the events format (trained from the
    // database): the gateway's category ids as they are
    const attributeId = meta.data?.format === 'events' ? /^\S+$/ : /^[a-z0-9_]+:a[^:]+$/;
    expect(vocab.attributes.every((id) => attributeId.test(id))).toBe(true);
    expect(new Set(vocab.items).size).toBe(vocab.items.length);
    expect(new Set(vocab.attributes).size).toBe(vocab.attributes.length);
  });

  it('observed names only event types of the model\'s eventTypes', () => {
    const observed = meta.observed ?? { eventTypes: meta.eventTypes.slice(2), timeGaps: true };
    expect(observed.eventTypes.every((t) => meta.eventTypes.indexOf(t) >= 2)).toBe(true);
    expect(typeof observed.timeGaps).toBe('boolean');
    // the sequences format has neither; the events format says what its data had
    if (meta.data?.format !== 'events') expect(observed).toEqual({ eventTypes: [], timeGaps: false });
  });
});

describe.each(['encoder', 'scorer', 'content'] as const)('%s.onnx parity', (name) => {
  it(`has the contract's inputs/outputs and matches PyTorch within ${parity.tolerance}`, async () => {
    const { session, outputs } = await runOnnx(path.join(MODEL_DIR, meta.files[name]), parity[name].inputs);
    // Fed by name: the optional inputs may come in any order after the base ones.
    const extra = name === 'scorer' ? scorerTermInputs(meta) : [];
    const names = [...session.inputNames];
    expect(names.slice(0, CONTRACT[name].inputs.length)).toEqual([...CONTRACT[name].inputs]);
    expect(names.slice(CONTRACT[name].inputs.length).sort()).toEqual([...extra].sort());
    // parity.json feeds every input, by name, the optional ones included
    expect(Object.keys(parity[name].inputs).sort()).toEqual([...names].sort());
    expect([...session.outputNames]).toEqual([...CONTRACT[name].outputs]);
    for (const [out, expected] of Object.entries(parity[name].outputs)) {
      const t = outputs[out];
      expect(t, out).toBeDefined();
      expect([...t!.dims], out).toEqual(shapeOf(expected));
      expect(maxAbsDiff(t!, expected), out).toBeLessThanOrEqual(parity.tolerance);
    }
  });
});

describe('encoder outputs', () => {
  it('have contract shapes, valid distributions, and retrieve the same top items as PyTorch', async () => {
    const { outputs } = await runOnnx(path.join(MODEL_DIR, meta.files.encoder), parity.encoder.inputs);
    const ids = parity.encoder.inputs.item_ids as number[][];
    const B = ids.length;
    expect([...outputs.user_state!.dims]).toEqual([B, meta.dim]);
    expect([...outputs.category_probs!.dims]).toEqual([B, meta.numAttributes + 1]);
    expect([...outputs.attention!.dims]).toEqual([B, meta.maxLen]);
    const probs = outputs.category_probs!.data as Float32Array;
    const att = outputs.attention!.data as Float32Array;
    const u = outputs.user_state!.data as Float32Array;
    const emb = readItemEmbeddings(MODEL_DIR, meta);
    for (let b = 0; b < B; b++) {
      const p = probs.subarray(b * (meta.numAttributes + 1), (b + 1) * (meta.numAttributes + 1));
      expect(p[0]).toBeLessThan(1e-6);
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 4);
      const a = att.subarray(b * meta.maxLen, (b + 1) * meta.maxLen);
      const row = ids[b]!;
      expect(a.reduce((s, x, i) => s + (row[i]! > 0 ? x : 0), 0)).toBeCloseTo(1, 4);
      expect(a.every((x, i) => row[i]! > 0 || x < 1e-6)).toBe(true);
      // retrieval = inner product with item_embeddings.f32
      const scores: [number, number][] = [];
      for (let i = 1; i <= meta.numItems; i++) {
        let s = 0;
        for (let d = 0; d < meta.dim; d++) s += u[b * meta.dim + d]! * emb[i * meta.dim + d]!;
        scores.push([s, i]);
      }
      scores.sort((x, y) => y[0] - x[0]);
      expect(scores.slice(0, 5).map(([, i]) => i)).toEqual(parity.encoder.topItems[b]!.slice(0, 5));
    }
  });

  it('treats the sequence axis as dynamic: a batch trimmed to its longest history gives the same outputs', async () => {
    expect(meta.dynamicLength).toBe(true);
    const rows = parity.encoder.inputs.item_ids as number[][];
    const longest = Math.max(...rows.map((r) => r.filter((x) => x > 0).length));
    for (const width of [longest, longest + 1]) {
      const trimmed: Fixture = {};
      for (const [k, v] of Object.entries(parity.encoder.inputs)) {
        trimmed[k] = (v as number[][]).map((r) => r.slice(meta.maxLen - width));
      }
      const { outputs } = await runOnnx(path.join(MODEL_DIR, meta.files.encoder), trimmed);
      for (const out of ['user_state', 'category_probs'] as const) {
        expect(maxAbsDiff(outputs[out]!, parity.encoder.outputs[out]!), out).toBeLessThanOrEqual(
          parity.tolerance,
        );
      }
      const attention = (parity.encoder.outputs.attention as number[][]).map((r) =>
        r.slice(meta.maxLen - width),
      );
      expect(maxAbsDiff(outputs.attention!, attention)).toBeLessThanOrEqual(parity.tolerance);
    }
  });

  it('treats the batch axis as dynamic: one row alone gives the same output as in a batch', async () => {
    const one: Fixture = {};
    for (const [k, v] of Object.entries(parity.encoder.inputs)) one[k] = [(v as number[][])[1]!];
    const { outputs } = await runOnnx(path.join(MODEL_DIR, meta.files.encoder), one);
    const expected = [(parity.encoder.outputs.user_state as number[][])[1]!];
    expect(maxAbsDiff(outputs.user_state!, expected)).toBeLessThanOrEqual(parity.tolerance);
  });
});

describe('scorer Markov term', () => {
  const inputs = parity.scorer.inputs;
  const K = meta.scorer.markovItems ?? 1;

  it('takes the contract shapes: [B, K, N] counts and [B, K] outs with scorer.markovItems, else [B, N] and [B]', () => {
    const [B, N] = shapeOf(inputs.candidate_embeddings);
    if (meta.scorer.markovItems) {
      expect(Number.isInteger(K) && K >= 2).toBe(true);
      expect(shapeOf(inputs.candidate_transitions)).toEqual([B, K, N]);
      expect(shapeOf(inputs.history_out_transitions)).toEqual([B, K]);
    } else {
      expect(shapeOf(inputs.candidate_transitions)).toEqual([B, N]);
      expect(shapeOf(inputs.newest_out_transitions)).toEqual([B]);
    }
  });

  it('is never negative and exactly 0 when every count is 0 (retrieval by neighbours ∪ successors stays exact)', async () => {
    const file = path.join(MODEL_DIR, meta.files.scorer);
    const emb = inputs.candidate_embeddings as number[][][];
    const u = inputs.user_state as number[][];
    const probs = inputs.category_probs as number[][];
    const attrs = inputs.candidate_attrs as number[][][];
    const w = meta.scorer.categoryWeight;
    // the scores without the Markov term: inner product + w * log(mean category probability of
    // the candidate's attributes + 1e-6) (models/README.md)
    const dot = emb.map((row, b) =>
      row.map((v, n) => {
        const own = attrs[b]![n]!.filter((a) => a > 0);
        const mean = own.reduce((s, a) => s + probs[b]![a]!, 0) / Math.max(own.length, 1);
        return v.reduce((s, x, d) => s + x * u[b]![d]!, 0) + (w ? w * Math.log(mean + 1e-6) : 0);
      }),
    );
    const { outputs } = await runOnnx(file, inputs);
    const scores = outputs.scores!.data as Float32Array;
    const N = dot[0]!.length;
    let withTerm = 0;
    dot.forEach((row, b) =>
      row.forEach((d, n) => {
        expect(scores[b * N + n]!).toBeGreaterThanOrEqual(d - 1e-4);
        if (scores[b * N + n]! > d + 1e-3) withTerm++;
      }),
    );
    expect(withTerm).toBeGreaterThan(0); // the fixture exercises the term
    const { outputs: off } = await runOnnx(file, {
      ...inputs,
      candidate_transitions: zeros(inputs.candidate_transitions) as number[][],
      ...withoutCooccurrence(inputs),
    });
    expect(maxAbsDiff(off.scores!, dot)).toBeLessThanOrEqual(parity.tolerance);
  });
});

describe.runIf(meta.scorer.cooccurrence)('scorer co-occurrence term', () => {
  const inputs = parity.scorer.inputs;
  const file = path.join(MODEL_DIR, meta.files.scorer);

  it('takes candidate_cooccurrence as [B, N], exercised by the fixture, never negative', () => {
    const [B, N] = shapeOf(inputs.candidate_embeddings);
    expect(shapeOf(inputs.candidate_cooccurrence)).toEqual([B, N]);
    const x = (inputs.candidate_cooccurrence as number[][]).flat();
    expect(x.every((v) => v >= 0)).toBe(true);
    expect(x.some((v) => v > 0)).toBe(true);
  });

  it('adds weight × candidate_cooccurrence to the scores, 0 where the input is 0', async () => {
    const { weight } = meta.scorer.cooccurrence!;
    const { outputs: on } = await runOnnx(file, inputs);
    const { outputs: off } = await runOnnx(file, { ...inputs, ...withoutCooccurrence(inputs) });
    const x = (inputs.candidate_cooccurrence as number[][]).flat();
    const a = on.scores!.data as Float32Array;
    const b = off.scores!.data as Float32Array;
    x.forEach((v, n) => {
      expect(a[n]! - b[n]!).toBeCloseTo(weight * v, 4);
      if (v === 0) expect(a[n]).toBe(b[n]);
    });
  });
});

function zeros(x: unknown): unknown {
  return Array.isArray(x) ? x.map(zeros) : 0;
}

/** The co-occurrence input set to 0 (nothing when the model has no such input). */
function withoutCooccurrence(inputs: Fixture): Fixture {
  return inputs.candidate_cooccurrence === undefined
    ? {}
    : { candidate_cooccurrence: zeros(inputs.candidate_cooccurrence) as number[][] };
}
