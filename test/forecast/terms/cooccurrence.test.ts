// The co-occurrence term's cooccurrence.bin (models/README.md): the gateway reads the CSR as
// written, refuses a file that does not fit its manifest at load time, and builds the scorer's
// `candidate_cooccurrence` input x[n] = sum over k of decay^k * S[h_k, candidate_n] exactly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CooccurrenceTerm } from '../../../src/forecast/terms/cooccurrence.js';
import { CsrTable } from '../../../src/inference/csr.js';
import { loadWithTerms, termsOf } from '../../helpers/terms.js';

/** The term over a cooccurrence.bin buffer that fits `manifest` (throws as loading does). */
function parseCooccurrence(
  raw: Buffer,
  numItems: number,
  manifest: { pairs: number; neighbors: number },
  name: string,
) {
  const params = { ...manifest, weight: 1, window: 3, decay: 0.5 };
  const table = CsrTable.parse(raw, numItems, name, 'co-occurrence table');
  CooccurrenceTerm.check(table, params, name);
  return Object.assign(new CooccurrenceTerm(table, params), {
    neighbors: (from: number, limit?: number) => table.columnsOf([from], limit),
  });
}

/** cooccurrence.bin bytes for rows 0..numItems: `rows[i]` = [neighbour, similarity] pairs. */
function csr(rows: [number, number][][]): Buffer {
  const indptr = [0];
  for (const r of rows) indptr.push((indptr.at(-1) as number) + r.length);
  const pairs = rows.flat();
  return Buffer.concat([
    Buffer.from(Int32Array.from([...indptr, ...pairs.map(([j]) => j)]).buffer),
    Buffer.from(Float32Array.from(pairs.map(([, s]) => s)).buffer),
  ]);
}

// items 1..4; similarities exact in float32 (powers of two) so sums compare exactly
const ROWS: [number, number][][] = [
  [],
  [
    [2, 0.5],
    [3, 0.25],
  ],
  [
    [1, 0.5],
    [4, 0.125],
  ],
  [[1, 0.25]],
  [[2, 0.125]],
];
const manifest = { pairs: 6, neighbors: 2 };

describe('cooccurrence.bin', () => {
  const table = parseCooccurrence(csr(ROWS), 4, manifest, 'cooccurrence.bin');

  it('reads similarities and neighbours in file order', () => {
    expect(table.similarity(1, 2)).toBe(0.5);
    expect(table.similarity(1, 3)).toBe(0.25);
    expect(table.similarity(2, 4)).toBe(0.125);
    expect(table.similarity(3, 2)).toBe(0);
    expect(table.similarity(1, 1)).toBe(0);
    expect(table.neighbors(1)).toEqual([2, 3]);
    expect(table.neighbors(1, 1)).toEqual([2]);
    expect(table.neighbors(2, 0)).toEqual([]);
    expect(table.neighbors(4)).toEqual([2]);
  });

  it('reads a buffer that is not 4-byte aligned (a slice of a pooled Buffer)', () => {
    const raw = csr(ROWS);
    const shifted = Buffer.alloc(raw.length + 1);
    raw.copy(shifted, 1);
    const t = parseCooccurrence(shifted.subarray(1), 4, manifest, 'c.bin');
    expect(t.similarity(2, 1)).toBe(0.5);
  });

  it('rejects a truncated file, naming it', () => {
    const good = csr(ROWS);
    expect(() =>
      parseCooccurrence(good.subarray(0, good.length - 4), 4, manifest, 'c.bin'),
    ).toThrow(/^c\.bin: 17 4-byte values, expected 18$/);
    expect(() => parseCooccurrence(good.subarray(0, 10), 4, manifest, 'c.bin')).toThrow(
      /^c\.bin: 10 bytes is not a co-occurrence table for 4 items$/,
    );
  });

  it('rejects a file that does not fit model.json', () => {
    const good = csr(ROWS);
    expect(() => parseCooccurrence(good, 4, { ...manifest, pairs: 7 }, 'c.bin')).toThrow(
      'c.bin: indptr[5] = 6 pairs, model.json scorer.cooccurrence.pairs says 7',
    );
    // numItems 3 reads indptr[4] = 5 as nnz: the sizes cannot add up
    expect(() => parseCooccurrence(good, 3, { ...manifest, pairs: 5 }, 'c.bin')).toThrow(
      /^c\.bin: \d+ 4-byte values, expected \d+$/,
    );
    expect(() => parseCooccurrence(good, 4, { ...manifest, neighbors: 1 }, 'c.bin')).toThrow(
      'c.bin: row 1 has 2 neighbours (at most 1)',
    );
    const badIndex = csr([[], [[5, 0.5]], [], [], []]);
    expect(() => parseCooccurrence(badIndex, 4, { pairs: 1, neighbors: 2 }, 'c.bin')).toThrow(
      'c.bin: row 1 holds neighbour 5 with similarity 0.5',
    );
    const zero = csr([[], [[2, 0]], [], [], []]);
    expect(() => parseCooccurrence(zero, 4, { pairs: 1, neighbors: 2 }, 'c.bin')).toThrow(
      'c.bin: row 1 holds neighbour 2 with similarity 0',
    );
    const padded = csr([[[1, 0.5]], [], [], [], []]);
    expect(() => parseCooccurrence(padded, 4, { pairs: 1, neighbors: 2 }, 'c.bin')).toThrow(
      'c.bin: row 0 (padding) must be empty',
    );
  });
});

describe('the co-occurrence input', () => {
  const table = parseCooccurrence(csr(ROWS), 4, manifest, 'cooccurrence.bin');

  /** x for one row of candidates (model indices, 0 = unknown). */
  function feature(history: number[], decay: number, candidates: number[]): number[] {
    const out = new Float32Array(candidates.length);
    table.feature(history, decay, Int32Array.from(candidates), 0, candidates.length, out);
    return Array.from(out);
  }

  it('sums decay^k * S[h_k, candidate], newest first, repeats kept', () => {
    // h = [1, 2, 1], decay 0.5: weights 1, 0.5, 0.25 (item 1 counts twice)
    expect(feature([1, 2, 1], 0.5, [2, 3, 4, 1])).toEqual([
      1 * 0.5 + 0.25 * 0.5, // 2: from row 1 twice, not in row 2
      1 * 0.25 + 0.25 * 0.25, // 3: row 1 twice
      0.5 * 0.125, // 4: row 2 only
      0.5 * 0.5, // 1: row 2 only (not in its own row)
    ]);
    // decay 1: a plain sum
    expect(feature([2, 3], 1, [1])).toEqual([0.5 + 0.25]);
  });

  it('gives 0 to unknown candidates and to missing history slots', () => {
    expect(feature([1], 0.5, [0, 2, 0])).toEqual([0, 0.5, 0]);
    // fewer known items than the window: the missing slots add nothing
    expect(feature([3], 0.8, [1, 2])).toEqual([0.25, 0]);
    expect(feature([], 0.8, [1, 2])).toEqual([0, 0]);
    // a 0 slot still takes its place in the decay: item 1 is h_1 here
    expect(feature([0, 1], 0.5, [2])).toEqual([0.5 * 0.5]);
  });

  it('leaves no state behind between calls', () => {
    const first = feature([1, 2, 1], 0.5, [1, 2, 3, 4]);
    expect(feature([4], 0.5, [1, 2, 3, 4])).toEqual([0, 0.125, 0, 0]);
    expect(feature([1, 2, 1], 0.5, [1, 2, 3, 4])).toEqual(first);
  });

  it('writes one row of a [B, N] buffer and nothing else', () => {
    const N = 4;
    const out = new Float32Array(2 * N).fill(-1);
    const cands = Int32Array.from([9, 9, 9, 9, 2, 3, 0, 0]);
    table.feature([1], 1, cands, N, 2, out); // row 1, two candidates (the rest is padding)
    expect(Array.from(out)).toEqual([-1, -1, -1, -1, 0.5, 0.25, -1, -1]);
  });

  it('matches the dense formula on a random table', () => {
    const n = 30;
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const dense = Array.from({ length: n + 1 }, () => new Array<number>(n + 1).fill(0));
    const rows: [number, number][][] = [[]];
    for (let i = 1; i <= n; i++) {
      const row: [number, number][] = [];
      for (let j = 1; j <= n; j++) {
        if (j !== i && rand() < 0.3) row.push([j, Math.fround(0.01 + rand())]);
      }
      row.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      rows.push(row);
      for (const [j, s] of row) dense[i]![j] = s;
    }
    const pairs = rows.reduce((s, r) => s + r.length, 0);
    const t = parseCooccurrence(csr(rows), n, { pairs, neighbors: n }, 'c.bin');
    const history = [5, 17, 5, 0, 29];
    const cands = Array.from({ length: n + 1 }, (_, j) => j);
    const out = new Float32Array(cands.length);
    t.feature(history, 0.8, Int32Array.from(cands), 0, cands.length, out);
    cands.forEach((j) => {
      const expected = history.reduce((s, h, k) => s + 0.8 ** k * (dense[h]?.[j] ?? 0), 0);
      expect(out[j]).toBeCloseTo(j === 0 ? 0 : expected, 6);
    });
  });
});

describe('a model with a co-occurrence term', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-model-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const shipped = JSON.parse(fs.readFileSync('models/beauty/model.json', 'utf8')) as {
    numItems: number;
    scorer: { markovItems?: number };
  };
  type Meta = { scorer: Record<string, unknown>; files: Record<string, unknown> };

  /** A copy of the shipped model with `edit` applied to its model.json. */
  function copyWith(edit: (meta: Meta) => void): void {
    for (const f of fs.readdirSync('models/beauty')) {
      if (!f.endsWith('.pt')) fs.copyFileSync(path.join('models/beauty', f), path.join(dir, f));
    }
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as Meta;
    edit(meta);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(meta));
  }

  it('refuses a manifest that sets scorer.cooccurrence but names no file', async () => {
    copyWith((meta) => {
      meta.scorer.cooccurrence = { weight: 1, window: 3, decay: 0.8, neighbors: 2, pairs: 0 };
      delete meta.files.cooccurrence;
    });
    await expect(loadWithTerms(dir)).rejects.toThrow(
      'model.json sets scorer.cooccurrence but names no files.cooccurrence',
    );
  });

  it('refuses invalid term parameters with the manifest error', async () => {
    copyWith((meta) => {
      meta.scorer.cooccurrence = { weight: -1, window: 0, decay: 0, neighbors: 2, pairs: 0 };
      meta.files.cooccurrence = 'cooccurrence.bin';
    });
    await expect(loadWithTerms(dir)).rejects.toThrow(/cannot read model manifest/);
  });

  it('refuses a cooccurrence.bin that does not fit, naming the file', async () => {
    copyWith((meta) => {
      meta.scorer.cooccurrence = { weight: 1, window: 3, decay: 0.8, neighbors: 2, pairs: 1 };
      meta.files.cooccurrence = 'cooccurrence.bin';
    });
    fs.writeFileSync(path.join(dir, 'cooccurrence.bin'), csr(ROWS)); // a 4-item table
    await expect(loadWithTerms(dir)).rejects.toThrow(/^cooccurrence\.bin: /);
  });

  /**
   * A table over the shipped model's items: 1 → [2 (0.5), 3 (0.25)], 2 → [1 (0.5)],
   * 3 → [4 (0.125)], every other row empty.
   */
  function smallTable(): Buffer {
    const rows: [number, number][][] = Array.from({ length: shipped.numItems + 1 }, () => []);
    rows[1] = [
      [2, 0.5],
      [3, 0.25],
    ];
    rows[2] = [[1, 0.5]];
    rows[3] = [[4, 0.125]];
    return csr(rows);
  }

  it('reads the window newest known items and their stored neighbours', async () => {
    const window = Math.max(3, (shipped.scorer.markovItems ?? 1) + 1);
    copyWith((m) => {
      m.scorer.cooccurrence = { weight: 2, window, decay: 0.5, neighbors: 2, pairs: 4 };
      m.files.cooccurrence = 'cooccurrence.bin';
    });
    fs.writeFileSync(path.join(dir, 'cooccurrence.bin'), smallTable());
    const model = await loadWithTerms(dir);
    const t = termsOf(model);
    try {
      const id = (k: number) => model.vocab.items[k - 1]!;
      expect(t.cooccurrenceWindow).toBe(window);
      expect(t.recentItemsRead).toBe(window);
      // The default limit follows the window, past the Markov term's items.
      const events: { itemId: string | null }[] = Array.from({ length: window + 2 }, (_, k) => ({
        itemId: id(10 + k),
      }));
      events.splice(2, 0, { itemId: null }, { itemId: 'beauty:not-in-the-model' });
      expect(t.terms.recent(events).events).toHaveLength(window);
      expect(t.recentKnownItems(events)).toEqual(
        Array.from({ length: window }, (_, k) => id(10 + window + 1 - k)),
      );
      // Neighbours of the first `window` items only, most similar first, without repeats.
      expect(t.cooccurringWith([id(1), id(3), id(2)])).toEqual([id(2), id(3), id(4), id(1)]);
      expect(t.cooccurringWith([id(1), id(3)], 1)).toEqual([id(2), id(4)]);
      const beyond = [...Array.from({ length: window }, () => id(50)), id(1)];
      expect(t.cooccurringWith(beyond)).toEqual([]);
      expect(t.cooccurrenceOf(id(1), id(3))).toBe(0.25);
      expect(t.cooccurrenceOf(id(3), id(1))).toBe(0);
      expect(t.cooccurrenceOf(id(1), 'beauty:not-in-the-model')).toBe(0);
      expect(t.strongestCooccurrence(id(1))).toBe(0.5);
      expect(t.strongestCooccurrence(id(3))).toBe(0.125);
      expect(t.strongestCooccurrence(id(4))).toBe(0); // an empty row
      // What retrieval adds: the successors, then the neighbours, as model indices, once each.
      const recent = [id(1), id(3), id(2)];
      const lifted = t.liftable(recent, 5);
      const expected = [...new Set([...t.successorsOf(recent, 5), id(2), id(3), id(4), id(1)])];
      expect(lifted.map((k) => model.itemAt(k)!.id)).toEqual(expected);
      expect(t.liftable(recent, 0, 1).map((k) => model.itemAt(k)!.id)).toEqual([
        id(2),
        id(4),
        id(1),
      ]);
    } finally {
      await model.release();
    }
  });

  it('retrieves no neighbours for a term of weight 0 (it lifts nothing)', async () => {
    copyWith((m) => {
      m.scorer.cooccurrence = { weight: 0, window: 3, decay: 0.5, neighbors: 2, pairs: 4 };
      m.files.cooccurrence = 'cooccurrence.bin';
    });
    fs.writeFileSync(path.join(dir, 'cooccurrence.bin'), smallTable());
    const model = await loadWithTerms(dir);
    const t = termsOf(model);
    try {
      const first = model.vocab.items[0]!;
      expect(t.cooccurringWith([first])).toEqual([]);
      expect(t.cooccurrenceOf(first, model.vocab.items[1]!)).toBeNull();
      expect(t.strongestCooccurrence(first)).toBeNull();
      expect(t.cooccurrenceWindow).toBe(3); // the scorer still takes the input
    } finally {
      await model.release();
    }
  });
});
