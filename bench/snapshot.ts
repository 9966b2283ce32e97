// A forecast snapshot for refactors: the full answer (items, scores, reasons, categories,
// strategies, exploration draws) of a fixed set of requests over 500 Beauty users, written as
// canonical JSON without what varies between runs (forecast ids, times). Two checkouts that
// serve the same forecasts write identical files:
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
const USER_QUERY = `query($u: ID!, $seed: Int) { user(id: $u) {
  plain: interestForecast(first: 10, explain: true) { ...F }
  seen: interestForecast(first: 20, filter: { excludeSeen: false, excludePurchased: false }) { ...F }
  explored: interestForecast(first: 10, exploration: { epsilon: 0.3, pool: 20, seed: $seed }) { ...F }
  diverse: interestForecast(first: 10, diversity: { lambda: 0.7, maxPerCategory: 3 }) { ...F }
  popular: interestForecast(first: 10, mode: POPULARITY, explain: true) { ...F }
} } ${FIELDS}`;

/** Anonymous visitors: a user's first events as `recentEvents`, with a context item. */
const ANONYMOUS_QUERY = `query($e: [AnonymousEventInput!], $c: ID) {
  events: interestForecast(recentEvents: $e, first: 10, explain: true) { ...F }
  context: interestForecast(recentEvents: $e, first: 10, explain: true, context: { itemId: $c }) { ...F }
} ${FIELDS}`;

async function gql(url: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data as Record<string, any>;
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
  try {
    for (const [k, u] of users.entries()) {
      out[u] = (await gql(server.url, USER_QUERY, { u, seed: k + 1 })).user;
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
