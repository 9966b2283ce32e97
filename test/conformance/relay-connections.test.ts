// The Relay cursor-connection rules on every connection of the schema, found by walking the
// schema (a new connection is checked without being listed here): the types' shape, then, over
// HTTP on real data, paging forward and backward in small pages gives exactly the rows of one
// large page, in the same order, with consistent pageInfo and cursors that resume where they
// say; and invalid page arguments are refused with BAD_USER_INPUT.
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { loadTypeDefs } from '../../src/server.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const schema = buildSchema(loadTypeDefs());

interface ConnectionField {
  /** `Query.items`, `User.events`, … */
  name: string;
  parent: GraphQLObjectType;
  field: GraphQLField<unknown, unknown>;
}

/** Every field whose type is a connection (an object with `edges` and `pageInfo`). */
function connectionFields(): ConnectionField[] {
  const out: ConnectionField[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const t = getNamedType(field.type);
      if (isObjectType(t) && t.name.endsWith('Connection')) {
        out.push({ name: `${type.name}.${field.name}`, parent: type, field });
      }
    }
  }
  return out;
}

const CONNECTIONS = connectionFields();

/** How to reach a parent object of each type: a root field taking its id. */
const ROOT_OF: Record<string, string> = { User: 'user', Session: 'session', Category: 'category' };

describe('Relay connection types', () => {
  it('finds the connections of the schema', () => {
    expect(CONNECTIONS.map((c) => c.name).sort()).toEqual(
      expect.arrayContaining(['Query.items', 'Query.users', 'User.events', 'Session.events']),
    );
  });

  it.each(CONNECTIONS.map((c) => [c.name, c] as const))('%s has the Relay shape', (_, c) => {
    const args = new Map(c.field.args.map((a) => [a.name, getNullableType(a.type).toString()]));
    expect(args.get('first')).toBe('Int');
    expect(args.get('after')).toBe('String');
    expect(args.get('last')).toBe('Int');
    expect(args.get('before')).toBe('String');
    expect(isNonNullType(c.field.type)).toBe(true);
    const conn = getNamedType(c.field.type) as GraphQLObjectType;
    const fields = conn.getFields();
    const edgesType = getNullableType(fields.edges!.type);
    expect(isListType(edgesType)).toBe(true);
    const edge = getNamedType(fields.edges!.type) as GraphQLObjectType;
    expect(edge.name).toMatch(/Edge$/);
    expect(edge.getFields().cursor!.type.toString()).toBe('String!');
    expect(edge.getFields().node).toBeDefined();
    const pageInfo = getNamedType(fields.pageInfo!.type) as GraphQLObjectType;
    expect(fields.pageInfo!.type.toString()).toBe('PageInfo!');
    const pi = pageInfo.getFields();
    expect(pi.hasNextPage!.type.toString()).toBe('Boolean!');
    expect(pi.hasPreviousPage!.type.toString()).toBe('Boolean!');
    expect(pi.startCursor!.type.toString()).toBe('String');
    expect(pi.endCursor!.type.toString()).toBe('String');
  });
});

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

describe.each(backends)('Relay connections over HTTP on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  /** A parent id per type, one with many children. */
  const parents: Record<string, string> = {};

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    const slice = await beautySlice(40);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    server = await startServer(db, { MAX_PAGE_SIZE: '50' });
    // the user with the longest history, one of their sessions, the category with most items
    const longest = slice.lines
      .map((l) => l.trim().split(/\s+/))
      .sort((a, b) => b.length - a.length)[0]!;
    parents.User = `beauty:${longest[0]}`;
    // Amazon histories have no sessions: the user gets six, of 2 to 7 events, by recordEvents
    const items = longest.slice(1).map((i) => `beauty:${i}`);
    const events = Array.from({ length: 6 }, (_, k) =>
      Array.from({ length: k + 2 }, (_, j) => ({
        clientEventId: `relay-${k}-${j}`,
        type: 'VIEW',
        userId: parents.User,
        sessionId: `beauty:relay-s${k}`,
        itemId: items[(k + j) % items.length],
      })),
    ).flat();
    const recorded = await server.gql(
      `mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }`,
      { e: events },
    );
    expect(recorded.errors).toBeUndefined();
    parents.Session = 'beauty:relay-s5';
    const { rows } = await db.query<{ id: string }>(
      `SELECT category_id AS id FROM item_categories GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
    );
    parents.Category = rows[0]!.id;
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  /** The operation that pages `c`, under its parent when it is not a root field. */
  function pageQuery(c: ConnectionField): { query: string; pick: (data: any) => Page } {
    const selection = `${c.field.name}(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }`;
    const vars = '$first: Int, $after: String, $last: Int, $before: String';
    if (c.parent.name === 'Query') {
      return { query: `query(${vars}) { ${selection} }`, pick: (d) => d[c.field.name] };
    }
    const root = ROOT_OF[c.parent.name];
    if (!root) throw new Error(`no root field reaches ${c.parent.name} (add it to ROOT_OF)`);
    return {
      query: `query($parent: ID!, ${vars}) { ${root}(id: $parent) { ${selection} } }`,
      pick: (d) => d[root][c.field.name],
    };
  }

  async function page(c: ConnectionField, args: Record<string, unknown>): Promise<Page> {
    const { query, pick } = pageQuery(c);
    const res = await server.gql(query, { ...args, parent: parents[c.parent.name] });
    expect(res.errors, `${c.name} ${JSON.stringify(args)}`).toBeUndefined();
    return pick(res.data);
  }

  it.each(CONNECTIONS.map((c) => [c.name, c] as const))(
    '%s pages forward and backward to the same rows, pageInfo and cursors consistent',
    async (_, c) => {
      const all = await page(c, { first: 50 });
      const ids = all.edges.map((e) => e.node.id);
      expect(ids.length, `${c.name} needs rows to page`).toBeGreaterThan(3);
      expect(new Set(ids).size).toBe(ids.length);
      // forward in pages of 3
      const forward: string[] = [];
      let after: string | null = null;
      for (let n = 0; n < 100; n++) {
        const p: Page = await page(c, { first: 3, after });
        forward.push(...p.edges.map((e) => e.node.id));
        expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
        expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
        expect(p.pageInfo.hasPreviousPage).toBe(after !== null);
        if (!p.pageInfo.hasNextPage) break;
        expect(p.edges).toHaveLength(3);
        after = p.pageInfo.endCursor;
      }
      // backward in pages of 4 from the end
      const backward: string[] = [];
      let before: string | null = null;
      for (let n = 0; n < 100; n++) {
        const p: Page = await page(c, { last: 4, before });
        backward.unshift(...p.edges.map((e) => e.node.id));
        expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
        expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
        expect(p.pageInfo.hasNextPage).toBe(before !== null);
        if (!p.pageInfo.hasPreviousPage) break;
        expect(p.edges).toHaveLength(4);
        before = p.pageInfo.startCursor;
      }
      const complete = !all.pageInfo.hasNextPage;
      if (complete) {
        expect(forward).toEqual(ids);
        expect(backward).toEqual(ids);
      } else {
        expect(forward.slice(0, ids.length)).toEqual(ids);
        expect(backward.slice(-ids.length).length).toBe(ids.length);
      }
      // an edge's cursor resumes right after (or before) its own row
      const k = 2;
      const next = await page(c, { first: 2, after: all.edges[k]!.cursor });
      expect(next.edges.map((e) => e.node.id)).toEqual(ids.slice(k + 1, k + 3));
      const prev = await page(c, { last: 2, before: all.edges[k]!.cursor });
      expect(prev.edges.map((e) => e.node.id)).toEqual(ids.slice(k - 2, k));
    },
  );

  it.each(CONNECTIONS.map((c) => [c.name, c] as const))(
    '%s refuses negative or oversized page sizes and a cursor that is not one',
    async (_, c) => {
      const { query } = pageQuery(c);
      for (const args of [{ first: -1 }, { last: -1 }, { first: 51 }, { after: 'not a cursor' }]) {
        const res = await server.gql(query, { ...args, parent: parents[c.parent.name] });
        expect(res.errors?.[0]?.extensions?.code, `${c.name} ${JSON.stringify(args)}`).toBe(
          'BAD_USER_INPUT',
        );
      }
    },
  );
});
