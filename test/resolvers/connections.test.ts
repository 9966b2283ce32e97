// Lookups and Relay connections over HTTP: paging forward and backward gives the same rows,
// the page-size cap holds, filters select the right items, unknown ids give null.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { startServer, type GqlResponse, type TestServer } from '../helpers/server.js';

const ITEM_PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $filter: ItemFilter) {
  items(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface PageData {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

describe.each(backends)('queries and connections on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  let lines: string[];
  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    const slice = await beautySlice(30);
    lines = slice.lines;
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    server = await startServer(db, { MAX_PAGE_SIZE: '25' });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  async function allItems(forward: boolean, size: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const res: GqlResponse<{ items: PageData }> = await server.gql<{ items: PageData }>(
        ITEM_PAGE,
        forward ? { first: size, after: cursor } : { last: size, before: cursor },
      );
      expect(res.errors).toBeUndefined();
      const page: PageData = res.data!.items;
      const pageIds = page.edges.map((e) => e.node.id);
      expect(pageIds.length).toBeLessThanOrEqual(size);
      if (forward) ids.push(...pageIds);
      else ids.unshift(...pageIds);
      const more = forward ? page.pageInfo.hasNextPage : page.pageInfo.hasPreviousPage;
      if (!more) return ids;
      expect(pageIds.length).toBe(size);
      cursor = forward ? page.pageInfo.endCursor : page.pageInfo.startCursor;
    }
  }

  it('pages through all items forward and backward with the same result', async () => {
    const expected = [...new Set(lines.flatMap((l) => l.split(' ').slice(1)))]
      .map((i) => `beauty:${i}`)
      .sort();
    const forward = await allItems(true, 7);
    const backward = await allItems(false, 7);
    expect(forward).toEqual(expected);
    expect(backward).toEqual(expected);
  });

  it('reports the page boundaries in pageInfo', async () => {
    const first = (await server.gql<{ items: PageData }>(ITEM_PAGE, { first: 3 })).data!.items;
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = (
      await server.gql<{ items: PageData }>(ITEM_PAGE, {
        first: 3,
        after: first.pageInfo.endCursor,
      })
    ).data!.items;
    expect(second.pageInfo.hasPreviousPage).toBe(true);
    const back = (
      await server.gql<{ items: PageData }>(ITEM_PAGE, {
        last: 3,
        before: second.pageInfo.startCursor,
      })
    ).data!.items;
    expect(back.edges.map((e) => e.node.id)).toEqual(first.edges.map((e) => e.node.id));
    expect(back.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  });

  it('rejects a page larger than MAX_PAGE_SIZE and a foreign cursor with BAD_USER_INPUT', async () => {
    const big = await server.gql(ITEM_PAGE, { first: 26 });
    expect(big.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(big.errors?.[0]?.message).toMatch(/^first: .*25/);
    const both = await server.gql(ITEM_PAGE, { first: 2, last: 2 });
    expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const cursor = await server.gql(ITEM_PAGE, { first: 2, after: 'garbage' });
    expect(cursor.errors?.[0]?.message).toMatch(/^after: /);
  });

  it('filters items by category', async () => {
    const { rows } = await db.query<{ category: string; n: number }>(
      `SELECT category_id AS category, count(*)::int AS n FROM item_categories
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
    );
    const top = rows[0]!;
    const res = await server.gql<{ items: PageData }>(ITEM_PAGE, {
      first: 25,
      filter: { categoryId: top.category },
    });
    expect(res.data!.items.edges).toHaveLength(Math.min(top.n, 25));
    const ids = res.data!.items.edges.map((e) => e.node.id);
    const { rows: check } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM item_categories WHERE category_id = $1 AND item_id = ANY($2::text[])',
      [top.category, ids],
    );
    expect(check[0]!.n).toBe(ids.length);
  });

  it("returns a user's history newest first, pageable both ways", async () => {
    const [userRaw, ...items] = lines[0]!.split(' ');
    const q = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      user(id: $id) { id events(first: $first, after: $after, last: $last, before: $before) {
        edges { node { sequence type occurredAt item { id } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
    const newest = items.map((i) => `beauty:${i}`).reverse();
    const p1 = (await server.gql(q, { id: `beauty:${userRaw}`, first: 2 })).data.user.events;
    expect(p1.edges.map((e: any) => e.node.item.id)).toEqual(newest.slice(0, 2));
    expect(p1.edges[0].node).toMatchObject({
      sequence: items.length,
      type: 'PURCHASE',
      occurredAt: null,
    });
    const p2 = (
      await server.gql(q, { id: `beauty:${userRaw}`, first: 2, after: p1.pageInfo.endCursor })
    ).data.user.events;
    expect(p2.edges.map((e: any) => e.node.item.id)).toEqual(newest.slice(2, 4));
    const back = (
      await server.gql(q, { id: `beauty:${userRaw}`, last: 2, before: p2.pageInfo.startCursor })
    ).data.user.events;
    expect(back.edges.map((e: any) => e.node.item.id)).toEqual(newest.slice(0, 2));
    const tail = (await server.gql(q, { id: `beauty:${userRaw}`, last: 1 })).data.user.events;
    expect(tail.edges.map((e: any) => e.node.sequence)).toEqual([1]);
  });

  it('returns null for unknown ids and real rows for known ones', async () => {
    const res =
      await server.gql(`{ item(id: "beauty:999999") { id } user(id: "beauty:nobody") { id }
      session(id: "beauty:nope") { id } event(id: "123456789") { id } category(id: "beauty:a1") { id name parent { id } }
      itemsByIds(ids: ["beauty:nope", "beauty:${lines[0]!.split(' ')[1]}"]) { id } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data).toMatchObject({
      item: null,
      user: null,
      session: null,
      event: null,
      category: { id: 'beauty:a1', name: 'attribute 1', parent: null },
      itemsByIds: [null, { id: `beauty:${lines[0]!.split(' ')[1]}` }],
    });
  });

  it('serves /healthz and /readyz', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
      status: 'ready',
      storage: backend.name,
    });
  });
});
