// Load scenario for the forecast benchmark: a server process with a given configuration,
// driven by autocannon at several concurrencies with users drawn from the data.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import autocannon from 'autocannon';
import pg from 'pg';

/** Each request of the load: one forecast of a Beauty user, with items and top categories. */
export const QUERY = `query Forecast($u: ID!) {
  interestForecast(userId: $u, first: 10) {
    id modelVersion
    items { rank score item { id } }
    categories(first: 5) { probability category { id } }
    timing { batchSize }
  }
}`;

/** The users the load draws from (5,000 Beauty users, a fixed pseudo-random sample). */
export const USER_SAMPLE_SQL = `SELECT id FROM users WHERE dataset = 'beauty' ORDER BY md5(id) LIMIT 5000`;

export interface ServerHandle {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the gateway (`node [nodeFlags] src/main.ts` in `cwd`) with `env` on a free port and
 * waits until /readyz answers. */
export async function startServer(
  env: Record<string, string>,
  port: number,
  nodeFlags: readonly string[] = [],
  cwd = process.cwd(),
): Promise<ServerHandle> {
  const child: ChildProcess = spawn('node', [...nodeFlags, '--import', 'tsx', 'src/main.ts'], {
    cwd,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTO_IMPORT: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('server did not become ready in 180 s');
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    pid: child.pid as number,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

interface Counters {
  forecast: {
    batches: number;
    items: number;
    batchSizes: Record<string, number>;
    runMsTotal: number;
  };
  modelCalls: Record<string, { calls: number; items: number; ms: number }>;
  /** Wall time per stage of the batches (src/forecast/engine.ts STAGES). */
  stages?: Record<string, { calls: number; items: number; ms: number }>;
}

export async function inferenceStats(url: string): Promise<Counters> {
  const r = await fetch(`${url}/debug/inference`);
  return (await r.json()) as Counters;
}

export interface InferenceDelta {
  batches: number;
  forecasts: number;
  batchSizes: Record<string, number>;
  encoderCalls: number;
  encoderMs: number;
  scorerMs: number;
  /** Wall ms of a whole batch, mean. */
  batchMs: number;
  /** Per stage: batches that ran it, its mean wall ms per such batch, and per forecast. */
  stages: Record<string, { batches: number; msPerBatch: number; msPerForecast: number }>;
}

export function diffStats(before: Counters, after: Counters): InferenceDelta {
  const sizes: Record<string, number> = {};
  for (const [k, n] of Object.entries(after.forecast.batchSizes)) {
    const d = n - (before.forecast.batchSizes[k] ?? 0);
    if (d > 0) sizes[k] = d;
  }
  const calls = (name: string, c: Counters) => c.modelCalls[name] ?? { calls: 0, items: 0, ms: 0 };
  const batches = after.forecast.batches - before.forecast.batches;
  const forecasts = after.forecast.items - before.forecast.items;
  const stages: InferenceDelta['stages'] = {};
  for (const [name, a] of Object.entries(after.stages ?? {})) {
    const b = before.stages?.[name] ?? { calls: 0, items: 0, ms: 0 };
    const n = a.calls - b.calls;
    if (n <= 0) continue;
    const ms = a.ms - b.ms;
    stages[name] = {
      batches: n,
      msPerBatch: Number((ms / n).toFixed(3)),
      msPerForecast: Number((ms / Math.max(1, forecasts)).toFixed(4)),
    };
  }
  return {
    batches,
    forecasts,
    batchSizes: sizes,
    encoderCalls: calls('encoder', after).calls - calls('encoder', before).calls,
    encoderMs: calls('encoder', after).ms - calls('encoder', before).ms,
    scorerMs: calls('scorer', after).ms - calls('scorer', before).ms,
    batchMs: Number(
      ((after.forecast.runMsTotal - before.forecast.runMsTotal) / Math.max(1, batches)).toFixed(3),
    ),
    stages,
  };
}

export interface LoadResult {
  concurrency: number;
  requests: number;
  /** Connection errors, timeouts and responses carrying GraphQL `errors`. */
  errors: number;
  non2xx: number;
  reqPerSec: number;
  /** Exact percentiles over every response of the run (autocannon reports no p95). */
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
}

/** Drives `url`/graphql with one forecast query per request, user ids drawn at random. */
export async function drive(
  url: string,
  userIds: readonly string[],
  concurrency: number,
  durationS: number,
  query: string,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  let seed = 12345;
  const nextUser = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return userIds[seed % userIds.length] as string;
  };
  const times: number[] = [];
  let graphqlErrors = 0;
  const options: autocannon.Options = {
    url: `${url}/graphql`,
    method: 'POST',
    connections: concurrency,
    duration: durationS,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ query, variables: { u: nextUser() } }),
        }),
        // GraphQL reports failures with HTTP 200 and an `errors` list: count those too.
        onResponse: (status, body) => {
          if (status === 200 && body.includes('"errors"')) graphqlErrors++;
        },
      },
    ],
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err, res) => (err ? reject(err) : resolve(res)));
    instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  });
  times.sort((a, b) => a - b);
  const pct = (p: number) =>
    times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
  return {
    concurrency,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + graphqlErrors,
    non2xx: result.non2xx,
    reqPerSec: result.requests.average,
    latencyMs: {
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
      max: times[times.length - 1] ?? NaN,
      mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    },
  };
}

/** Runs `fn` with a client on the `postgres` database of `databaseUrl`'s server and its name. */
async function withAdmin(
  databaseUrl: string,
  fn: (admin: pg.Client, name: string) => Promise<void>,
): Promise<void> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await fn(admin, new URL(databaseUrl).pathname.slice(1));
  } finally {
    await admin.end();
  }
}

/** Creates the database of `databaseUrl` when its server lacks it (connecting to `postgres`). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  await withAdmin(databaseUrl, async (a, name) => {
    if ((await a.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 0)
      await a.query(`CREATE DATABASE "${name}"`);
  });
}

/** Drops and creates the database of `databaseUrl` (connecting to `postgres`). */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  await withAdmin(databaseUrl, async (a, name) => {
    await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await a.query(`CREATE DATABASE "${name}"`);
  });
}

/** One GraphQL call to a gateway at `url`; throws its first error. */
export async function gql<D>(url: string, query: string, variables: unknown): Promise<D> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: D; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0]!.message);
  return body.data as D;
}

/** Runs the project's importer (`npm run import`) into `databaseUrl`. */
export function importFiles(databaseUrl: string, format: string, files: string[]): void {
  execFileSync('npx', ['tsx', 'src/cli/import.ts', '--format', format, ...files], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** The bundled Beauty sample in `databaseUrl` (created and imported on first use), and the
 * benchmarks' user sample (USER_SAMPLE_SQL). */
export async function prepareBeautyUsers(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const imported = await db
      .query("SELECT 1 FROM events WHERE dataset = 'beauty' LIMIT 1")
      .then((r) => r.rowCount! > 0)
      .catch(() => false);
    if (!imported)
      importFiles(databaseUrl, 'amazon', [
        'data/amazon/Beauty.txt',
        'data/amazon/Beauty_item2attributes.json',
      ]);
    return (await db.query<{ id: string }>(USER_SAMPLE_SQL)).rows.map((r) => r.id);
  } finally {
    await db.end();
  }
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
