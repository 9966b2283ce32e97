// A shop's category tree over HTTP: upsertCategories creates and changes it all or nothing,
// with parents given in the same call, and refuses cycles, unknown parents and a name twice
// among siblings, naming `categories[i].field`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { writeCategoryTree } from '../../src/catalog/category-tree.js';
import { createApiKey } from '../../src/security/keys.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

const UPSERT = `mutation($c: [CategoryInput!]!) { upsertCategories(categories: $c) {
  created categories { id name position dataset parent { id } } } }`;
const TREE = `query($id: ID!) { category(id: $id) { id name position parent { id }
  children { id name position children { id name } } } }`;

interface Refusal {
  code?: string;
  field?: string;
}

describe.each(backends)('category tree on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const upsert = (c: Record<string, unknown>[]) => server.gql(UPSERT, { c });
  const refusal = async (c: Record<string, unknown>[]) => {
    const res = await upsert(c);
    expect(res.data).toBeNull();
    return { ...(res.errors?.[0]?.extensions as Refusal), message: res.errors?.[0]?.message };
  };
  const snapshot = async () =>
    (
      await db.query<{ id: string; name: string; parent: string | null; position: number }>(
        `SELECT id, name, parent_id AS parent, position FROM categories ORDER BY id`,
      )
    ).rows;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db, { MAX_CATALOG_BATCH: '6' });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('creates a tree in one call, children before their parents', async () => {
    const res = await upsert([
      { id: 'myshop:w-shoes', name: 'Shoes', parentId: 'myshop:women', position: 2 },
      { id: 'myshop:w-bags', name: 'Bags', parentId: 'myshop:women', position: 1 },
      { id: 'myshop:w-boots', name: 'Boots', parentId: 'myshop:w-shoes' },
      { id: 'myshop:women', name: 'Women' },
      { id: 'myshop:men', name: 'Men', position: 1 },
    ]);
    expect(res.errors).toBeUndefined();
    expect(res.data.upsertCategories.created).toBe(5);
    expect(res.data.upsertCategories.categories.map((c: { id: string }) => c.id)).toEqual([
      'myshop:w-shoes',
      'myshop:w-bags',
      'myshop:w-boots',
      'myshop:women',
      'myshop:men',
    ]);
    expect(res.data.upsertCategories.categories[0]).toEqual({
      id: 'myshop:w-shoes',
      name: 'Shoes',
      position: 2,
      dataset: 'myshop',
      parent: { id: 'myshop:women' },
    });
    const women = await server.gql(TREE, { id: 'myshop:women' });
    expect(women.data.category).toEqual({
      id: 'myshop:women',
      name: 'Women',
      position: 0,
      parent: null,
      // by position, then id
      children: [
        { id: 'myshop:w-bags', name: 'Bags', position: 1, children: [] },
        {
          id: 'myshop:w-shoes',
          name: 'Shoes',
          position: 2,
          children: [{ id: 'myshop:w-boots', name: 'Boots' }],
        },
      ],
    });
    const roots = await server.gql(
      `{ categories(dataset: "myshop", rootsOnly: true) { edges { node { id } } } }`,
    );
    expect(roots.data.categories.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([
      'myshop:men',
      'myshop:women',
    ]);
  });

  it('renames, reorders and moves a subtree, creating nothing', async () => {
    const res = await upsert([
      { id: 'myshop:w-bags', name: 'Handbags', parentId: 'myshop:women', position: 3 },
      // Shoes moves under Men with its child Boots
      { id: 'myshop:w-shoes', name: 'Shoes', parentId: 'myshop:men' },
    ]);
    expect(res.errors).toBeUndefined();
    expect(res.data.upsertCategories.created).toBe(0);
    const men = await server.gql(TREE, { id: 'myshop:men' });
    expect(men.data.category.children).toEqual([
      {
        id: 'myshop:w-shoes',
        name: 'Shoes',
        position: 0,
        children: [{ id: 'myshop:w-boots', name: 'Boots' }],
      },
    ]);
    const women = await server.gql(TREE, { id: 'myshop:women' });
    expect(women.data.category.children).toEqual([
      { id: 'myshop:w-bags', name: 'Handbags', position: 3, children: [] },
    ]);
    // a move to the root
    const root = await upsert([{ id: 'myshop:w-boots', name: 'Boots' }]);
    expect(root.data.upsertCategories.categories[0].parent).toBeNull();
    expect((await server.gql(TREE, { id: 'myshop:w-shoes' })).data.category.children).toEqual([]);
  });

  it('refuses a cycle, an unknown parent and a name twice among siblings; writes nothing', async () => {
    const before = await snapshot();
    // men → shoes; shoes is moved back under men's new child: men → shoes → men
    const cycle = await refusal([
      { id: 'myshop:kids', name: 'Kids' },
      { id: 'myshop:men', name: 'Men', parentId: 'myshop:w-shoes' },
    ]);
    expect(cycle).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'categories[1].parentId',
      message:
        'categories[1].parentId: "myshop:men" would be its own ancestor ' +
        '(myshop:men → myshop:w-shoes → myshop:men)',
    });
    // its own parent, and a cycle within the batch
    expect((await refusal([{ id: 'myshop:x', name: 'X', parentId: 'myshop:x' }])).field).toBe(
      'categories[0].parentId',
    );
    expect(
      (
        await refusal([
          { id: 'myshop:a', name: 'A', parentId: 'myshop:b' },
          { id: 'myshop:b', name: 'B', parentId: 'myshop:a' },
        ])
      ).message,
    ).toMatch(/^categories\[0\]\.parentId: "myshop:a" would be its own ancestor/);
    const unknown = await refusal([
      { id: 'myshop:kids', name: 'Kids' },
      { id: 'myshop:k-toys', name: 'Toys', parentId: 'myshop:nope' },
    ]);
    expect(unknown).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'categories[1].parentId',
      message: 'categories[1].parentId: unknown category "myshop:nope"',
    });
    // a stored sibling's name, and two of the batch under one parent
    const stored = await refusal([
      { id: 'myshop:m-shoes2', name: 'Shoes', parentId: 'myshop:men' },
    ]);
    expect(stored).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'categories[0].name',
      message:
        'categories[0].name: "Shoes" is already the name of "myshop:w-shoes" under "myshop:men": ' +
        'names are unique among siblings',
    });
    const twice = await refusal([
      { id: 'myshop:r1', name: 'Sale' },
      { id: 'myshop:r2', name: 'Sale' },
    ]);
    expect(twice.field).toBe('categories[1].name');
    expect(twice.message).toContain('among the roots of "myshop"');
    // …but a sibling that gives up the name in the same call frees it
    const swap = await upsert([
      { id: 'myshop:w-shoes', name: 'Old shoes', parentId: 'myshop:men' },
      { id: 'myshop:m-shoes2', name: 'Shoes', parentId: 'myshop:men' },
    ]);
    expect(swap.errors).toBeUndefined();
    const after = await snapshot();
    expect(after.length).toBe(before.length + 1);
    await upsert([
      { id: 'myshop:w-shoes', name: 'Shoes', parentId: 'myshop:men' },
      { id: 'myshop:m-shoes2', name: 'Shoes 2', parentId: 'myshop:men' },
    ]);
  });

  it('refuses bad names, ids, datasets and batch sizes, naming the field', async () => {
    const before = await snapshot();
    for (const [batch, field, message] of [
      [[{ id: 'myshop:g', name: 'Women > Shoes' }], 'categories[0].name', /separates the names/],
      [[{ id: 'myshop:g', name: ' Shoes' }], 'categories[0].name', /white space/],
      [[{ id: 'myshop:g', name: '' }], 'categories[0].name', /must not be empty/],
      [[{ id: 'shoes', name: 'Shoes' }], 'categories[0].id', /has no dataset prefix/],
      [
        [{ id: 'myshop:g', name: 'G', parentId: 'other:women' }],
        'categories[0].parentId',
        /one call writes one dataset/,
      ],
      [
        [
          { id: 'myshop:g', name: 'G' },
          { id: 'other:h', name: 'H' },
        ],
        'categories[1].id',
        /one call writes one dataset/,
      ],
      [
        [
          { id: 'myshop:g', name: 'G' },
          { id: 'myshop:g', name: 'H' },
        ],
        'categories[1].id',
        /also categories\[0\]/,
      ],
      [[], 'categories', /must not be empty/],
      [
        Array.from({ length: 7 }, (_, k) => ({ id: `myshop:n${k}`, name: `N${k}` })),
        'categories',
        /at most 6 per call \(MAX_CATALOG_BATCH\)/,
      ],
    ] as const) {
      const r = await refusal(batch as unknown as Record<string, unknown>[]);
      expect(r.code, field).toBe('BAD_USER_INPUT');
      expect(r.field).toBe(field);
      expect(r.message).toMatch(message);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('serialises writes of one dataset: two halves of a cycle never both pass', async () => {
    await upsert([
      { id: 'myshop:p', name: 'P' },
      { id: 'myshop:q', name: 'Q' },
    ]);
    // The first write holds its transaction open while the second checks the tree: without the
    // tree lock the second would see q without a parent, pass, and both would commit p ⇄ q.
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    const row = (id: string, parentId: string) => ({
      id,
      dataset: 'myshop',
      name: id.slice(-1).toUpperCase(),
      parentId,
      position: 0,
    });
    const first = db.transaction(async (tx) => {
      await writeCategoryTree(tx, 'myshop', [row('myshop:p', 'myshop:q')]);
      await held;
    });
    await new Promise((r) => setTimeout(r, 100));
    const second = db.transaction((tx) =>
      writeCategoryTree(tx, 'myshop', [row('myshop:q', 'myshop:p')]),
    );
    await new Promise((r) => setTimeout(r, 200));
    release();
    const [a, b] = await Promise.allSettled([first, second]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(String((b as PromiseRejectedResult).reason)).toContain('would be its own ancestor');
    const parents = await db.query<{ id: string; parent: string | null }>(
      `SELECT id, parent_id AS parent FROM categories WHERE id IN ('myshop:p', 'myshop:q') ORDER BY id`,
    );
    expect(parents.rows).toEqual([
      { id: 'myshop:p', parent: 'myshop:q' },
      { id: 'myshop:q', parent: null },
    ]);
  });

  it('needs write:catalog', async () => {
    const auth = await startServer(db, { AUTH: 'required', API_KEY_CACHE_MS: '0' });
    try {
      const read = (await createApiKey(db, { name: 'reader', scopes: ['read'] })).token;
      const pim = (await createApiKey(db, { name: 'pim', scopes: ['write:catalog'] })).token;
      const c = [{ id: 'myshop:scoped', name: 'Scoped' }];
      const refused = await auth.gql(UPSERT, { c }, { authorization: `Bearer ${read}` });
      expect(refused.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        scope: 'write:catalog',
      });
      const ok = await auth.gql(UPSERT, { c }, { authorization: `Bearer ${pim}` });
      expect(ok.data.upsertCategories.created).toBe(1);
    } finally {
      await auth.close();
    }
  });
});
