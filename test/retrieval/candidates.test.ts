// Candidate queries on a database opened with the retrieval settings run as one statement
// (no transaction, no SET), return what the per-transaction path returns, and still set their
// own values in a transaction when they need others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { Model } from '../../src/inference/model.js';
import {
  retrieveCandidates,
  retrievalSettings,
  type CandidateQuery,
  type RetrievalOptions,
} from '../../src/retrieval/candidates.js';
import { syncItemEmbeddings } from '../../src/retrieval/embeddings.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { MODEL_DIR } from '../helpers/forecast.js';

const EF = 24; // not pgvector's default (40), so the session value is visible
const filter = { categoryIds: null, minPrice: null, maxPrice: null, inStockOnly: true };

describe.each(backends)('candidate retrieval on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let queries: CandidateQuery[];
  const options: RetrievalOptions = { dataset: 'beauty', limit: 10, efSearch: EF };

  beforeAll(async () => {
    ({ db, dispose } = await backend.open(retrievalSettings(EF)));
    const slice = await beautySlice(40);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    const model = await Model.load(MODEL_DIR, 'cpu');
    try {
      await syncItemEmbeddings(db, model);
      const seqs = slice.lines.slice(0, 6).map((l) =>
        l
          .split(' ')
          .slice(1)
          .map((i) => ({ itemId: `beauty:${i}`, type: 'PURCHASE', occurredAt: null })),
      );
      queries = (await model.encode(seqs)).map((o) => ({ userState: o.userState, exclude: [] }));
    } finally {
      await model.release();
    }
  }, 120_000);
  afterAll(async () => {
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
});
