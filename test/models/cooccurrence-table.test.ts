// The co-occurrence table train.py writes (foresight_training/sequence/terms/cooccurrence_table.py): cosine co-occurrence
// plus, with --cooccurrence-sequential G, alpha * log(1 + how often j came 2 .. G positions after
// i), pruned per row. Checked on hand-made sequences against values worked out here.
import { describe, expect, it } from 'vitest';
import { runTrainingSnippet } from '../helpers/python.js';


/** Runs cooccurrence_table.Cooccurrence(seqs, 5, neighbors, gap, alpha) and returns its rows. */
function table(
  seqs: number[][],
  neighbors: number,
  gap: number,
  alpha: number,
): Record<string, [number, number][]> {
  const script = `
import json
from foresight_training.sequence.terms.cooccurrence_table import Cooccurrence
c = Cooccurrence(${JSON.stringify(seqs)}, 5, ${neighbors}, ${gap}, ${alpha})
print(json.dumps({str(i): [[int(c.cols[k]), float(c.sim[k])] for k in range(c.indptr[i], c.indptr[i + 1])]
                  for i in range(6)}))`;
  const run = runTrainingSnippet(script);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, [number, number][]>;
}

describe('co-occurrence table', () => {
  // users: [1 2 3 4], [2 1 3], [4 5]
  const seqs = [
    [1, 2, 3, 4],
    [2, 1, 3],
    [4, 5],
  ];

  it('is the cosine co-occurrence without sequential rules', () => {
    const t = table(seqs, 10, 0, 0.5);
    // 1 and 2 share 2 users, each in 2 users: 2 / (√2 √2) = 1; 1 and 4 share 1: 1 / (√2 √2)
    expect(t['1']!.map(([j]) => j)).toEqual([2, 3, 4]);
    expect(t['1']![0]![1]).toBeCloseTo(1, 6);
    expect(t['1']![2]![1]).toBeCloseTo(0.5, 6);
    expect(t['4']!.find(([j]) => j === 5)![1]).toBeCloseTo(1 / Math.sqrt(2), 6);
  });

  it('adds alpha * log(1 + count) of the pairs 2 .. G positions apart, in their order only', () => {
    const alpha = 0.5;
    const t = table(seqs, 10, 3, alpha);
    const at = (i: number, j: number) => t[String(i)]!.find(([k]) => k === j)?.[1] ?? 0;
    // 1 -> 3: gap 2 in [1 2 3 4], gap 1 in [2 1 3] (the Markov term's), so counted once
    expect(at(1, 3)).toBeCloseTo(1 + alpha * Math.log(2), 6);
    // 1 -> 4 at gap 3, once
    expect(at(1, 4)).toBeCloseTo(0.5 + alpha * Math.log(2), 6);
    // 2 -> 3: gap 1 in user 1 (the Markov term's), gap 2 in user 2
    expect(at(2, 3)).toBeCloseTo(1 + alpha * Math.log(2), 6);
    // order matters: 3 -> 1 and 4 -> 1 are plain co-occurrence
    expect(at(3, 1)).toBeCloseTo(1, 6);
    expect(at(4, 1)).toBeCloseTo(0.5, 6);
    // no pair more than G positions apart gets the sequential part: with G = 2, 1 -> 4 is cosine only
    expect(table(seqs, 10, 2, alpha)['1']!.find(([k]) => k === 4)![1]).toBeCloseTo(0.5, 6);
  });

  it('prunes each row to its largest entries after adding the parts', () => {
    // row 1 at alpha 2: 3 (1 + 2 log 2) and 4 (0.5 + 2 log 2) overtake 2 (1: a gap-1 pair only)
    const t = table(seqs, 2, 3, 2.0);
    expect(t['1']!.map(([j]) => j)).toEqual([3, 4]);
    for (const row of Object.values(t)) {
      const sims = row.map(([, s]) => s);
      expect(sims).toEqual([...sims].sort((a, b) => b - a));
    }
  });
});
