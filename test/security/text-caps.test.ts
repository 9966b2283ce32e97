// Every free text the API stores or searches with has a length cap, refused as BAD_USER_INPUT
// naming the field with nothing written (the hostile review stored a 500,000-character SEARCH
// query; ids were already capped at 200): search queries, item titles, descriptions and brands,
// the item listing's filters, dataset names; and the DIGINETICA importer's search tokens.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
const MAX_QUERY_LENGTH = 1000;
import { importDiginetica } from '../../src/import/diginetica.js';
const MAX_BRAND_LENGTH = 500,
  MAX_DESCRIPTION_LENGTH = 10000,
  MAX_FILTER_TEXT_LENGTH = 200,
  MAX_TITLE_LENGTH = 1000;
const MAX_ID_LENGTH = 200;
import { backends } from '../helpers/backends.js';
import { tempDirs } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`;
const UPSERT = `mutation($input: ItemInput!) { upsertItem(input: $input) { id title } }`;
const x = (n: number) => 'x'.repeat(n);

describe.each(backends)('text caps on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const dirs = tempDirs();
  const count = async (sql: string) =>
    Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0]!.n);
  const expectRefused = (res: Awaited<ReturnType<TestServer['gql']>>, field: string) => {
    expect(res.status).toBeLessThan(500);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.errors?.[0]?.message).toMatch(/at most \d[\d,]* characters/);
  };

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await db.query(`INSERT INTO items (id, dataset, title) VALUES ('shop:1', 'shop', 'One')`);
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
    await dirs.removeAll();
  });

  it('refuses a SEARCH query of 500,000 characters, and stores one at the cap', async () => {
    const search = (clientEventId: string, query: string) => ({
      clientEventId,
      type: 'SEARCH',
      sessionId: 'shop:s1',
      query,
    });
    expectRefused(
      await server.gql(RECORD, { events: [search('q-1', 'lipstick'), search('q-2', x(500_000))] }),
      'events[1].query',
    );
    expectRefused(
      await server.gql(RECORD, { events: [search('q-3', x(MAX_QUERY_LENGTH + 1))] }),
      'events[0].query',
    );
    expect(await count('events')).toBe(0);
    const ok = await server.gql(RECORD, { events: [search('q-4', x(MAX_QUERY_LENGTH))] });
    expect(ok.errors).toBeUndefined();
    expect(await count('events')).toBe(1);
  });

  it.each([
    ['title', MAX_TITLE_LENGTH],
    ['description', MAX_DESCRIPTION_LENGTH],
    ['brand', MAX_BRAND_LENGTH],
  ] as const)('refuses an item %s over %i characters', async (field, max) => {
    const before = await count(`items WHERE id = 'shop:capped'`);
    expectRefused(
      await server.gql(UPSERT, { input: { id: 'shop:capped', [field]: x(max + 1) } }),
      `input.${field}`,
    );
    expect(await count(`items WHERE id = 'shop:capped'`)).toBe(before);
    const ok = await server.gql(UPSERT, { input: { id: 'shop:capped', [field]: x(max) } });
    expect(ok.errors).toBeUndefined();
  });

  it('refuses an item category id over the id cap', async () => {
    expectRefused(
      await server.gql(UPSERT, { input: { id: 'shop:c', categoryIds: [x(MAX_ID_LENGTH + 1)] } }),
      'input.categoryIds[0]',
    );
  });

  it.each([
    ['text', MAX_FILTER_TEXT_LENGTH],
    ['brand', MAX_BRAND_LENGTH],
    ['dataset', MAX_ID_LENGTH],
    ['categoryId', MAX_ID_LENGTH],
  ] as const)('refuses an items filter %s over %i characters', async (field, max) => {
    const q = `query($f: ItemFilter) { items(filter: $f) { edges { node { id } } } }`;
    // a category id names its dataset (`<dataset>:<id>`), the other fields are free text
    const value = (n: number) => (field === 'categoryId' ? `shop:${x(n - 5)}` : x(n));
    expectRefused(await server.gql(q, { f: { [field]: value(max + 1) } }), `filter.${field}`);
    expect((await server.gql(q, { f: { [field]: value(max) } })).errors).toBeUndefined();
  });

  it('refuses dataset names over the id cap in listings and trends', async () => {
    const long = x(MAX_ID_LENGTH + 1);
    for (const q of [
      `query($d: String) { users(dataset: $d) { edges { cursor } } }`,
      `query($d: String) { categories(dataset: $d) { edges { cursor } } }`,
      `query($d: String!) { trendingItems(dataset: $d) { asOf } }`,
      `query($d: String!) { trendingCategories(dataset: $d) { asOf } }`,
    ])
      expectRefused(await server.gql(q, { d: long }), 'dataset');
  });

  it('rejects DIGINETICA search tokens longer than the query cap, with file:line', async () => {
    const dir = await dirs.make();
    const file = path.join(dir, 'train-queries.csv');
    const header =
      'queryId;sessionId;userId;timeframe;duration;eventdate;searchstring.tokens;categoryId;items;is.test';
    await writeFile(
      file,
      [
        header,
        `1;7;NA;5;100;2016-05-06;${x(MAX_QUERY_LENGTH + 1)};;1;FALSE`,
        `2;7;NA;6;100;2016-05-06;16655,2156;;1;FALSE`,
      ].join('\n') + '\n',
    );
    const report = await importDiginetica(db, [file]);
    expect(report.rejections).toEqual([
      `${file}:2: searchstring.tokens: at most ${MAX_QUERY_LENGTH} characters, got ${MAX_QUERY_LENGTH + 1}`,
    ]);
    expect(report.counts.events.inserted).toBe(1);
  });
});
