// Throughput cost of access control and operation limits: the same forecast query against two
// gateways over one database, one open (AUTH=off) and one with every protection on (AUTH=
// required with an API key, a per-key rate limit set high enough never to refuse, the
// persisted-operation allow-list, the default depth/alias/cost limits), at one concurrency,
// rounds alternating A B A B so that a busy machine affects both alike. Also times the
// operation-shape walk (src/security/limits.ts) in-process. The open gateway still measures
// shapes (the limits are always on), hence the in-process figure for that part.
//
//   npx tsx bench/security.ts [--duration 10] [--concurrency 32] [--rounds 3]
//
// Uses the PostgreSQL database `foresight_exploration` (filled by bench/exploration.ts's
// preparation on first use); writes bench/results/security-<date>.json.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { migrate } from '../src/db/migrate.js';
import { openPostgres } from '../src/db/postgres.js';
import { createApiKey } from '../src/security/keys.js';
import { measureOperation } from '../src/security/limits.js';
import { loadTypeDefs } from '../src/server.js';
import { drive, median, prepareBeautyUsers, startServer, type LoadResult } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_exploration',
    },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
  },
});
const databaseUrl = opts['database-url'] as string;
const log = (msg: string) => console.error(`[bench] ${msg}`);

const QUERY = `query Forecast($u: ID!) {
  interestForecast(userId: $u, first: 10) {
    id items { rank score item { id } } categories(first: 5) { probability category { id } }
  }
}
`;

async function prepare(): Promise<{ users: string[]; token: string }> {
  const users = await prepareBeautyUsers(databaseUrl);
  const db = await openPostgres(databaseUrl, 1);
  await migrate(db, { EMBEDDING_DIM: 64 }); // api_keys, on a database filled before it existed
  const { token } = await createApiKey(db, {
    name: 'bench-security',
    scopes: ['read'],
    ratePerMinute: 1_000_000,
  });
  await db.close();
  return { users, token };
}

/** Microseconds per measureOperation call over QUERY. */
function shapeWalkMicros(): number {
  const schema = buildSchema(loadTypeDefs());
  const doc = parse(QUERY);
  const op = doc.definitions[0] as OperationDefinitionNode;
  const limits = { maxDepth: 15, maxAliases: 30, maxCost: 50_000 };
  const n = 100_000;
  for (let i = 0; i < 1000; i++) measureOperation(schema, doc, op, { u: 'x' }, limits);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) measureOperation(schema, doc, op, { u: 'x' }, limits);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

async function main(): Promise<void> {
  const { users, token } = await prepare();
  const allowDir = await mkdtemp(path.join(tmpdir(), 'foresight-allow-'));
  await writeFile(path.join(allowDir, 'forecast.graphql'), QUERY);
  const common = { DATABASE_URL: databaseUrl, GATEWAY_WORKERS: '1' };
  const open = await startServer({ ...common, AUTH: 'off' }, 4720);
  const guarded = await startServer(
    { ...common, AUTH: 'required', OPERATION_ALLOW_LIST: allowDir, API_KEY_CACHE_MS: '5000' },
    4721,
  );
  const scenarios = {
    'open (AUTH=off)': { url: open.url, headers: {} },
    'API key + rate limit + allow-list + limits': {
      url: guarded.url,
      headers: { authorization: `Bearer ${token}` },
    },
  };
  const concurrency = Number(opts.concurrency);
  const duration = Number(opts.duration);
  const rounds = Number(opts.rounds);
  const runs: Record<string, LoadResult[]> = {};
  try {
    for (const s of Object.values(scenarios))
      await drive(s.url, users, concurrency, 2, QUERY, s.headers);
    for (let round = 0; round < rounds; round++)
      for (const [name, s] of Object.entries(scenarios)) {
        const r = await drive(s.url, users, concurrency, duration, QUERY, s.headers);
        (runs[name] ??= []).push(r);
        log(
          `round ${round + 1} ${name}: ${r.reqPerSec.toFixed(1)} req/s, errors ${r.errors + r.non2xx}`,
        );
      }
  } finally {
    await open.stop();
    await guarded.stop();
  }
  const walk = shapeWalkMicros();
  const rate = (name: string) => median(runs[name]!.map((r) => r.reqPerSec));
  const base = rate('open (AUTH=off)');
  const lines = [
    `| scenario (concurrency ${concurrency}, ${rounds} × ${duration} s) | req/s (median of rounds) | ratio to open | p50 ms | p99 ms | errors |`,
    '|---|---|---|---|---|---|',
    ...Object.keys(scenarios).map((name) => {
      const rs = runs[name]!;
      const errors = rs.reduce((a, r) => a + r.errors + r.non2xx, 0);
      return `| ${name} | ${rate(name).toFixed(1)} | ${(rate(name) / base).toFixed(3)} | ${median(rs.map((r) => r.latencyMs.p50)).toFixed(1)} | ${median(rs.map((r) => r.latencyMs.p99)).toFixed(1)} | ${errors} |`;
    }),
    '',
    `operation-shape walk (depth, aliases, cost) of the query: ${walk.toFixed(2)} µs per request`,
  ];
  console.log(lines.join('\n'));
  const day = new Date().toISOString().slice(0, 10);
  await writeFile(
    `bench/results/security-${day}.json`,
    JSON.stringify(
      { at: new Date().toISOString(), concurrency, duration, rounds, runs, shapeWalkMicros: walk },
      null,
      2,
    ) + '\n',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
