// A shop's own exports (test/fixtures/shop): behaviour as CSV (the shop's type words, epoch
// seconds) and JSON Lines (usual column names, ISO times with zones, epoch milliseconds, days),
// catalogues as CSV (quotes, a multi-line description, name paths) and JSON Lines, and a
// catalogue of category ids (DIGINETICA's product-categories). Bad rows are reported as
// file:line and skipped, sessions are cut at 30 minutes of inactivity, a re-run stores nothing,
// and what was imported is what the API then answers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { parseTypes } from '../../src/import/shop/mapping.js';
import { importShopCatalogue } from '../../src/import/shop/catalogue.js';
import { importShopEvents } from '../../src/import/shop/events.js';
import { backends } from '../helpers/backends.js';
import { digineticaFixture } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DIR = path.resolve('test/fixtures/shop');
const CSV = path.join(DIR, 'behaviour.csv');
const JSONL = path.join(DIR, 'behaviour.jsonl');
const TYPES = parseTypes('pv=VIEW,cart=CART,fav=WISHLIST,buy=PURCHASE');

const HISTORY = `query($u: ID!) { user(id: $u) {
  sessions(first: 10) { edges { node { id startedAt lastEventAt } } }
  events(first: 20) { edges { node { sequence type occurredAt occurredOn query item { id } session { id } } } }
} }`;

describe.each(backends)("a shop's own exports on $name", (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const count = async (sql: string, params: unknown[] = []) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
  const history = async (userId: string) => {
    const res = await server.gql(HISTORY, { u: userId });
    expect(res.errors).toBeUndefined();
    const user = res.data.user;
    return {
      sessions: user.sessions.edges.map((e: { node: unknown }) => e.node),
      // oldest first
      events: user.events.edges.map((e: { node: unknown }) => e.node).reverse(),
    };
  };

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('imports behaviour CSV with its type words, skipping bad rows with file:line', async () => {
    const rejected: string[] = [];
    const r = await importShopEvents(db, [CSV], {
      dataset: 'shop',
      types: TYPES,
      onReject: (m) => rejected.push(m),
    });
    expect(rejected).toEqual([
      `${CSV}:9: type: "clk" is not mapped (add --types clk=VIEW|…)`,
      `${CSV}:10: time: "500000000" is before 1990-01-01, the earliest time accepted`,
      `${CSV}:11: item_id: a VIEW needs its item`,
      `${CSV}:12: 3 fields where the header has 5`,
    ]);
    expect(r.rejected).toBe(4);
    // 8 good rows; the last repeats the first word for word: one event
    expect(r.counts.events).toEqual({ read: 8, inserted: 7 });
    expect(r.counts.users).toEqual({ read: 2, inserted: 2 });
    expect(r.counts.items.inserted).toBe(4);
    expect(r.counts.categories.inserted).toBe(2);
    expect(r.counts.sessions.inserted).toBe(3);

    // Shopper 1: 01:00, 01:05, 01:30 | 61 min | 02:31, 03:01 (30 min: the same session)
    const one = await history('shop:1');
    expect(one.sessions).toEqual([
      {
        id: 'shop:1@2017-11-26T01:00:00.000Z',
        startedAt: '2017-11-26T01:00:00.000Z',
        lastEventAt: '2017-11-26T01:30:00.000Z',
      },
      {
        id: 'shop:1@2017-11-26T02:31:00.000Z',
        startedAt: '2017-11-26T02:31:00.000Z',
        lastEventAt: '2017-11-26T03:01:00.000Z',
      },
    ]);
    expect(
      one.events.map((e: Record<string, any>) => [
        e.sequence,
        e.type,
        e.item.id,
        e.occurredAt,
        e.session.id,
      ]),
    ).toEqual([
      [1, 'VIEW', 'shop:101', '2017-11-26T01:00:00.000Z', 'shop:1@2017-11-26T01:00:00.000Z'],
      [2, 'WISHLIST', 'shop:101', '2017-11-26T01:05:00.000Z', 'shop:1@2017-11-26T01:00:00.000Z'],
      [3, 'CART', 'shop:102', '2017-11-26T01:30:00.000Z', 'shop:1@2017-11-26T01:00:00.000Z'],
      [4, 'PURCHASE', 'shop:102', '2017-11-26T02:31:00.000Z', 'shop:1@2017-11-26T02:31:00.000Z'],
      [5, 'VIEW', 'shop:103', '2017-11-26T03:01:00.000Z', 'shop:1@2017-11-26T02:31:00.000Z'],
    ]);
    // the file's category column links the items
    const item = await server.gql(`{ item(id: "shop:201") { dataset categories { id name } } }`);
    expect(item.data.item).toEqual({ dataset: 'shop', categories: [{ id: 'shop:7', name: '7' }] });
  });

  it('stores nothing new when the same file is imported again', async () => {
    const before = await Promise.all(['events', 'sessions', 'users', 'items'].map((t) => count(t)));
    const r = await importShopEvents(db, [CSV], { dataset: 'shop', types: TYPES });
    expect(r.counts.events).toEqual({ read: 8, inserted: 0 });
    expect(r.counts.sessions.inserted).toBe(0);
    expect(
      await Promise.all(['events', 'sessions', 'users', 'items'].map((t) => count(t))),
    ).toEqual(before);
    expect(await count('events_pending_session')).toBe(0);
  });

  it('refuses a file without the columns it needs, saying which option maps them', async () => {
    const catalogue = path.join(DIR, 'catalogue.csv');
    await expect(importShopEvents(db, [catalogue], { dataset: 'x', types: TYPES })).rejects.toThrow(
      `${catalogue}: no column for type (usual names: type, event_type, behavior_type, ` +
        'behaviour_type, action; or --columns type=<column>)',
    );
    await expect(
      importShopEvents(db, [CSV], {
        dataset: 'x',
        types: TYPES,
        columns: new Map([['time', 'ts']]),
      }),
    ).rejects.toThrow(`${CSV}: --columns time=ts: the file has no such column`);
    expect(await count(`events WHERE dataset = 'x'`)).toBe(0);
  });

  it('keeps rows that say the same apart with event ids by line', async () => {
    const r = await importShopEvents(db, [CSV], {
      dataset: 'byline',
      types: TYPES,
      eventIds: 'line',
    });
    // line 13 repeats line 2: two events now
    expect(r.counts.events).toEqual({ read: 8, inserted: 8 });
    const again = await importShopEvents(db, [CSV], {
      dataset: 'byline',
      types: TYPES,
      eventIds: 'line',
    });
    expect(again.counts.events).toEqual({ read: 8, inserted: 0 });
  });

  it('imports an orders export without a type column: --type, --null NA, day + offset_ms', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'foresight-orders-'));
    const file = path.join(dir, 'orders.csv');
    await writeFile(
      file,
      [
        'sessionId;userId;timeframe;eventdate;ordernumber;itemId',
        '150;18278;17100868;2016-05-06;16421;25911',
        '150;18278;17100868;2016-05-06;16421;25911', // a second unit of the same line
        '151;NA;6454547;2016-05-06;16290;175874',
        '152;NA;soon;2016-05-06;16291;175874',
        '153;7;100;2016-05-07T10:00:00Z;16292;1',
        '',
      ].join('\n'),
    );
    const rejected: string[] = [];
    try {
      const r = await importShopEvents(db, [file], {
        dataset: 'orders',
        types: TYPES,
        type: 'PURCHASE',
        eventIds: 'line',
        columns: new Map([
          ['time', 'eventdate'],
          ['offset_ms', 'timeframe'],
        ]),
        rows: { nulls: new Set(['NA']) },
        onReject: (m) => rejected.push(m),
      });
      expect(rejected).toEqual([
        `${file}:5: offset_ms: "soon" is not whole milliseconds ≥ 0`,
        `${file}:6: offset_ms: needs a day in the time column (YYYY-MM-DD)`,
      ]);
      expect(r.counts.events).toEqual({ read: 3, inserted: 3 });
      const { rows } = await db.query<{ user_id: string | null; type: string; off: string }>(
        `SELECT user_id, type, session_offset_ms::text AS off FROM events
         WHERE dataset = 'orders' ORDER BY id`,
      );
      expect(rows).toEqual([
        { user_id: 'orders:18278', type: 'PURCHASE', off: '17100868' },
        { user_id: 'orders:18278', type: 'PURCHASE', off: '17100868' },
        { user_id: null, type: 'PURCHASE', off: '6454547' },
      ]);
      expect(await count(`users WHERE id = 'orders:NA'`)).toBe(0);
      // without --type, the missing column is named with both ways out
      await expect(
        importShopEvents(db, [file], { dataset: 'orders', types: TYPES }),
      ).rejects.toThrow(
        'no column for type (usual names: type, event_type, behavior_type, behaviour_type, action; or --columns type=<column>), or --type TYPE for every row',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('cuts sessions at the gap it is given', async () => {
    const r = await importShopEvents(db, [CSV], {
      dataset: 'gap90',
      types: TYPES,
      sessionGapMinutes: 90,
    });
    expect(r.counts.events.inserted).toBe(7);
    expect((await history('gap90:1')).sessions.map((s: { id: string }) => s.id)).toEqual([
      'gap90:1@2017-11-26T01:00:00.000Z',
    ]);
  });

  it('imports JSON Lines: usual names, ISO times with zones, epoch milliseconds, days', async () => {
    const rejected: string[] = [];
    const r = await importShopEvents(db, [JSONL], {
      dataset: 'web',
      types: parseTypes(undefined),
      onReject: (m) => rejected.push(m),
    });
    expect(rejected.map((m) => m.slice(JSONL.length + 1))).toEqual([
      '5: time: "2024-02-30T10:00:00Z" is not a time of the calendar',
      '6: time: must be an ISO-8601 date-time with seconds and a zone (e.g. 2024-05-09T10:00:00Z), got "2024-05-11T10:00:00"',
      '7: not valid JSON (Unexpected token \'o\', "not json" is not valid JSON)',
      '8: "customer_id": an integer beyond 2^53 is not exact in JSON; give it as a string',
    ]);
    expect(r.counts.events.inserted).toBe(4);
    const { events, sessions } = await history('web:c9');
    expect(
      events.map((e: Record<string, any>) => [
        e.type,
        e.item?.id ?? null,
        e.occurredAt,
        e.occurredOn,
        e.query,
        e.session?.id ?? null,
      ]),
    ).toEqual([
      ['VIEW', 'web:101', '2024-05-09T08:00:00.000Z', null, null, 'web:web-1'],
      ['WISHLIST', 'web:102', '2024-05-09T08:05:00.000Z', null, null, 'web:web-1'],
      // a day only: no time of day is made up, and no session is cut for it
      ['PURCHASE', 'web:102', null, '2024-05-10', null, null],
      [
        'SEARCH',
        null,
        '2024-05-10T09:00:00.000Z',
        null,
        'red shoes',
        'web:c9@2024-05-10T09:00:00.000Z',
      ],
    ]);
    expect(sessions.map((s: { id: string }) => s.id).sort()).toEqual([
      'web:c9@2024-05-10T09:00:00.000Z',
      'web:web-1',
    ]);
    // the event ids of the file are the client ids, in the dataset
    const ids = await db.query<{ id: string }>(
      `SELECT client_event_id AS id FROM events WHERE dataset = 'web' ORDER BY 1`,
    );
    expect(ids.rows.map((x) => x.id)).toEqual(['web:e1', 'web:e2', 'web:e3', 'web:e4']);
    // zone-less times read as UTC when asked; the rest is already there
    const utc = await importShopEvents(db, [JSONL], {
      dataset: 'web',
      types: parseTypes(undefined),
      assumeUtc: true,
    });
    expect(utc.counts.events.inserted).toBe(1);
    expect(utc.rejected).toBe(3);
    const late = await db.query<{ at: Date }>(
      `SELECT occurred_at AS at FROM events WHERE client_event_id = 'web:e6'`,
    );
    expect(late.rows[0]!.at.toISOString()).toBe('2024-05-11T10:00:00.000Z');
  });

  it("runs docs/import.md's two worked examples", async () => {
    // Taobao's layout without a header row
    const taobao = await importShopEvents(db, [path.join(DIR, 'UserBehavior.csv')], {
      dataset: 'tb',
      types: TYPES,
      rows: { header: ['user_id', 'item_id', 'category_id', 'behavior_type', 'timestamp'] },
    });
    expect(taobao.rejected).toBe(0);
    const tb = await history('tb:1');
    expect(tb.events.map((e: Record<string, any>) => [e.type, e.item.id, e.occurredAt])).toEqual([
      ['VIEW', 'tb:2268318', '2017-11-24T17:21:10.000Z'],
      ['WISHLIST', 'tb:2333346', '2017-11-24T22:15:33.000Z'],
      ['PURCHASE', 'tb:2576651', '2017-11-25T01:21:25.000Z'],
    ]);
    // three sessions: the gaps are hours
    expect(tb.sessions.length).toBe(3);
    // a shop system's names, mapped by --columns and --types
    const own = await importShopEvents(db, [path.join(DIR, 'shop-events.jsonl')], {
      dataset: 'own',
      types: parseTypes('view=VIEW,add_to_cart=CART,order=PURCHASE,favourite=WISHLIST'),
      columns: new Map([
        ['event_id', 'order_line'],
        ['user_id', 'customer'],
        ['item_id', 'product'],
        ['type', 'event'],
        ['time', 'at'],
        ['session_id', 'visit'],
      ]),
    });
    expect(own.rejected).toBe(0);
    const c9 = await history('own:c9');
    expect(c9.sessions.map((x: { id: string }) => x.id)).toEqual(['own:v-311']);
    expect(c9.events.map((e: Record<string, any>) => [e.type, e.occurredAt])).toEqual([
      ['CART', '2024-05-09T08:00:00.000Z'],
      ['PURCHASE', '2024-05-09T08:04:30.000Z'],
    ]);
  });

  it('imports a catalogue CSV as a tree of name paths; a re-run changes nothing', async () => {
    const file = path.join(DIR, 'catalogue.csv');
    const rejected: string[] = [];
    const r = await importShopCatalogue(db, [file], {
      dataset: 'cat',
      onReject: (m) => rejected.push(m.slice(file.length + 1)),
    });
    expect(rejected).toEqual([
      '5: price: "abc" is not a number (digits, a "." before decimals)',
      '6: in_stock: "maybe" is neither true nor false',
      '7: category: name 2 of the path "Women >  > Home" must not be empty',
      '8: id: empty',
    ]);
    expect(r.counts.items).toEqual({ read: 3, inserted: 3, updated: 0 });
    // Women, Shoes, Running, Bags, Sale
    expect(r.counts.categories.inserted).toBe(5);
    const items = await server.gql(`{ itemsByIds(ids: ["cat:sku-1", "cat:sku-2", "cat:sku-6"]) {
      title description brand price inStock categories { id name parent { name } } } }`);
    expect(items.data.itemsByIds).toEqual([
      {
        title: 'Trail runner',
        description: 'Light, with "grip"',
        brand: 'Acme',
        price: 89.9,
        inStock: true,
        categories: [{ id: 'cat:Women/Shoes/Running', name: 'Running', parent: { name: 'Shoes' } }],
      },
      {
        title: 'Canvas tote',
        description: 'Two lines:\ntote bag',
        brand: null,
        price: 24,
        inStock: true,
        categories: [
          { id: 'cat:Women/Bags', name: 'Bags', parent: { name: 'Women' } },
          { id: 'cat:Sale', name: 'Sale', parent: null },
        ],
      },
      {
        title: 'Sandals',
        description: null,
        brand: null,
        price: 30,
        inStock: false,
        categories: [{ id: 'cat:Women/Shoes', name: 'Shoes', parent: { name: 'Women' } }],
      },
    ]);
    const updatedAt = async () =>
      (await db.query<{ t: string }>(`SELECT max(updated_at)::text AS t FROM items`)).rows[0]!.t;
    const stamp = await updatedAt();
    const again = await importShopCatalogue(db, [file], { dataset: 'cat' });
    expect(again.counts.items).toEqual({ read: 3, inserted: 0, updated: 0 });
    expect(again.counts.categories.inserted).toBe(0);
    expect(await updatedAt()).toBe(stamp);
  });

  it('takes a JSON Lines catalogue into the same tree, updating what changed', async () => {
    const file = path.join(DIR, 'catalogue.jsonl');
    const r = await importShopCatalogue(db, [file], { dataset: 'cat' });
    expect(r.rejections).toEqual([`${file}:3: id: empty`]);
    expect(r.counts.items).toEqual({ read: 2, inserted: 1, updated: 1 });
    expect(r.counts.categories.inserted).toBe(2); // Men, Accessories; Sale exists
    const items = await server.gql(`{ itemsByIds(ids: ["cat:sku-9", "cat:sku-1"]) {
      title description price categories { id } } }`);
    expect(items.data.itemsByIds).toEqual([
      {
        title: 'Belt',
        description: null,
        price: 19.5,
        categories: [{ id: 'cat:Men/Accessories' }, { id: 'cat:Sale' }],
      },
      // a row replaces its item: the file has no description
      {
        title: 'Trail runner',
        description: null,
        price: 79.9,
        categories: [{ id: 'cat:Women/Shoes/Running' }],
      },
    ]);
  });

  it('imports a catalogue of category ids (DIGINETICA product-categories), roots named by id', async () => {
    const rows = await digineticaFixture('product-categories.csv');
    const r = await importShopCatalogue(
      db,
      [path.resolve('test/fixtures/diginetica/product-categories.csv')],
      { dataset: 'dg', category: 'id' },
    );
    expect(r.rejected).toBe(0);
    expect(r.counts.items.inserted).toBe(new Set(rows.map((x) => x[0])).size);
    expect(r.counts.categories.inserted).toBe(new Set(rows.map((x) => x[1])).size);
    const [itemId, categoryId] = rows[0]!;
    const item = await server.gql(
      `query($id: ID!) { item(id: $id) { categories { id name parent { id } } } }`,
      {
        id: `dg:${itemId}`,
      },
    );
    expect(item.data.item.categories).toEqual([
      { id: `dg:${categoryId}`, name: categoryId, parent: null },
    ]);
  });
});
