// The schema fuzz suite: for every Query field and every Mutation of schema/*.graphql,
// property-based cases (fast-check) built from the field's argument types
// (test/security/fuzz/arguments.ts: wrong types, boundaries, unicode and NUL, deep and wide
// JSON, forged cursors, extreme dates), sent as real HTTP requests to the gateway serving the
// shipped model, on each back-end. Every answer must be: below HTTP 500, JSON, without
// INTERNAL_SERVER_ERROR, every error coded, every BAD_USER_INPUT naming its field, every
// (status, code) one docs/security.md lists, no stack trace; and a refused request must leave
// every table as it was (a query, whatever its answer, every table but the served forecasts).
//
// Seeded and bounded: FUZZ_SEED (printed; random when unset) fixes the cases, FUZZ_RUNS (default
// 40) is the number of cases per field. A failure prints its field, seed and fast-check path:
// FUZZ_SEED=… FUZZ_FIELD=Mutation.recordEvents FUZZ_PATH=… replays it (the database then
// lacks what the other fields' cases wrote, which seldom matters). FUZZ_REPORT=1 writes the tally of outcomes to
// bench/results/fuzz-<back-end>-<day>.json.
import fc from 'fast-check';
import { buildSchema, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../src/server.js';
import { backends } from '../helpers/backends.js';
import { documentedErrors } from '../helpers/documented-errors.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { tableChecksums } from '../helpers/table-checksums.js';
import { casesOf, type FieldCase, type Pools } from './fuzz/arguments.js';
import { jsonText } from './fuzz/json-text.js';
import { Outcomes } from './fuzz/outcomes.js';

const SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const ONLY = process.env.FUZZ_FIELD;
const PATH = process.env.FUZZ_PATH;

/** Open (AUTH=off on loopback: every case acts as admin) with small limits, cheap to cross. */
const ENV = {
  AUTH: 'off',
  MAX_EVENT_BATCH: '20',
  MAX_PAGE_SIZE: '50',
  MAX_QUERY_COST: '20000',
};
const FORECAST_ID = '0f0f0f0f-0000-4000-8000-000000000001';
/** What gives away the server's insides. */
const LEAKS = [/\bat .+\.(ts|js):\d+/, /node_modules/, /\/src\//];

const schema = buildSchema(loadTypeDefs());
const FIELDS = (['query', 'mutation'] as const).flatMap((operation) => {
  const root = operation === 'query' ? schema.getQueryType()! : schema.getMutationType()!;
  return Object.values(root.getFields()).map((field, i) => ({
    operation,
    field: field as GraphQLField<unknown, unknown>,
    name: `${root.name}.${field.name}`,
    seed: SEED + (operation === 'query' ? 0 : 1000) + i,
  }));
});
const SELECTED = FIELDS.filter((f) => ONLY === undefined || f.name === ONLY);

console.log(`fuzz: FUZZ_SEED=${SEED}, ${RUNS} cases per field, ${SELECTED.length} fields`);

describe.each(backends)('the schema fuzz suite on $name', (backend) => {
  let fixture: ForecastFixture;
  let pools: Pools;
  let tables: Record<string, string>;
  const outcomes = new Outcomes();
  const documented = documentedErrors();
  let started = 0;

  beforeAll(async () => {
    fixture = await openForecastFixture(backend, { users: 30, env: ENV });
    const { db, server } = fixture;
    await db.query(
      `INSERT INTO sessions (id, dataset, user_id) VALUES ('beauty:s-owned', 'beauty', 'beauty:1')`,
    );
    await db.query(
      `INSERT INTO forecasts (id, mode, model_version, user_id, based_on_events, items, categories)
       VALUES ($1, 'POPULARITY', 'popularity-baseline', 'beauty:1', 0,
               '[{"itemId": "beauty:1", "rank": 1, "score": 1}]', '[]')`,
      [FORECAST_ID],
    );
    const items = (await db.query<{ id: string }>(`SELECT id FROM items ORDER BY id LIMIT 12`))
      .rows;
    // Dated events over two weeks, so that trends and calendar timelines have data.
    const dated = await server.gql(
      `mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }`,
      {
        e: Array.from({ length: 20 }, (_, i) => ({
          clientEventId: `fuzz-seed-${i}`,
          type: i % 5 === 0 ? 'CART' : 'VIEW',
          userId: `beauty:${1 + (i % 4)}`,
          sessionId: 'beauty:s-owned',
          itemId: items[i % items.length]!.id,
          occurredAt: new Date(
            Date.parse('2026-11-01T10:00:00Z') + i * 17 * 3_600_000,
          ).toISOString(),
        })).map((e) => (e.userId === 'beauty:1' ? e : { ...e, sessionId: undefined })),
      },
    );
    expect(dated.errors).toBeUndefined();
    const ids = (sql: string) => db.query<{ id: string }>(sql).then((r) => r.rows.map((x) => x.id));
    const known = {
      items: items.map((i) => i.id),
      users: await ids(`SELECT id FROM users ORDER BY id LIMIT 5`),
      sessions: ['beauty:s-owned'],
      categories: await ids(`SELECT id FROM categories ORDER BY id LIMIT 5`),
      forecasts: [FORECAST_ID],
    };
    pools = {
      ...known,
      ids: [
        ...Object.values(known).flat(),
        ...(await ids(`SELECT id::text AS id FROM events ORDER BY id LIMIT 3`)),
        'beauty:999999',
      ],
      datasets: ['beauty', 'diginetica', 'default'],
      cursors: [],
    };
    const pages = await server.gql(`{
      items(first: 2) { edges { cursor } } users(first: 2) { edges { cursor } }
      categories(first: 2) { edges { cursor } }
      user(id: "beauty:1") { events(first: 2) { edges { cursor } } sessions { edges { cursor } } }
      session(id: "beauty:s-owned") { events(first: 2) { edges { cursor } } } }`);
    expect(pages.errors).toBeUndefined();
    pools.cursors = JSON.stringify(pages.data)
      .match(/"cursor":"([^"]+)"/g)!
      .map((m) => m.slice(10, -1));
    tables = await tableChecksums(db);
    started = performance.now();
  });

  afterAll(async () => {
    const seconds = (performance.now() - started) / 1000;
    if (outcomes.cases > 0) {
      console.log(
        outcomes.table(
          `fuzz on ${backend.name}: ${outcomes.cases} cases in ${seconds.toFixed(1)} s (FUZZ_SEED=${SEED})`,
        ),
      );
      if (process.env.FUZZ_REPORT === '1')
        console.log(
          `fuzz: wrote ${outcomes.write(`fuzz-${backend.name}-${new Date().toISOString().slice(0, 10)}`, { backend: backend.name, seed: SEED, runsPerField: RUNS, seconds })}`,
        );
    }
    await fixture?.close();
  });

  /** Sends one case; what is wrong with the answer (nothing: an empty list). */
  async function check(name: string, operation: string, field: string, c: FieldCase) {
    const res = await fetch(fixture.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: jsonText({ query: c.document, variables: c.variables }),
    });
    const text = await res.text();
    const problems: string[] = [];
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push(`answer is not JSON: ${text.slice(0, 120)}`);
    }
    if (res.status >= 500) problems.push(`HTTP ${res.status}`);
    const errors: any[] = Array.isArray(body?.errors) ? body.errors : [];
    for (const e of errors) {
      const code = e?.extensions?.code;
      if (typeof code !== 'string') problems.push(`an error without a code: ${e?.message}`);
      else if (!documented.has(`${res.status} ${code}`))
        problems.push(`HTTP ${res.status} with ${code} is not in docs/security.md`);
      if (code === 'INTERNAL_SERVER_ERROR') problems.push(`INTERNAL_SERVER_ERROR at ${e.path}`);
      if (
        code === 'BAD_USER_INPUT' &&
        !(typeof e.extensions.field === 'string' && e.extensions.field)
      )
        problems.push(`BAD_USER_INPUT without its field: ${String(e.message).slice(0, 160)}`);
    }
    for (const leak of LEAKS) if (leak.test(text)) problems.push(`leaks ${leak}`);
    outcomes.add(
      name,
      res.status,
      errors[0]?.extensions?.code ?? (errors.length ? '(none)' : 'data'),
    );

    const refused =
      res.status >= 400 || body?.data == null || (errors.length > 0 && body.data[field] == null);
    if (refused || operation === 'query') {
      const now = await tableChecksums(fixture.db);
      const changed = Object.keys(now).filter(
        (t) => now[t] !== tables[t] && (refused || t !== 'forecasts'),
      );
      if (changed.length > 0)
        problems.push(`${refused ? 'a refused request' : 'a query'} changed ${changed.join(', ')}`);
      tables = now;
    } else tables = await tableChecksums(fixture.db);
    if (problems.length > 0)
      problems.push(
        `HTTP ${res.status}: ${text.slice(0, 1000)}`,
        `document: ${c.document.slice(0, 300)}`,
        `variables: ${jsonText(c.variables).slice(0, 300)}`,
      );
    return problems;
  }

  it.each(SELECTED)('holds for $name', async ({ operation, field, name, seed }) => {
    let last: string[] = [];
    const result = await fc.check(
      fc.asyncProperty(casesOf(operation, field, pools), async (c) => {
        try {
          last = await check(name, operation, field.name, c);
        } catch (err) {
          last = [`the request failed: ${String(err)}`, `document: ${c.document.slice(0, 300)}`];
        }
        return last.length === 0;
      }),
      { seed, numRuns: RUNS, endOnFailure: true, ...(PATH && ONLY && { path: PATH }) },
    );
    if (result.failed)
      throw new Error(
        `${name} on ${backend.name} fails:\n  ${last.join('\n  ')}\n` +
          `replay: FUZZ_SEED=${SEED} FUZZ_FIELD=${name} FUZZ_PATH=${result.counterexamplePath} ` +
          `(fast-check seed ${result.seed})`,
      );
  });
});
