// Encoder runs grouped by history length: the grouping is a partition of the batch into at
// most three runs, and grouped encoding gives each row what it gets encoded alone.
import { beforeAll, describe, expect, it } from 'vitest';
import { lengthGroups } from '../../src/inference/length-groups.js';
import { Model, type SequenceEvent } from '../../src/inference/model.js';
import { beautySlice } from '../helpers/fixtures.js';
import { MODEL_DIR } from '../helpers/forecast.js';

describe('lengthGroups', () => {
  it('partitions the rows into at most three groups of similar lengths', () => {
    const lengths = [3, 50, 1, 4, 12, 2, 49, 15, 3, 1, 8, 30];
    const groups = lengthGroups(lengths);
    expect(groups.length).toBeGreaterThan(1);
    expect(groups.length).toBeLessThanOrEqual(3);
    expect(groups.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    // Groups are length ranges that do not overlap, shortest first.
    for (let g = 1; g < groups.length; g++) {
      const prevMax = Math.max(...groups[g - 1]!.map((i) => lengths[i]!));
      expect(Math.min(...groups[g]!.map((i) => lengths[i]!))).toBeGreaterThanOrEqual(prevMax);
    }
    // The two long histories do not widen the short ones' run.
    expect(groups[0]!.every((i) => lengths[i]! < 30)).toBe(true);
  });

  it('keeps a batch of equal or similar lengths in one run', () => {
    expect(lengthGroups([5, 5, 5, 5])).toEqual([[0, 1, 2, 3]]);
    expect(lengthGroups([2, 3, 3, 2])).toHaveLength(1);
    expect(lengthGroups([7])).toEqual([[0]]);
    expect(lengthGroups([])).toEqual([]);
  });
});

describe('Model.encode with length groups', () => {
  let model: Model;
  let seqs: SequenceEvent[][];
  beforeAll(async () => {
    model = await Model.load(MODEL_DIR, 'cpu', 1);
    const slice = await beautySlice(40);
    seqs = slice.lines.map((l) =>
      l
        .split(' ')
        .slice(1)
        .map((i) => ({ itemId: `beauty:${i}`, type: 'PURCHASE', occurredAt: null })),
    );
    // Make sure lengths differ widely: one very long history among short ones.
    seqs.push(seqs.flat().slice(0, 60));
  }, 60_000);

  it('gives every row the output it gets encoded alone', async () => {
    expect(model.manifest.dynamicLength).toBe(true);
    const runs0 = model.encoderRuns;
    const grouped = await model.encode(seqs);
    expect(model.encoderRuns - runs0).toBeGreaterThan(1);
    expect(model.encoderRuns - runs0).toBeLessThanOrEqual(3);
    for (const [b, seq] of seqs.entries()) {
      const [alone] = await model.encode([seq]);
      const g = grouped[b]!;
      let diff = 0;
      alone!.userState.forEach((x, d) => (diff = Math.max(diff, Math.abs(x - g.userState[d]!))));
      alone!.categoryProbs.forEach(
        (x, d) => (diff = Math.max(diff, Math.abs(x - g.categoryProbs[d]!))),
      );
      alone!.eventWeights.forEach(
        (x, d) => (diff = Math.max(diff, Math.abs(x - g.eventWeights[d]!))),
      );
      expect(diff).toBeLessThan(1e-5);
      expect(g.eventWeights).toHaveLength(seq.length);
    }
  });
});
