// Catalogue writes and item filters over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

const UPSERT = `mutation($in: ItemInput!) { upsertItem(input: $in) {
  id dataset title description brand price inStock attributes categories { id } createdAt updatedAt } }`;
const LIST = `query($f: ItemFilter) { items(first: 50, filter: $f) { edges { node { id } } } }`;

describe.each(backends)('catalogue on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const ids = async (f: Record<string, unknown>) =>
    (await server.gql(LIST, { f })).data.items.edges.map((e: any) => e.node.id);

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db);
    await db.query(
      `INSERT INTO categories (id, dataset, name) VALUES ('cat:lips', 'cat', 'Lips'), ('cat:eyes', 'cat', 'Eyes')`,
    );
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('creates and then replaces an item', async () => {
    const created = await server.gql(UPSERT, {
      in: {
        id: 'cat:1',
        title: 'Matte 100% Red Lipstick',
        brand: 'Acme',
        price: 9.99,
        categoryIds: ['cat:lips'],
        attributes: { shade: 'red' },
      },
    });
    expect(created.errors).toBeUndefined();
    expect(created.data.upsertItem).toMatchObject({
      id: 'cat:1',
      dataset: 'cat',
      title: 'Matte 100% Red Lipstick',
      brand: 'Acme',
      price: 9.99,
      inStock: true,
      attributes: { shade: 'red' },
      categories: [{ id: 'cat:lips' }],
    });
    const replaced = await server.gql(UPSERT, {
      in: {
        id: 'cat:1',
        title: 'Matte 100% Red Lipstick',
        brand: 'Acme',
        price: 7.5,
        inStock: false,
        categoryIds: ['cat:eyes', 'cat:lips'],
      },
    });
    expect(replaced.data.upsertItem).toMatchObject({
      price: 7.5,
      inStock: false,
      categories: [{ id: 'cat:eyes' }, { id: 'cat:lips' }],
    });
    await server.gql(UPSERT, {
      in: {
        id: 'cat:2',
        title: 'Volume mascara',
        description: 'Long lashes, red box',
        brand: 'Brio',
        price: 20,
        categoryIds: ['cat:eyes'],
      },
    });
    await server.gql(UPSERT, { in: { id: 'cat:3', title: 'No price known' } });
  });

  it('filters by text, brand, price range, category and stock', async () => {
    expect(await ids({ text: 'RED' })).toEqual(['cat:1', 'cat:2']); // title or description
    expect(await ids({ text: '100%' })).toEqual(['cat:1']); // LIKE wildcards are literal
    expect(await ids({ brand: 'Brio' })).toEqual(['cat:2']);
    expect(await ids({ minPrice: 5, maxPrice: 10 })).toEqual(['cat:1']);
    expect(await ids({ minPrice: 0 })).toEqual(['cat:1', 'cat:2']); // unknown price never matches
    expect(await ids({ categoryId: 'cat:eyes' })).toEqual(['cat:1', 'cat:2']);
    expect(await ids({ inStock: true })).toEqual(['cat:2', 'cat:3']);
  });

  it('rejects a negative price, an unknown category and a bad price range with BAD_USER_INPUT', async () => {
    const neg = await server.gql(UPSERT, { in: { id: 'cat:9', price: -1 } });
    expect(neg.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(neg.errors?.[0]?.message).toMatch(/^input\.price: /);
    const cat = await server.gql(UPSERT, { in: { id: 'cat:9', categoryIds: ['cat:none'] } });
    expect(cat.errors?.[0]?.message).toMatch(
      /^input\.categoryIds\[0\]: unknown category "cat:none"/,
    );
    const range = await server.gql(LIST, { f: { minPrice: 10, maxPrice: 5 } });
    expect(range.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(range.errors?.[0]?.message).toMatch(/^filter\.maxPrice/);
    const rows = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM items WHERE id = 'cat:9'",
    );
    expect(rows.rows[0]!.n).toBe(0);
  });
});
