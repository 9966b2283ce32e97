// Exact retrieval in the gateway (src/retrieval/exact.ts): the lists of the index statement with
// `exact: true` for every filter and exclusion, a mirror that follows every committed change of
// the catalogue (and none that is not committed), and the index for catalogues above the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/db/client.js';
import {
  retrievalSettings,
  toVectorLiteral,
  type CandidateFilter,
} from '../../src/db/retrieval.js';
import { importAmazon } from '../../src/import/amazon.js';
import { exactTopModel } from '../../src/inference/exact-top.js';
import { Model } from '../../src/inference/model.js';
import { nearestNeighbours, type CandidateQuery } from '../../src/retrieval/candidates.js';
import { ExactRetrieval } from '../../src/retrieval/exact.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { MODEL_DIR } from '../helpers/forecast.js';

const LIMIT = 20;
const open: CandidateFilter = {
  categoryIds: null,
  minPrice: null,
  maxPrice: null,
  inStockOnly: false,
};

describe('the exact top-k graph', () => {
  it('is a well-formed ONNX model for any dimension', async () => {
    // a protobuf varint longer than one byte in the dimension
    const bytes = exactTopModel(300);
    expect(bytes[0]).toBe(0x08); // field 1 (ir_version), varint
    const { ExactTop } = await import('../../src/inference/exact-top.js');
    const top = await ExactTop.open(300);
    await top.release();
  });
});

describe.each(backends)('exact retrieval on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let model: Model;
  let exact: ExactRetrieval;
  let queries: CandidateQuery[];

  beforeAll(async () => {
    ({ db, dispose } = await backend.open(retrievalSettings(64)));
    const slice = await beautySlice(60);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    model = await Model.load(MODEL_DIR, 'cpu');
    await syncItemEmbeddings(db, model);
    // prices and stock, so that every filter has something to do
    await db.query(
      `UPDATE items SET price = (abs(hashtext(id)) % 5000) / 100.0,
                        in_stock = abs(hashtext(id || 's')) % 4 <> 0
       WHERE dataset = 'beauty'`,
    );
    const seqs = slice.lines.slice(0, 8).map((l) =>
      l
        .split(' ')
        .slice(1)
        .map((i) => ({ itemId: `beauty:${i}`, type: 'PURCHASE', occurredAt: null })),
    );
    queries = (await model.encode(seqs)).map((o, k) => ({
      userState: o.userState,
      // the first query excludes its own history, as `excludeSeen` does
      exclude: k === 0 ? seqs[0]!.map((e) => e.itemId) : [],
    }));
    exact = new ExactRetrieval(100_000, model, model.manifest.dim);
  }, 120_000);
  afterAll(async () => {
    await exact?.release();
    await model?.release();
    await dispose?.();
  });

  const byIndex = (filter: CandidateFilter) =>
    nearestNeighbours(db, queries, filter, {
      dataset: 'beauty',
      limit: LIMIT,
      efSearch: 64,
      exact: true,
      known: model,
    });
  const byMirror = async (filter: CandidateFilter) => {
    const m = await exact.current(db, 'beauty', 'a');
    expect(m).not.toBeNull();
    return exact.search(m!, queries, filter, LIMIT);
  };

  it.each([
    ['no filter', open],
    ['in stock', { ...open, inStockOnly: true }],
    ['a price range', { ...open, minPrice: 10, maxPrice: 30 }],
    ['a category', { ...open, categoryIds: ['beauty:a1', 'beauty:a2'] }],
  ])('returns the lists of the exact index statement with %s', async (_, filter) => {
    const [want, got] = await Promise.all([byIndex(filter), byMirror(filter)]);
    expect(got.map((l) => l.map((c) => c.id))).toEqual(want.map((l) => l.map((c) => c.id)));
    got.forEach((list, q) =>
      list.forEach((c, j) => {
        const w = want[q]![j]!;
        expect(c.similarity).toBeCloseTo(w.similarity, 4);
        expect(c.modelIndex).toBe(w.modelIndex);
        expect(c.categoryIds).toEqual(w.categoryIds);
      }),
    );
    if (filter === open) for (const list of got) expect(list).toHaveLength(LIMIT);
  });

  it('sees a committed change at the next call, and an uncommitted one not', async () => {
    await byMirror(open);
    const loads = exact.loads;
    // a new product with a content vector pointing where query 1 looks: its best item
    const v = Float32Array.from(queries[1]!.userState, (x) => 10 * x);
    let inside = -1;
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO items (id, dataset, embedding, embedding_source)
         VALUES ('beauty:exact-new', 'beauty', $1::vector, 'content')`,
        [toVectorLiteral(v)],
      );
      await tx.query(`INSERT INTO item_categories (item_id, category_id) VALUES ($1, $2)`, [
        'beauty:exact-new',
        'beauty:a1',
      ]);
      // not committed yet: the mirror does not move (PGlite has one connection, which the
      // transaction holds: there is no outside to look from)
      if (backend.name === 'postgres')
        inside = (await byMirror(open))[1]!.findIndex((c) => c.id === 'beauty:exact-new');
    });
    expect(inside).toBe(-1);
    expect(exact.loads).toBe(loads);
    const after = await byMirror(open);
    expect(exact.loads).toBe(loads + 1);
    expect(after[1]![0]).toMatchObject({ id: 'beauty:exact-new', categoryIds: ['beauty:a1'] });
    expect(after[1]![0]!.modelIndex).toBeUndefined();
    expect(Array.from(after[1]![0]!.embedding)).toEqual(Array.from(v));
    // …as the index statement lists it
    expect((await byIndex(open))[1]![0]!.id).toBe('beauty:exact-new');
    // out of stock: gone for the in-stock filter; deleted: gone
    await db.query(`UPDATE items SET in_stock = false WHERE id = 'beauty:exact-new'`);
    expect((await byMirror({ ...open, inStockOnly: true }))[1]![0]!.id).not.toBe(
      'beauty:exact-new',
    );
    await db.query(`DELETE FROM items WHERE id = 'beauty:exact-new'`);
    const gone = await byMirror(open);
    expect(gone[1]!.some((c) => c.id === 'beauty:exact-new')).toBe(false);
    expect(exact.loads).toBe(loads + 3);
    // nothing changed: no load
    await byMirror(open);
    expect(exact.loads).toBe(loads + 3);
  });

  it('counts one generation per committed writing transaction, concurrent writers included', async () => {
    const generation = async () =>
      Number(
        (await db.query<{ g: string }>('SELECT generation::text AS g FROM catalogue_generation'))
          .rows[0]!.g,
      );
    const g0 = await generation();
    // 12 transactions at once (on PostgreSQL over several pooled connections), each writing
    // two items and a category link: none waits on another for long, none deadlocks
    await Promise.all(
      Array.from({ length: 12 }, (_, k) =>
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO items (id, dataset) VALUES ($1, 'beauty'), ($2, 'beauty')`, [
            `beauty:gen-${k}-a`,
            `beauty:gen-${k}-b`,
          ]);
          await tx.query(`INSERT INTO item_categories (item_id, category_id) VALUES ($1, $2)`, [
            `beauty:gen-${k}-a`,
            'beauty:a1',
          ]);
        }),
      ),
    );
    expect(await generation()).toBe(g0 + 12);
    // a rolled-back transaction leaves it as it was; a statement that writes nothing too
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`DELETE FROM items WHERE id LIKE 'beauty:gen-%'`);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await db.query(`UPDATE items SET price = 1 WHERE id = 'beauty:no-such-item'`);
    expect(await generation()).toBe(g0 + 12);
    await db.query(`DELETE FROM items WHERE id LIKE 'beauty:gen-%'`);
    expect(await generation()).toBe(g0 + 13);
  });

  it('does not hand a batch a load begun before its own reading of the generation', async () => {
    const mirror = new ExactRetrieval(100_000, model, model.manifest.dim);
    await mirror.current(db, 'beauty', 'a');
    // batch A finds a change and loads; its rows are read before a later commit, and its
    // answer held back until batch B has seen that commit and asked too
    await db.query(`INSERT INTO items (id, dataset) VALUES ('beauty:exact-bump', 'beauty')`);
    const loads = mirror.loads;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding = true;
    const slow: Queryable = {
      ...db,
      query: (async (sql: string, params?: unknown[]) => {
        // the rows are read now, before the commit below; the answer is held back
        const result = await db.query(sql, params);
        if (holding && /LEFT JOIN/.test(sql)) {
          holding = false;
          await held;
        }
        return result;
      }) as Queryable['query'],
    };
    const a = mirror.current(slow, 'beauty', 'a');
    await new Promise((r) => setTimeout(r, 50));
    await db.query(
      `INSERT INTO items (id, dataset, embedding, embedding_source)
       VALUES ('beauty:exact-late', 'beauty', $1::vector, 'content')`,
      [toVectorLiteral(Float32Array.from(queries[2]!.userState, (x) => 10 * x))],
    );
    const b = mirror.current(slow, 'beauty', 'a');
    // B has read the later generation and waits on A's load
    await new Promise((r) => setTimeout(r, 50));
    release();
    await a;
    const seen = await mirror.search((await b)!, queries, open, LIMIT);
    expect(seen[2]![0]!.id).toBe('beauty:exact-late');
    // A's load, then B's own
    expect(mirror.loads).toBe(loads + 2);
    await db.query(`DELETE FROM items WHERE id IN ('beauty:exact-late', 'beauty:exact-bump')`);
    await mirror.release();
  });

  it('leaves a catalogue above its limit to the index', async () => {
    const small = new ExactRetrieval(5, model, model.manifest.dim);
    expect(await small.current(db, 'beauty', 'a')).toBeNull();
    // an empty slot is an empty catalogue
    const empty = await small.current(db, 'beauty', 'b');
    expect(empty).not.toBeNull();
    expect(await small.search(empty!, queries, open, LIMIT)).toEqual(queries.map(() => []));
    await small.release();
  });
});
