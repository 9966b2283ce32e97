// reachable (src/forecast/terms/reachable.ts): with the nearest neighbours known, the co-occurrence neighbours that cannot
// reach the scorer's top `first` are left out before the included-items lookup. Checked against
// the scorer itself over the whole model catalogue, on real Beauty histories.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { reachable } from '../../../src/forecast/terms/reachable.js';
import { Model, type Candidate, type SequenceEvent } from '../../../src/inference/model.js';
import { BEAUTY_TXT } from '../../helpers/fixtures.js';
import { MODEL_DIR } from '../../helpers/forecast.js';
import { termsOf } from '../../helpers/terms.js';

const FIRST = 10;
const hasTerm = !!JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')).scorer
  ?.cooccurrence;

describe.runIf(hasTerm)('reachable', () => {
  let model: Model;
  let t: ReturnType<typeof termsOf>;
  let all: Candidate[];
  const histories: SequenceEvent[][] = [];

  beforeAll(async () => {
    model = await Model.load(MODEL_DIR, 'cpu');
    t = termsOf(model);
    all = model.vocab.items.map((id) => {
      const k = model.knownItem(id)!;
      return { itemId: id, embedding: k.embedding, attributeIds: k.attributeIds, index: k.index };
    });
    const lines = fs.readFileSync(BEAUTY_TXT, 'utf8').split('\n').slice(0, 40);
    for (const line of lines) {
      const items = line.split(' ').slice(1, -2); // the training part, as the model saw it
      if (items.length >= 3)
        histories.push(
          items.map((i) => ({ itemId: `beauty:${i}`, type: 'VIEW', occurredAt: null })),
        );
    }
  }, 60_000);
  afterAll(async () => {
    await model?.release();
  });

  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, d) => s + x * b[d]!, 0);

  it('keeps every item of the exact top and every Markov successor, and leaves out most of the rest', async () => {
    expect(t.terms.prunes).toBe(true);
    const encoded = await model.encode(histories);
    let lifted = 0;
    let kept = 0;
    for (const [b, events] of histories.entries()) {
      const recent = t.recentKnownItems(events);
      const u = encoded[b]!.userState;
      const seen = new Set(events.map((e) => e.itemId));
      const pool = all.filter((c) => !seen.has(c.itemId)); // as served: excludeSeen
      const neighbours = pool
        .map((c) => ({ c, similarity: dot(c.embedding, u), modelIndex: c.index }))
        .sort((x, y) => y.similarity - x.similarity)
        .slice(0, FIRST);
      const liftable = t.liftable(recent, 1000).filter((j) => !seen.has(model.itemAt(j)!.id));
      const reach = new Set(
        reachable(model, t.terms, t.terms.recent(events), u, liftable, neighbours, FIRST),
      );
      lifted += liftable.length;
      kept += reach.size;
      // the scorer's exact top over the whole catalogue lies in neighbours ∪ reachable
      const [scores] = await t.score([
        {
          recentItemIds: recent,
          userState: u,
          categoryProbs: encoded[b]!.categoryProbs,
          candidates: pool,
        },
      ]);
      const top = pool
        .map((c, k) => ({ c, s: scores![k]! }))
        .sort((x, y) => y.s - x.s)
        .slice(0, FIRST);
      const nn = new Set(neighbours.map((n) => n.c.index));
      for (const { c } of top) expect(nn.has(c.index) || reach.has(c.index!)).toBe(true);
      // a successor of the Markov term's newest items is never left out
      for (const j of liftable) {
        const to = model.itemAt(j)!.id;
        const follows = recent
          .slice(0, t.markovItems)
          .some((from) => t.transitionOf(from, to)!.count > 0);
        if (follows) expect(reach.has(j)).toBe(true);
      }
    }
    expect(kept).toBeLessThan(lifted / 2);
  });

  it('keeps everything with fewer than `first` neighbours, or for a scorer that re-ranks', () => {
    const recent = t.terms.recent(histories[0]!);
    const u = all[0]!.embedding;
    const liftable = t.terms.lifts(recent, { successors: 1000 });
    const few = [{ similarity: 1e9, modelIndex: 1 }];
    expect(reachable(model, t.terms, recent, u, liftable, few, FIRST)).toEqual(liftable);
    const many = Array.from({ length: FIRST }, () => ({ similarity: 1e9, modelIndex: 1 }));
    expect(reachable(model, t.terms, recent, u, liftable, many, FIRST).length).toBeLessThan(
      liftable.length,
    );
    vi.spyOn(t.terms, 'reranks', 'get').mockReturnValue(true);
    try {
      expect(t.terms.prunes).toBe(false);
      expect(reachable(model, t.terms, recent, u, liftable, many, FIRST)).toEqual(liftable);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
