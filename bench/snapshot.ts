// A forecast snapshot for refactors: the full answer (items, scores, reasons, categories,
// strategies, exploration draws) of a fixed set of requests over 500 Beauty users (filters,
// policies, the popularity path), 100 anonymous visitors and 50 sessions, the engine's refusals,
// and the forecast rows the run stored, written as canonical JSON without what varies between
// runs (forecast ids, times). Two checkouts that serve the same forecasts write identical files:
//
//   npx tsx bench/snapshot.ts --out /tmp/after.json
//   npx tsx bench/snapshot.ts --dir ../base-worktree --out /tmp/before.json
//   cmp /tmp/before.json /tmp/after.json
//
// The requests go one at a time, one shopper each, so every run batches them alike (the
// batcher merges only concurrent requests). `--dir`: the checkout whose gateway serves them
// (default this one); the database is the benchmarks' (bench/load.ts, Beauty imported once).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { prepareBeautyUsers, startServer } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_bench',
    },
    dir: { type: 'string', default: '.' },
    out: { type: 'string' },
    users: { type: 'string', default: '500' },
    port: { type: 'string', default: '4391' },
  },
});
if (!opts.out) throw new Error('--out FILE is required');

const FIELDS = `fragment F on InterestForecast {
  modelVersion mode strategy strategyDetail basedOnEvents purchaseProbability policy
  items { rank score propensity explored item { id }
    reasons { kind message weight inputIndex event { id } category { id } } }
  categories(first: 10) { probability category { id } }
}`;

/** A user's forecast under several requests: every scoring path the engine has. */
const USER_QUERY = `query($u: ID!, $seed: Int, $cats: [ID!]) { user(id: $u) {
  plain: interestForecast(first: 10, explain: true) { ...F }
  seen: interestForecast(first: 20, filter: { excludeSeen: false, excludePurchased: false }) { ...F }
  explored: interestForecast(first: 10, exploration: { epsilon: 0.3, pool: 20, seed: $seed }) { ...F }
  diverse: interestForecast(first: 10, diversity: { lambda: 0.7, maxPerCategory: 3 }) { ...F }
  popular: interestForecast(first: 10, mode: POPULARITY, explain: true) { ...F }
  filtered: interestForecast(first: 10, filter: { categoryIds: $cats }) { ...F }
  coldFiltered: interestForecast(first: 5, mode: POPULARITY, filter: { categoryIds: $cats }) { ...F }
} } ${FIELDS}`;

/** A session's forecast (sessions recorded by this script, below). */
const SESSION_QUERY = `query($s: ID!) {
  interestForecast(sessionId: $s, first: 10, explain: true) { ...F }
} ${FIELDS}`;

/** Requests the engine refuses: their codes and messages. */
const REFUSED: [string, Record<string, unknown>][] = [
  ['query($u: ID!) { interestForecast(userId: $u) { items { rank } } }', { u: 'beauty:no-such' }],
  [
    'query($u: ID!, $c: ID) { interestForecast(userId: $u, context: { itemId: $c }) { items { rank } } }',
    { u: 'beauty:1', c: 'beauty:no-such-item' },
  ],
  [
    'query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e) { items { rank } } }',
    { e: [{ itemId: 'beauty:no-such-item', type: 'VIEW' }] },
  ],
];

/** Anonymous visitors: a user's first events as `recentEvents`, with a context item. */
const ANONYMOUS_QUERY = `query($e: [AnonymousEventInput!], $c: ID) {
  events: interestForecast(recentEvents: $e, first: 10, explain: true) { ...F }
  context: interestForecast(recentEvents: $e, first: 10, explain: true, context: { itemId: $c }) { ...F }
} ${FIELDS}`;

async function post(url: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
}

async function gql(url: string, query: string, variables?: Record<string, unknown>) {
  const body = await post(url, query, variables);
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data as Record<string, any>;
}

/**
 * The forecast rows stored since `since` (the impression log), without ids and times, in an
 * order of their content alone: the rows the run wrote, whichever way its batches formed.
 */
async function storedForecasts(since: Date): Promise<unknown[]> {
  const db = new pg.Client({ connectionString: opts['database-url'] as string });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT mode, model_version, user_id, session_id, based_on_events, items, categories,
              purchase_probability, strategy, policy, purchase_intent
       FROM forecasts WHERE created_at >= $1
       ORDER BY user_id, session_id, strategy, model_version, items::text, categories::text,
                policy::text`,
      [since],
    );
    return rows;
  } finally {
    await db.end();
  }
}

/** Three categories of the catalogue, by item count, past the catalogue-wide ones. */
async function someCategories(): Promise<string[]> {
  const db = new pg.Client({ connectionString: opts['database-url'] as string });
  await db.connect();
  try {
    const { rows } = await db.query<{ id: string }>(
      `SELECT category_id AS id FROM item_categories WHERE category_id LIKE 'beauty:%'
       GROUP BY 1 ORDER BY count(*) DESC, 1 OFFSET 3 LIMIT 3`,
    );
    return rows.map((r) => r.id);
  } finally {
    await db.end();
  }
}

async function main() {
  const users = (await prepareBeautyUsers(opts['database-url'] as string)).slice(
    0,
    Number(opts.users),
  );
  const server = await startServer(
    { DATABASE_URL: opts['database-url'] as string, AUTH: 'off' },
    Number(opts.port),
    [],
    path.resolve(opts.dir as string),
  );
  const out: Record<string, unknown> = {};
  const cats = await someCategories();
  const since = new Date();
  try {
    for (const [k, u] of users.entries()) {
      out[u] = (await gql(server.url, USER_QUERY, { u, seed: k + 1, cats })).user;
    }
    // Anonymous: the first 3 items of each of the first 100 users, viewed; context the 4th.
    const EVENTS = `query($u: ID!) { user(id: $u) { events(first: 4) { edges { node { item { id } } } } } }`;
    for (const u of users.slice(0, 100)) {
      const { edges } = (await gql(server.url, EVENTS, { u })).user.events;
      const items = (edges as { node: { item: { id: string } } }[]).map((e) => e.node.item.id);
      if (items.length < 2) continue;
      const e = items
        .slice(0, Math.min(3, items.length - 1))
        .map((itemId) => ({ itemId, type: 'VIEW' }));
      out[`anonymous:${u}`] = await gql(server.url, ANONYMOUS_QUERY, {
        e,
        c: items[items.length - 1],
      });
    }
    // Sessions: the items of each of the first 50 users viewed in a session without a user (so
    // that the users' histories stay as they are), recorded with fixed event ids and times (a
    // second run stores nothing new), then forecast.
    const RECORD = `mutation($ev: [EventInput!]!) { recordEvents(events: $ev) { accepted } }`;
    for (const [k, u] of users.slice(0, 50).entries()) {
      const { edges } = (await gql(server.url, EVENTS, { u })).user.events;
      const s = `beauty:snapshot-s${k}`;
      const ev = (edges as { node: { item: { id: string } } }[]).map((e, j) => ({
        clientEventId: `snapshot-${k}-${j}`,
        type: 'VIEW',
        sessionId: s,
        itemId: e.node.item.id,
        occurredAt: new Date(Date.UTC(2026, 0, 1, 12, j)).toISOString(),
      }));
      await gql(server.url, RECORD, { ev });
      out[`session:${s}`] = (await gql(server.url, SESSION_QUERY, { s })).interestForecast;
    }
    out.refused = await Promise.all(
      REFUSED.map(async ([query, variables]) =>
        ((await post(server.url, query, variables)).errors ?? []).map((e) => {
          const { message, extensions } = e as { message: string; extensions: { code: string } };
          return { message, code: extensions.code };
        }),
      ),
    );
    out.stored = await storedForecasts(since);
  } finally {
    await server.stop();
  }
  writeFileSync(opts.out as string, JSON.stringify(out, null, 1) + '\n');
  console.log(`${Object.keys(out).length} subjects → ${opts.out}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
