// A product inserted through the API is embedded by the content tower at once and can be
// retrieved by the next forecast; items the model was trained on keep their learned vectors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retrieveCandidates } from '../helpers/retrieval.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { parseVectorLiteral } from '../../src/db/retrieval.js';

const UPSERT = `mutation($input: ItemInput!) { upsertItem(input: $input) {
  id embeddingSource embeddingModelVersion categories { id } } }`;

describe.each(backends)('new products on $name', (backend) => {
  let f: ForecastFixture;
  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 40 });
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  it('embeds a new item with the content tower as soon as it is stored', async () => {
    const categoryIds = ['beauty:a1', 'beauty:a2'];
    const res = await f.server.gql<{
      upsertItem: { id: string; embeddingSource: string; embeddingModelVersion: string };
    }>(UPSERT, {
      input: { id: 'beauty:new-serum', title: 'Hydrating serum', price: 19.5, categoryIds },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.upsertItem.embeddingSource).toBe('CONTENT');
    expect(res.data!.upsertItem.embeddingModelVersion).toBe(f.model.version);
    const { rows } = await f.db.query<{ e: string }>(
      `SELECT embedding::text AS e FROM items WHERE id = $1`,
      ['beauty:new-serum'],
    );
    const stored = parseVectorLiteral(rows[0]!.e);
    const [expected] = await f.model.embedContent([
      { attributeIds: categoryIds, text: 'Hydrating serum', price: 19.5 },
    ]);
    stored.forEach((x, i) => expect(x).toBeCloseTo(expected![i]!, 5));
    // Retrievable now, through the HNSW index, with its content vector and categories.
    const [found] = await retrieveCandidates(
      f.db,
      [{ userState: stored, exclude: [] }],
      { categoryIds: ['beauty:a2'], minPrice: null, maxPrice: null, inStockOnly: true },
      {
        dataset: 'beauty',
        limit: 1000,
        efSearch: 1000,
        known: f.model,
      },
    );
    const hit = found!.find((c) => c.id === 'beauty:new-serum');
    expect(hit).toBeDefined();
    expect(hit!.categoryIds).toEqual(categoryIds);
    expect(hit!.similarity).toBeCloseTo(
      stored.reduce((a, x) => a + x * x, 0),
      4,
    );
  });

  it('keeps the learned embedding of an item the model knows when its content changes', async () => {
    const id = `beauty:${f.lines[0]!.split(' ')[1]}`;
    const res = await f.server.gql<{ upsertItem: { embeddingSource: string } }>(UPSERT, {
      input: { id, title: 'Renamed', categoryIds: [] },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.upsertItem.embeddingSource).toBe('MODEL');
  });

  it("clears a changed product's content embeddings in both slots, keeping learned ones", async () => {
    // Both slots hold the model's vectors (as after a rollout and a rollback).
    await syncItemEmbeddings(f.db, f.model, { slot: 'b' });
    const known = `beauty:${f.lines[1]!.split(' ')[1]}`;
    for (const [id, title] of [
      ['beauty:new-serum', 'Hydrating serum, 50 ml'],
      [known, 'Renamed again'],
    ]) {
      const res = await f.server.gql(UPSERT, { input: { id, title, price: 20 } });
      expect(res.errors).toBeUndefined();
    }
    const { rows } = await f.db.query(
      `SELECT id, embedding_source AS a, embedding_model_version AS av,
              embedding_b_source AS b, embedding_b_model_version AS bv, embedding_b IS NULL AS b_empty
       FROM items WHERE id = ANY($1) ORDER BY id = $2`,
      [['beauty:new-serum', known], known],
    );
    // The serving model (slot a) re-embedded the new content at once; slot b's content vector
    // is gone, stale until its model is synced; the learned vector stays in both.
    const v = f.model.version;
    expect(rows).toEqual([
      { id: 'beauty:new-serum', a: 'content', av: v, b: null, bv: null, b_empty: true },
      { id: known, a: 'model', av: v, b: 'model', bv: v, b_empty: false },
    ]);
  });
});
