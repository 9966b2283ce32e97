// The Markov term's transitions.bin (models/README.md): the gateway reads the CSR as written,
// and refuses a file or manifest that does not fit, at load time rather than with wrong scores
// later.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MarkovTerm } from '../../../src/forecast/terms/markov.js';
import { CsrTable } from '../../../src/inference/csr.js';
import { loadWithTerms } from '../../helpers/terms.js';

/** The term over a transitions.bin buffer (weights do not matter for its tables). */
function parseTransitions(raw: Buffer, numItems: number, name: string) {
  const table = CsrTable.parse(raw, numItems, name, 'transition table');
  return { table, term: new MarkovTerm(table, [1, 1], undefined) };
}

/** CSR bytes for rows 0..numItems: `rows[i]` = [successor, count] pairs, most frequent first. */
function csr(rows: [number, number][][]): Buffer {
  const indptr = [0];
  for (const r of rows) indptr.push((indptr.at(-1) as number) + r.length);
  const ints = [...indptr, ...rows.flat().map(([s]) => s), ...rows.flat().map(([, c]) => c)];
  return Buffer.from(Int32Array.from(ints).buffer);
}

describe('transitions.bin', () => {
  // items 1..3: 1 -> 2 (3 times), 1 -> 3 (1), 3 -> 1 (2); row 0 is padding
  const { table, term } = parseTransitions(
    csr([
      [],
      [
        [2, 3],
        [3, 1],
      ],
      [],
      [[1, 2]],
    ]),
    3,
    'transitions.bin',
  );

  it('lists the items it touches: the successors with a count of the newest items it reads', () => {
    // a zero count stored in a row touches nothing; this term reads the two newest items
    const zero = new MarkovTerm(
      CsrTable.parse(
        csr([
          [],
          [
            [2, 0],
            [3, 1],
          ],
          [[1, 4]],
          [[1, 2]],
        ]),
        3,
        'z',
        'transition table',
      ),
      [1, 1],
      2,
    );
    const listed = (t: MarkovTerm, items: number[]) =>
      [...t.touchedItems({ events: items.map((_, k) => k), items })].sort();
    // `term` reads the newest item alone
    expect(listed(term, [1])).toEqual([2, 3]);
    expect(listed(term, [3])).toEqual([1]);
    expect(listed(term, [1, 3])).toEqual([2, 3]);
    expect(listed(zero, [1])).toEqual([3]);
    expect(listed(zero, [3])).toEqual([1]);
    expect(listed(zero, [1, 3])).toEqual([1, 3]);
    expect(listed(zero, [1, 2])).toEqual([1, 3]);
    expect(listed(zero, [2, 0])).toEqual([1]);
    for (const t of [term, zero]) {
      expect(listed(t, [0])).toEqual([]);
      expect(listed(t, [])).toEqual([]);
      expect(listed(t, [2])).toEqual(t === zero ? [1] : []);
    }
  });

  it('reads counts, totals and successors in file order', () => {
    expect(term.count(1, 2)).toBe(3);
    expect(term.count(1, 3)).toBe(1);
    expect(term.count(2, 1)).toBe(0);
    expect(term.outOf(1)).toBe(4);
    expect(term.outOf(2)).toBe(0);
    expect(table.columnsOf([1], 10)).toEqual([2, 3]);
    expect(table.columnsOf([1], 1)).toEqual([2]);
    expect(table.columnsOf([3], 10)).toEqual([1]);
  });

  it('rejects a file of the wrong size', () => {
    const good = csr([[], [[2, 3]], [], []]);
    expect(() => parseTransitions(good.subarray(0, good.length - 4), 3, 't.bin')).toThrow(
      /t\.bin: \d+ 4-byte values, expected/,
    );
    expect(() => parseTransitions(Buffer.alloc(6), 3, 't.bin')).toThrow(
      /not a transition table for 3 items/,
    );
  });
});

describe('a model with a Markov scorer', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-model-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a manifest that sets scorer.markov but names no transitions file', async () => {
    for (const f of fs.readdirSync('models/beauty')) {
      if (!f.endsWith('.pt')) fs.copyFileSync(path.join('models/beauty', f), path.join(dir, f));
    }
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(meta.scorer.markov).toHaveLength(2);
    delete meta.files.transitions;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(meta));
    await expect(loadWithTerms(dir)).rejects.toThrow(
      'model.json sets scorer.markov but names no files.transitions',
    );
  });
});
