// The ONNX worker thread (INFERENCE_WORKER=true) gives the main-thread sessions' outputs
// bit for bit, keeps the caller's buffers usable, and fails clearly once released.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, type SequenceEvent } from '../../src/inference/model.js';
import { beautySlice } from '../helpers/fixtures.js';
import { termsOf } from '../helpers/terms.js';
import { MODEL_DIR } from '../helpers/forecast.js';

describe('Model on a worker thread', () => {
  let main: Model;
  let worker: Model;
  let seqs: SequenceEvent[][];

  beforeAll(async () => {
    [main, worker] = await Promise.all([
      Model.load(MODEL_DIR, 'cpu', 1),
      Model.load(MODEL_DIR, 'cpu', 1, { worker: true }),
    ]);
    const slice = await beautySlice(20);
    seqs = slice.lines.map((l) =>
      l
        .split(' ')
        .slice(1)
        .map((i) => ({ itemId: `beauty:${i}`, type: 'PURCHASE', occurredAt: null })),
    );
  }, 60_000);
  afterAll(async () => {
    await main?.release();
    await worker?.release();
  });

  it('encodes, scores and embeds content exactly as the main-thread sessions do', async () => {
    const [a, b] = await Promise.all([main.encode(seqs), worker.encode(seqs)]);
    expect(b).toEqual(a);
    const inputs = a.slice(0, 5).map((out, i) => {
      const seq = seqs[i] as SequenceEvent[];
      return {
        recentItemIds: termsOf(main).recentKnownItems(seq),
        userState: out.userState,
        categoryProbs: out.categoryProbs,
        candidates: seqs.slice(5, 15).map((s) => {
          const id = s[0]?.itemId as string;
          const known = main.knownItem(id)!;
          return { itemId: id, embedding: known.embedding, attributeIds: known.attributeIds };
        }),
      };
    });
    const [sa, sb] = await Promise.all([
      termsOf(main).score(inputs),
      termsOf(worker).score(inputs),
    ]);
    expect(sb).toEqual(sa);
    expect(sa[0]!.length).toBe(10);
    const content = [{ attributeIds: ['beauty:1'], text: 'rose face cream', price: 12 }];
    expect(await worker.embedContent(content)).toEqual(await main.embedContent(content));
    // The inputs that borrowed the model's embedding matrix were not handed to the worker.
    expect(inputs[0]!.candidates[0]!.embedding.length).toBe(main.manifest.dim);
    expect(worker.knownItem(inputs[0]!.candidates[0]!.itemId)?.embedding).toEqual(
      main.knownItem(inputs[0]!.candidates[0]!.itemId)?.embedding,
    );
  });

  it('reports the provider it opened, and refuses work after release', async () => {
    expect(worker.provider).toBe('cpu');
    const other = await Model.load(MODEL_DIR, 'cpu', 1, { worker: true });
    await other.release();
    await expect(other.encode(seqs.slice(0, 1))).rejects.toThrow(/worker/);
  });
});
