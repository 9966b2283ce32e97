// Short targeted load runs for A/B comparisons (not the full `npm run bench`): starts the
// gateway once per variant on the bench database, warms it up, and drives it at one
// concurrency. Variants alternate (A B A B …) so that a busy machine affects them alike.
//
//   npx tsx bench/quick.ts --duration 10 --concurrency 32 --rounds 2 \
//     --variant base= --variant unbatched=INFERENCE_MAX_BATCH=1
//
// A variant is `name[@dir]=KEY=VALUE,KEY=VALUE`: environment overrides of the server, and the
// checkout to run it from (default: this one; e.g. a `git worktree` of the commit to compare
// against, with MODEL_DIR pointing at one shared model). Results go to
// stdout as JSON lines, one per run, with the CPU time per request of the server, PostgreSQL,
// the load generator and the rest of the machine (from /proc: Linux only).
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { diffStats, drive, inferenceStats, QUERY, startServer, USER_SAMPLE_SQL } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_bench',
    },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '1' },
    variant: { type: 'string', multiple: true, default: ['default='] },
    /** Extra `node` flags for the server (e.g. --cpu-prof). */
    'node-flags': { type: 'string', default: '' },
    /** Statements and commits per request (needs pg_stat_statements in the bench database). */
    'pg-stats': { type: 'boolean', default: false },
    /** The wall time of each stage of the batches (/debug/inference `stages`). */
    stages: { type: 'boolean', default: false },
  },
});
const databaseUrl = opts['database-url'] as string;

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** The fields of /proc/<pid>/stat after the command name (f[0] = state, f[1] = ppid). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The ids of the processes running now. */
const processIds = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d));

/** CPU milliseconds (user + system) of one process, from /proc. */
function cpuMsOf(pid: number | string): number {
  try {
    const f = statFields(pid);
    return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime
  } catch {
    return 0; // exited
  }
}

/** CPU milliseconds of every PostgreSQL process (backends included). */
function postgresCpuMs(): number {
  let ms = 0;
  for (const pid of processIds()) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ms += cpuMsOf(pid);
    } catch {
      /* gone */
    }
  }
  return ms;
}

/** Busy CPU milliseconds of the whole machine, all cores. */
function machineBusyMs(): number {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/);
  const n = f.slice(1).map(Number);
  return (n.reduce((a, b) => a + b, 0) - (n[3] ?? 0) - (n[4] ?? 0)) * TICK_MS; // minus idle, iowait
}

/** CPU milliseconds of `pid` and its child processes (GATEWAY_WORKERS' workers). */
function withChildrenCpuMs(pid: number): number {
  let ms = cpuMsOf(pid);
  for (const child of processIds()) {
    try {
      if (Number(statFields(child)[1]) === pid) ms += cpuMsOf(child);
    } catch {
      /* gone */
    }
  }
  return ms;
}

function cpuSnapshot(serverPid: number) {
  return {
    server: withChildrenCpuMs(serverPid),
    postgres: postgresCpuMs(),
    load: cpuMsOf(process.pid),
    machine: machineBusyMs(),
  };
}

/** Per-statement counters of the bench database (pg_stat_statements), and its commits. */
async function pgStats(db: pg.Client) {
  const { rows } = await db.query<{ query: string; calls: string; ms: number; rows: string }>(
    `SELECT s.query, s.calls, s.total_exec_time AS ms, s.rows
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = current_database()`,
  );
  const commits = await db.query<{ n: string }>(
    `SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`,
  );
  return { statements: rows, commits: Number(commits.rows[0]?.n) };
}

type PgStats = Awaited<ReturnType<typeof pgStats>>;

/** Calls, rows and execution ms per request of each statement, and commits per request. */
function perRequest(before: PgStats, after: PgStats, requests: number) {
  const base = new Map(before.statements.map((r) => [r.query, r]));
  const statements = after.statements
    .map((r) => {
      const b = base.get(r.query);
      return {
        sql: r.query.replace(/\s+/g, ' ').slice(0, 70),
        calls: (Number(r.calls) - Number(b?.calls ?? 0)) / requests,
        rows: (Number(r.rows) - Number(b?.rows ?? 0)) / requests,
        execMs: (r.ms - (b?.ms ?? 0)) / requests,
      };
    })
    .filter((r) => r.calls > 0.001 && !r.sql.includes('pg_stat'))
    .sort((a, b) => b.execMs - a.execMs)
    .map((r) => ({
      ...r,
      calls: Number(r.calls.toFixed(3)),
      rows: Number(r.rows.toFixed(1)),
      execMs: Number(r.execMs.toFixed(3)),
    }));
  return { commits: Number(((after.commits - before.commits) / requests).toFixed(3)), statements };
}

function parseVariant(spec: string): { name: string; cwd: string; env: Record<string, string> } {
  const eq = spec.indexOf('=');
  const [name, cwd] = (eq < 0 ? spec : spec.slice(0, eq)).split('@') as [string, string?];
  const env: Record<string, string> = {};
  for (const kv of (eq < 0 ? '' : spec.slice(eq + 1)).split(',').filter(Boolean)) {
    const k = kv.indexOf('=');
    env[kv.slice(0, k)] = kv.slice(k + 1);
  }
  return { name, cwd: cwd ?? process.cwd(), env };
}

async function main(): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ id: string }>(USER_SAMPLE_SQL);
  const userIds = rows.map((r) => r.id);
  const variants = (opts.variant as string[]).map(parseVariant);
  const concurrency = Number(opts.concurrency);
  const duration = Number(opts.duration);
  const nodeFlags = (opts['node-flags'] as string).split(' ').filter(Boolean);
  let port = 4700;
  const runs: {
    variant: string;
    reqPerSec: number;
    p99: number;
    cpuMsPerReq: { server: number; postgres: number };
  }[] = [];
  for (let round = 0; round < Number(opts.rounds); round++) {
    for (const v of variants) {
      const server = await startServer(
        { DATABASE_URL: databaseUrl, INFERENCE_MAX_QUEUE: '100000', ...v.env },
        port++,
        nodeFlags,
        v.cwd,
      );
      try {
        await drive(server.url, userIds, 8, 3, QUERY);
        const before = await inferenceStats(server.url);
        const pg0 = opts['pg-stats'] ? await pgStats(client) : null;
        const cpu0 = cpuSnapshot(server.pid);
        const r = await drive(server.url, userIds, concurrency, duration, QUERY);
        const cpu1 = cpuSnapshot(server.pid);
        const sql = pg0 && perRequest(pg0, await pgStats(client), r.requests);
        const inf = diffStats(before, await inferenceStats(server.url));
        // CPU per request (ms): the server, PostgreSQL, this load generator, everything else.
        const per = (k: keyof typeof cpu0) => Number(((cpu1[k] - cpu0[k]) / r.requests).toFixed(2));
        const cpuMsPerReq = {
          server: per('server'),
          postgres: per('postgres'),
          load: per('load'),
          other: Number(
            (per('machine') - per('server') - per('postgres') - per('load')).toFixed(2),
          ),
        };
        const meanBatch = inf.batches > 0 ? inf.forecasts / inf.batches : null;
        // where a batch's wall time goes, stage by stage (the engine's own clocks)
        const stages = opts.stages ? { batchMs: inf.batchMs, stages: inf.stages } : null;
        const run = {
          round,
          variant: v.name,
          concurrency,
          reqPerSec: Number(r.reqPerSec.toFixed(1)),
          p50: Number(r.latencyMs.p50.toFixed(1)),
          p99: Number(r.latencyMs.p99.toFixed(1)),
          meanBatch: meanBatch && Number(meanBatch.toFixed(1)),
          errors: r.errors + r.non2xx,
          cpuMsPerReq,
          ...(sql && { sqlPerRequest: sql }),
          ...(stages && { stageWall: stages }),
        };
        runs.push(run);
        console.log(JSON.stringify(run));
      } finally {
        await server.stop();
      }
    }
  }
  await client.end();
  // Medians over the rounds, one line per variant.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const v of variants) {
    const mine = runs.filter((r) => r.variant === v.name);
    console.error(
      `[quick] ${v.name}: median of ${mine.length}: ${median(mine.map((r) => r.reqPerSec))} req/s, ` +
        `p99 ${median(mine.map((r) => r.p99))} ms, CPU ms/request server ` +
        `${median(mine.map((r) => r.cpuMsPerReq.server))} postgres ` +
        `${median(mine.map((r) => r.cpuMsPerReq.postgres))}`,
    );
  }
}

await main();
