// Candidate queries on a database opened with the retrieval settings run as one statement
// (no transaction, no SET), return what the per-transaction path returns, and still set their
// own values in a transaction when they need others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { Model } from '../../src/inference/model.js';
import {
  addIncluded,
  servedTop,
  type CandidateQuery,
  type RetrievalOptions,
} from '../../src/retrieval/candidates.js';
import { retrieveCandidates } from '../helpers/retrieval.js';
import { syncItemEmbeddings, writeItemEmbeddings } from '../../src/serving/embeddings.js';
import type { Queryable } from '../../src/db/client.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { MODEL_DIR } from '../helpers/forecast.js';
import { retrievalSettings } from '../../src/db/retrieval.js';

const EF = 24; // not pgvector's default (40), so the session value is visible
const filter = { categoryIds: null, minPrice: null, maxPrice: null, inStockOnly: true };

describe.each(backends)('candidate retrieval on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let queries: CandidateQuery[];
  let model: Model;
  const options: RetrievalOptions = { dataset: 'beauty', limit: 10, efSearch: EF };

  beforeAll(async () => {
    ({ db, dispose } = await backend.open(retrievalSettings(EF)));
    const slice = await beautySlice(40);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    model = await Model.load(MODEL_DIR, 'cpu');
    await syncItemEmbeddings(db, model);
    const seqs = slice.lines.slice(0, 6).map((l) =>
      l
        .split(' ')
        .slice(1)
        .map((i) => ({ itemId: `beauty:${i}`, type: 'PURCHASE', occurredAt: null })),
    );
    queries = (await model.encode(seqs)).map((o) => ({ userState: o.userState, exclude: [] }));
  }, 120_000);
  afterAll(async () => {
    await model?.release();
    await dispose?.();
  });

  const counted = async <T>(fn: () => Promise<T>): Promise<{ value: T; sql: string[] }> => {
    const sql: string[] = [];
    const off = db.onQuery((s) => sql.push(s));
    try {
      return { value: await fn(), sql };
    } finally {
      off();
    }
  };

  it('opens every connection with the settings', async () => {
    expect(db.settings).toEqual(retrievalSettings(EF));
    // Several at once, so that a pool opens several connections.
    const shown = await Promise.all(
      Array.from({ length: 4 }, () =>
        db.query<{ ef: string; scan: string }>(
          `SELECT current_setting('hnsw.ef_search') AS ef,
                  current_setting('hnsw.iterative_scan') AS scan, pg_sleep(0.05)`,
        ),
      ),
    );
    for (const r of shown)
      expect(r.rows[0]).toMatchObject({ ef: String(EF), scan: 'relaxed_order' });
  });

  it('runs a batch as one statement, with the results of the per-transaction path', async () => {
    const { value: direct, sql } = await counted(() =>
      retrieveCandidates(db, queries, filter, options),
    );
    expect(sql).toHaveLength(1);
    expect(direct).toHaveLength(queries.length);
    for (const list of direct) expect(list).toHaveLength(10);
    // The same database seen without session settings takes the transaction path.
    const plain: Db = { ...db, settings: {} };
    const { value: viaTx, sql: txSql } = await counted(() =>
      retrieveCandidates(plain, queries, filter, options),
    );
    expect(txSql.length).toBeGreaterThan(1);
    expect(txSql.some((s) => s.includes('set_config'))).toBe(true);
    expect(viaTx.map((l) => l.map((c) => c.id))).toEqual(direct.map((l) => l.map((c) => c.id)));
  });

  it('sets a larger ef_search in its own transaction when the limit needs it', async () => {
    const { value, sql } = await counted(() =>
      retrieveCandidates(db, queries.slice(0, 2), filter, { ...options, limit: EF + 20 }),
    );
    expect(sql.some((s) => s.includes('set_config'))).toBe(true);
    for (const list of value) expect(list).toHaveLength(EF + 20);
    // …and the connections keep their session value afterwards.
    const { rows } = await db.query<{ ef: string }>(
      `SELECT current_setting('hnsw.ef_search') AS ef`,
    );
    expect(rows[0]!.ef).toBe(String(EF));
  });

  it("adds included items once per query, through the filters and each query's own exclusions", async () => {
    const [a, b] = queries as [CandidateQuery, CandidateQuery];
    const { value: plain } = await counted(() => retrieveCandidates(db, [a, b], filter, options));
    const neighbour = plain[0]![0]!.id; // already a nearest neighbour of query a
    const { rows } = await db.query<{ id: string; price: number | null; in_stock: boolean }>(
      `SELECT id, price::float8 AS price, in_stock FROM items
       WHERE dataset = 'beauty' AND embedding IS NOT NULL AND NOT (id = ANY($1::text[]))
       ORDER BY id LIMIT 3`,
      [[...plain[0]!, ...plain[1]!].map((c) => c.id)],
    );
    const [shared, onlyB, outOfStock] = rows.map((r) => r.id) as [string, string, string];
    const index = (id: string) => model.knownItem(id)!.index;
    await db.query(`UPDATE items SET in_stock = false WHERE id = $1`, [outOfStock]);
    try {
      const { value, sql } = await counted(() =>
        retrieveCandidates(
          db,
          [
            { ...a, include: [shared, neighbour, outOfStock].map(index), exclude: [] },
            { ...b, include: [shared, onlyB, outOfStock].map(index), exclude: [shared] },
          ],
          filter,
          { ...options, known: model },
        ),
      );
      // the neighbours, and one lookup of the batch's included items
      expect(sql).toHaveLength(2);
      expect(sql.filter((s) => s.includes('json_agg'))).toHaveLength(1);
      const [ia, ib] = value.map((list) => list.map((c) => c.id)) as [string[], string[]];
      // a: its neighbours plus the shared item; the neighbour is not listed twice
      expect(ia).toHaveLength(11);
      expect(new Set(ia).size).toBe(11);
      expect(ia).toContain(shared);
      // b: the shared item is excluded for b only; the out-of-stock item fails the filter
      expect(ib).toContain(onlyB);
      expect(ib).not.toContain(shared);
      for (const list of [ia, ib]) expect(list).not.toContain(outOfStock);
      // included items come with the model's own vector, attributes and index
      for (const c of value.flat().filter((c) => c.id === shared || c.id === onlyB)) {
        const k = model.knownItem(c.id)!;
        expect(c.embedding).toBe(k.embedding);
        expect(c.categoryIds).toBe(k.attributeIds);
        expect(c.modelIndex).toBe(k.index);
      }
      // each list stays best first, included items scored by the same inner product
      for (const [k, list] of value.entries()) {
        const q = (k === 0 ? a : b).userState;
        for (const c of list) {
          const dot = c.embedding.reduce((s, x, j) => s + x * (q[j] as number), 0);
          expect(c.similarity).toBeCloseTo(dot, 4);
        }
        const sims = list.map((c) => c.similarity);
        expect(sims).toEqual([...sims].sort((x, y) => y - x));
      }
    } finally {
      await db.query(`UPDATE items SET in_stock = true WHERE id = $1`, [outOfStock]);
    }
  });

  it('serves the best scored items that pass the filters, checking only included items that rank', async () => {
    const [a] = queries as [CandidateQuery];
    const known = { ...options, known: model };
    const [neighbours] = await retrieveCandidates(db, [a], filter, known);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM items
       WHERE dataset = 'beauty' AND embedding IS NOT NULL AND NOT (id = ANY($1::text[]))
       ORDER BY id LIMIT 8`,
      [neighbours!.map((c) => c.id)],
    );
    const extra = rows.map((r) => r.id);
    const [u0, u1, u2, u3, u4, u5] = extra as [string, string, string, string, string, string];
    const outOfStock = [u0, u2, u3, u4];
    // Scores by id: the included items above every neighbour in the order given, the rest of
    // them (u6, u7) below; neighbours in their retrieved order.
    const scoreOf = (top: string[]) =>
      new Map<string, number>([
        ...top.map((id, k): [string, number] => [id, 100 - k]),
        ...neighbours!.map((c, k): [string, number] => [c.id, 50 - k]),
        ...extra.filter((id) => !top.includes(id)).map((id, k): [string, number] => [id, -k]),
      ]);
    const serve = async (top: string[], first: number) => {
      const lists = addIncluded(
        [[...neighbours!]],
        [{ ...a, include: extra.map((id) => model.knownItem(id)!.index) }],
        null,
        known,
      );
      const list = lists[0]!;
      expect(
        list
          .filter((c) => c.unchecked)
          .map((c) => c.id)
          .sort(),
      ).toEqual([...extra].sort());
      const byId = scoreOf(top);
      const scores = Float32Array.from(list, (c) => byId.get(c.id)!);
      const { value, sql } = await counted(() =>
        servedTop(db, lists, [scores], first, filter, known),
      );
      return { served: value[0]!.map((k) => list[k]!.id), sql, list };
    };
    await db.query(`UPDATE items SET in_stock = false WHERE id = ANY($1)`, [outOfStock]);
    try {
      // u0 fails, u1 passes; the low-scored included items are never looked up: one statement
      const one = await serve([u0, u1], 3);
      expect(one.served).toEqual([u1, neighbours![0]!.id, neighbours![1]!.id]);
      expect(one.sql).toHaveLength(1);
      expect(one.list.filter((c) => c.unchecked === false).map((c) => c.id)).toEqual([u1]);
      // (an item that fails keeps its mark: it is dropped, never served)
      expect(one.list.filter((c) => c.unchecked).length).toBe(extra.length - 1);
      // every item of the 2·first window fails: a second statement checks the rest
      const two = await serve([u0, u2, u3, u4, u5], 2);
      expect(two.served).toEqual([u5, neighbours![0]!.id]);
      expect(two.sql).toHaveLength(2);
      expect(
        two.list
          .filter((c) => c.unchecked)
          .map((c) => c.id)
          .sort(),
      ).toEqual(outOfStock.sort());
      // nothing unchecked ranks: no statement at all
      const none = await serve([], 4);
      expect(none.served).toEqual(neighbours!.slice(0, 4).map((c) => c.id));
      expect(none.sql).toHaveLength(0);
    } finally {
      await db.query(`UPDATE items SET in_stock = true WHERE id = ANY($1)`, [outOfStock]);
    }
  });

  it('re-embeds items left on another model version, then vacuums their old rows out of the index', async () => {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM items WHERE embedding IS NOT NULL ORDER BY id LIMIT 5`,
    );
    await db.query(`UPDATE items SET embedding_model_version = 'older' WHERE id = ANY($1)`, [
      rows.map((r) => r.id),
    ]);
    const { value, sql } = await counted(() => syncItemEmbeddings(db, model));
    expect(value.total).toBe(5);
    expect(sql.filter((s) => /^\s*VACUUM \(ANALYZE\) items/.test(s))).toHaveLength(1);
    const again = await counted(() => syncItemEmbeddings(db, model));
    expect(again.value.total).toBe(0);
    expect(again.sql.some((s) => s.includes('VACUUM'))).toBe(false);
    const left = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM items
         WHERE embedding IS NOT NULL AND embedding_model_version IS DISTINCT FROM $1`,
      [model.version],
    );
    expect(left.rows[0]!.n).toBe(0);
  });

  it("reads the model's own embedding slot: slot b serves what slot a serves", async () => {
    const written = await syncItemEmbeddings(db, model, { slot: 'b' });
    expect(written.total).toBeGreaterThan(0);
    const a = await retrieveCandidates(db, queries, filter, { ...options, known: model });
    const b = await retrieveCandidates(db, queries, filter, {
      ...options,
      known: model,
      slot: 'b',
    });
    expect(b.map((l) => l.map((c) => c.id))).toEqual(a.map((l) => l.map((c) => c.id)));
    // Only items with a vector in the slot are candidates: one emptied in b is not returned.
    const top = a[0]![0]!.id;
    await db.query(
      `UPDATE items SET embedding_b = NULL, embedding_b_model_version = NULL WHERE id = $1`,
      [top],
    );
    const [without] = await retrieveCandidates(db, queries.slice(0, 1), filter, {
      ...options,
      known: model,
      slot: 'b',
    });
    expect(without!.map((c) => c.id)).not.toContain(top);
    expect((await syncItemEmbeddings(db, model, { slot: 'b' })).total).toBe(1);
    await expect(
      retrieveCandidates(db, queries, filter, { ...options, slot: 'c' as never }),
    ).rejects.toThrow('no embedding slot "c"');
  });

  it('does not store a content embedding of an item changed after its content was read', async () => {
    await db.query(
      `INSERT INTO items (id, dataset, title) VALUES ('beauty:raced', 'beauty', 'Old title')`,
    );
    // A concurrent upsertItem lands between the content read and the write.
    const racing: Queryable = {
      exec: (sql) => db.exec(sql),
      async query<R>(sql: string, params?: unknown[]) {
        const res = await db.query<R>(sql, params);
        if (/^\s*SELECT i\.id, i\.title/.test(sql)) {
          await db.query(
            `UPDATE items SET title = 'New title', updated_at = now() + interval '1 second'
             WHERE id = 'beauty:raced'`,
          );
        }
        return res;
      },
    };
    expect(await writeItemEmbeddings(racing, model, ['beauty:raced'], 'b')).toEqual({
      learned: 0,
      content: 0,
    });
    const stale = await db.query(
      `SELECT embedding_b IS NULL AS empty FROM items WHERE id = 'beauty:raced'`,
    );
    expect(stale.rows).toEqual([{ empty: true }]);
    // The next pass embeds the new content.
    expect(await writeItemEmbeddings(db, model, ['beauty:raced'], 'b')).toEqual({
      learned: 0,
      content: 1,
    });
    await db.query(`DELETE FROM items WHERE id = 'beauty:raced'`);
  });
});
