// upsertItems over HTTP with the shipped model serving: hundreds of items in one call, all or
// nothing, categories by id or by name path (created only when asked), every item embedded by
// the content tower in one batch inside the write's transaction; refusals name items[i].field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContentInput } from '../../src/inference/model.js';
import { parseVectorLiteral } from '../../src/db/retrieval.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';

const BULK = `mutation($items: [ItemInput!]!, $create: Boolean) {
  upsertItems(items: $items, createCategories: $create) {
    created updated categoriesCreated { id name parent { id } }
    items { id dataset title price updatedAt embeddingSource embeddingModelVersion categories { id } }
  }
}`;
const ONE = `mutation($i: ItemInput!, $create: Boolean) {
  upsertItem(input: $i, createCategories: $create) { id categories { id name } } }`;

interface Refusal {
  code?: string;
  field?: string;
  message?: string;
}

describe.each(backends)('upsertItems on $name', (backend) => {
  let f: ForecastFixture;
  const content: ContentInput[][] = [];
  const bulk = (items: Record<string, unknown>[], create = false) =>
    f.server.gql(BULK, { items, create });
  const refusal = async (items: Record<string, unknown>[], create = false): Promise<Refusal> => {
    const res = await bulk(items, create);
    expect(res.data).toBeNull();
    return { ...res.errors?.[0]?.extensions, message: res.errors?.[0]?.message };
  };
  const count = async (sql: string) =>
    (await f.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0]!.n;

  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 40 });
    // every call of the content tower, with its inputs (the serving model is this object)
    const embed = f.model.embedContent.bind(f.model);
    f.model.embedContent = (inputs) => {
      content.push([...inputs]);
      return embed(inputs);
    };
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  it('stores 300 items in one call, each embedded by the content tower in one batch', async () => {
    const items = Array.from({ length: 300 }, (_, k) => ({
      id: `beauty:bulk-${String(k).padStart(3, '0')}`,
      title: `Lip balm no. ${k}`,
      price: 2 + (k % 40),
      categoryIds: ['beauty:a1'],
      categoryPaths: k % 2 === 0 ? ['Makeup > Lips'] : ['Makeup'],
    }));
    content.length = 0;
    const res = await bulk(items, true);
    expect(res.errors).toBeUndefined();
    const out = res.data.upsertItems;
    expect(out.created).toBe(300);
    expect(out.updated).toBe(0);
    expect(out.categoriesCreated).toEqual([
      { id: 'beauty:Makeup', name: 'Makeup', parent: null },
      { id: 'beauty:Makeup/Lips', name: 'Lips', parent: { id: 'beauty:Makeup' } },
    ]);
    expect(out.items.map((i: { id: string }) => i.id)).toEqual(items.map((i) => i.id));
    expect(out.items[0]).toMatchObject({
      id: 'beauty:bulk-000',
      dataset: 'beauty',
      price: 2,
      embeddingSource: 'CONTENT',
      embeddingModelVersion: f.model.version,
      categories: [{ id: 'beauty:a1' }, { id: 'beauty:Makeup/Lips' }],
    });
    expect(out.items[1].categories).toEqual([{ id: 'beauty:a1' }, { id: 'beauty:Makeup' }]);
    // one call of the content tower for the 300 new products (WRITE_CHUNK 500)
    expect(content.map((c) => c.length)).toEqual([300]);
    const { rows } = await f.db.query<{ e: string }>(
      `SELECT embedding::text AS e FROM items WHERE id = 'beauty:bulk-001'`,
    );
    const [expected] = await f.model.embedContent([
      { attributeIds: ['beauty:a1', 'beauty:Makeup'], text: 'Lip balm no. 1', price: 3 },
    ]);
    parseVectorLiteral(rows[0]!.e).forEach((x, i) => expect(x).toBeCloseTo(expected![i]!, 5));
  });

  it('leaves items sent as stored untouched and counts what changed', async () => {
    const before = (await f.server.gql(`{ item(id: "beauty:bulk-002") { updatedAt } }`)).data.item
      .updatedAt;
    const res = await bulk([
      {
        id: 'beauty:bulk-002',
        title: 'Lip balm no. 2',
        price: 4,
        categoryIds: ['beauty:a1'],
        categoryPaths: ['Makeup > Lips'],
      },
      // the price changes
      {
        id: 'beauty:bulk-003',
        title: 'Lip balm no. 3',
        price: 9.5,
        categoryIds: ['beauty:a1'],
        categoryPaths: ['Makeup'],
      },
      // the categories change (a path resolves to the stored tree, nothing created)
      {
        id: 'beauty:bulk-005',
        title: 'Lip balm no. 5',
        price: 7,
        categoryPaths: ['Makeup > Lips'],
      },
    ]);
    expect(res.errors).toBeUndefined();
    expect(res.data.upsertItems).toMatchObject({ created: 0, updated: 2, categoriesCreated: [] });
    expect(res.data.upsertItems.items[0].updatedAt).toBe(before);
    expect(res.data.upsertItems.items[1].price).toBe(9.5);
    expect(res.data.upsertItems.items[2].categories).toEqual([{ id: 'beauty:Makeup/Lips' }]);
  });

  it('writes nothing when one item is invalid, naming its index and field', async () => {
    const items = await count('items');
    const categories = await count('categories');
    const good = (k: number) => ({ id: `beauty:tx-${k}`, title: `Item ${k}` });
    for (const [batch, create, field, message] of [
      [[good(1), good(2), { ...good(3), price: -1 }], false, 'items[2].price', 'must be ≥ 0'],
      [
        [good(1), { ...good(2), categoryPaths: ['Makeup > Lips', 'Skin care > Serums'] }],
        false,
        'items[1].categoryPaths[1]',
        'items[1].categoryPaths[1]: no category "Skin care" among the roots of dataset "beauty" ' +
          '(path "Skin care > Serums"); set createCategories to create it',
      ],
      [
        [good(1), { ...good(2), categoryPaths: ['Makeup > Lips > Matte'] }],
        false,
        'items[1].categoryPaths[0]',
        'no category "Matte" under "beauty:Makeup/Lips"',
      ],
      // the path's categories would be created, but another item fails: neither is kept
      [
        [
          { ...good(1), categoryPaths: ['Skin care'] },
          { ...good(2), categoryIds: ['beauty:nope'] },
        ],
        true,
        'items[1].categoryIds[0]',
        'unknown category "beauty:nope"',
      ],
      [
        [good(1), { ...good(2), categoryPaths: ['Makeup >  > Lips'] }],
        true,
        'items[1].categoryPaths[0]',
        'must not be empty',
      ],
      [[good(1), good(1)], false, 'items[1].id', '"beauty:tx-1" is also items[0]'],
      [[good(1), { id: 'myshop:tx-2' }], false, 'items[1].id', 'one call writes one dataset'],
      [[good(1), { id: 'tx-2' }], false, 'items[1].id', 'has no dataset prefix'],
      [
        [good(1), { ...good(2), categoryIds: ['myshop:c'] }],
        false,
        'items[1].categoryIds[0]',
        'one call writes one dataset',
      ],
      [[], false, 'items', 'must not be empty'],
      [Array.from({ length: 501 }, (_, k) => good(k)), false, 'items', 'at most 500 per call'],
    ] as const) {
      const r = await refusal(batch as unknown as Record<string, unknown>[], create);
      expect(r, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(r.message).toContain(message);
    }
    expect(await count('items')).toBe(items);
    expect(await count('categories')).toBe(categories);
  });

  it('resolves a name path within the item’s own dataset only', async () => {
    // `Makeup` exists in beauty, not in myshop
    const r = await refusal([{ id: 'myshop:1', categoryPaths: ['Makeup'] }]);
    expect(r.field).toBe('items[0].categoryPaths[0]');
    expect(r.message).toContain('dataset "myshop"');
    const made = await bulk([{ id: 'myshop:1', categoryPaths: ['Makeup'] }], true);
    expect(made.data.upsertItems.categoriesCreated).toEqual([
      { id: 'myshop:Makeup', name: 'Makeup', parent: null },
    ]);
  });

  it('keeps upsertItem as its one-item case, with paths and the flag', async () => {
    const refused = await f.server.gql(ONE, { i: { id: 'beauty:one', categoryPaths: ['Tools'] } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.categoryPaths[0]',
    });
    const res = await f.server.gql(ONE, {
      i: { id: 'beauty:one', categoryPaths: ['Tools > Brushes', 'Makeup'] },
      create: true,
    });
    expect(res.data.upsertItem).toEqual({
      id: 'beauty:one',
      categories: [
        { id: 'beauty:Tools/Brushes', name: 'Brushes' },
        { id: 'beauty:Makeup', name: 'Makeup' },
      ],
    });
  });
});
