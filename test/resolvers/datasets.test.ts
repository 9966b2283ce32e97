// Ids and datasets: every id the API stores is `<dataset>:<id>`, and one call writes one
// dataset. An id without the prefix, or a batch mixing datasets, is refused with BAD_USER_INPUT
// naming the rule and the field, and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RECORD = `mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }`;
const UPSERT_ITEM = `mutation($i: ItemInput!) { upsertItem(input: $i) { id dataset } }`;
const UPSERT_USER = `mutation($u: UserInput!) { upsertUser(input: $u) { id dataset } }`;

describe.each(backends)('ids and datasets on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const count = async (table: string) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db);
    await db.query(
      `INSERT INTO items (id, dataset) VALUES ('myshop:sku-1', 'myshop'), ('other:sku-1', 'other')`,
    );
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('refuses an event id without a dataset prefix, naming the field and the rule', async () => {
    const ok = { clientEventId: 'e1', type: 'VIEW', userId: 'myshop:u1', itemId: 'myshop:sku-1' };
    for (const [bad, field] of [
      [{ userId: 'u1' }, 'events[1].userId'],
      [{ sessionId: 's1' }, 'events[1].sessionId'],
      [{ itemId: 'sku-77' }, 'events[1].itemId'],
      [{ userId: ':u1' }, 'events[1].userId'],
      [{ userId: 'myshop:' }, 'events[1].userId'],
    ] as const) {
      const res = await server.gql(RECORD, { e: [ok, { ...ok, clientEventId: 'e2', ...bad }] });
      expect(res.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(res.errors?.[0]?.message.startsWith(`${field}: `)).toBe(true);
    }
    const sku = await server.gql(RECORD, { e: [{ ...ok, itemId: 'sku-77' }] });
    expect(sku.errors?.[0]?.message).toBe(
      'events[0].itemId: "sku-77" has no dataset prefix: ids are <dataset>:<id> (e.g. "myshop:sku-77")',
    );
    expect(await count('events')).toBe(0);
    expect(await count('users')).toBe(0);
  });

  it('refuses a recordEvents batch mixing datasets, naming both fields', async () => {
    const res = await server.gql(RECORD, {
      e: [
        { clientEventId: 'm1', type: 'VIEW', userId: 'myshop:u1', itemId: 'myshop:sku-1' },
        { clientEventId: 'm2', type: 'VIEW', userId: 'myshop:u1', itemId: 'other:sku-1' },
      ],
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'events[1].itemId',
    });
    expect(res.errors?.[0]?.message).toBe(
      'events[1].itemId: "other:sku-1" is in dataset "other", but events[0].userId is in ' +
        '"myshop": one call writes one dataset',
    );
    // a user of one dataset in a session of another, within one event
    const mixed = await server.gql(RECORD, {
      e: [
        {
          clientEventId: 'm3',
          type: 'VIEW',
          userId: 'myshop:u1',
          sessionId: 'web:s1',
          itemId: 'myshop:sku-1',
        },
      ],
    });
    expect(mixed.errors?.[0]?.extensions?.field).toBe('events[0].sessionId');
    expect(await count('events')).toBe(0);
    expect(await count('sessions')).toBe(0);
    // one dataset throughout is stored, in that dataset
    const good = await server.gql(RECORD, {
      e: [
        {
          clientEventId: 'g1',
          type: 'VIEW',
          userId: 'other:u1',
          sessionId: 'other:s1',
          itemId: 'other:sku-1',
        },
      ],
    });
    expect(good.data.recordEvents.accepted).toBe(1);
    const { rows } = await db.query<{ dataset: string }>('SELECT dataset FROM events');
    expect(rows).toEqual([{ dataset: 'other' }]);
  });

  it('refuses items, their categories and shoppers without a prefix or of another dataset', async () => {
    await db.query(`INSERT INTO categories (id, dataset, name) VALUES ('other:c1', 'other', 'C1')`);
    const noPrefix = await server.gql(UPSERT_ITEM, { i: { id: 'sku-77', title: 'Mug' } });
    expect(noPrefix.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.id',
    });
    const otherCategory = await server.gql(UPSERT_ITEM, {
      i: { id: 'myshop:sku-2', categoryIds: ['other:c1'] },
    });
    expect(otherCategory.errors?.[0]?.extensions?.field).toBe('input.categoryIds[0]');
    expect(otherCategory.errors?.[0]?.message).toContain('one call writes one dataset');
    const user = await server.gql(UPSERT_USER, { u: { id: 'visitor-42', profile: {} } });
    expect(user.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.id',
    });
    expect(user.errors?.[0]?.message).toContain('has no dataset prefix');
    expect(await count('items')).toBe(2);
    expect(await count('users')).toBe(1);
    const named = await server.gql(UPSERT_USER, { u: { id: 'myshop:visitor-42', profile: {} } });
    expect(named.data.upsertUser).toEqual({ id: 'myshop:visitor-42', dataset: 'myshop' });
  });

  it('refuses a lookup without a dataset prefix, or mixing datasets, in every query', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['query($id: ID!) { item(id: $id) { id } }', { id: 'sku-1' }, 'id'],
      ['query($id: ID!) { category(id: $id) { id } }', { id: 'c1' }, 'id'],
      ['query($id: ID!) { user(id: $id) { id } }', { id: 'u1' }, 'id'],
      ['query($id: ID!) { session(id: $id) { id } }', { id: 's1' }, 'id'],
      [
        'query($ids: [ID!]!) { itemsByIds(ids: $ids) { id } }',
        { ids: ['myshop:sku-1', 'sku-1'] },
        'ids[1]',
      ],
      [
        'query($c: ID) { items(filter: { categoryId: $c }) { edges { node { id } } } }',
        { c: 'c1' },
        'filter.categoryId',
      ],
      ['query($u: ID) { interestForecast(userId: $u) { id } }', { u: 'u1' }, 'userId'],
      ['query($s: ID) { interestForecast(sessionId: $s) { id } }', { s: 's1' }, 'sessionId'],
      [
        'query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e) { id } }',
        { e: [{ type: 'VIEW', itemId: 'sku-1' }] },
        'recentEvents[0].itemId',
      ],
      [
        'query($u: ID, $c: [ID!]) { interestForecast(userId: $u, filter: { categoryIds: $c }) { id } }',
        { u: 'myshop:u1', c: ['c1'] },
        'filter.categoryIds[0]',
      ],
    ];
    for (const [query, variables, field] of cases) {
      const res = await server.gql(query, variables);
      expect(res.errors?.[0]?.extensions, `${query} ${field}`).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
      });
      expect(res.errors?.[0]?.message).toMatch(
        new RegExp(
          `^${field.replace(/[[\].]/g, '\\$&')}: ".*" has no dataset prefix: ids are <dataset>:<id>`,
        ),
      );
    }
    const mixed: [string, Record<string, unknown>, string][] = [
      [
        'query($ids: [ID!]!) { itemsByIds(ids: $ids) { id } }',
        { ids: ['myshop:sku-1', 'other:sku-1'] },
        'ids[1]',
      ],
      [
        'query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e) { id } }',
        {
          e: [
            { type: 'VIEW', itemId: 'myshop:sku-1' },
            { type: 'VIEW', itemId: 'other:sku-1' },
          ],
        },
        'recentEvents[1].itemId',
      ],
      [
        'query($u: ID, $c: ID) { interestForecast(userId: $u, context: { itemId: $c }) { id } }',
        { u: 'myshop:u1', c: 'other:sku-1' },
        'context.itemId',
      ],
    ];
    for (const [query, variables, field] of mixed) {
      const res = await server.gql(query, variables);
      expect(res.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(res.errors?.[0]?.message).toContain('one call writes one dataset');
    }
    // one dataset throughout is a lookup as before
    const ok = await server.gql('query($ids: [ID!]!) { itemsByIds(ids: $ids) { id } }', {
      ids: ['myshop:sku-1', 'myshop:nope'],
    });
    expect(ok.data.itemsByIds).toEqual([{ id: 'myshop:sku-1' }, null]);
  });
});
