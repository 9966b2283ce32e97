// The fault drill (npm run drill): a mixed load of forecasts and recordEvents through nginx on
// the topology of deploy/local/up.sh while, one phase after another, a gateway instance is
// killed (and restarted), the replica is stopped (and restarted), PgBouncer is restarted, and
// the primary is stopped and the replica promoted in its place (PgBouncer re-pointed to it).
// Counts per phase the requests that failed and the time from the fault to the last failure;
// at the end, every acknowledged event is looked up on the final primary: lost (acknowledged,
// not stored) and stored twice must both be 0. Before the faults, through the same topology: a
// key limited to 30 requests a minute gets at most that across both instances, and a revoked
// key is refused by each instance within API_KEY_CACHE_MS. Loopback only, bounded by --timeout.
//
//   npm run drill [-- --phase-seconds 10]    (deploy/local/drill.sh: fresh topology, drill, down)
//   npx tsx bench/drill.ts                   (on a running deploy/local/up.sh topology)
//
// The promotion leaves the topology changed (the old primary stopped): start it afresh after
// (npm run drill does: down --purge, up, drill, down). Writes bench/results/drill-<date>.json.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { openPostgres } from '../src/db/postgres.js';
import { clientEventIdCounts } from '../src/db/events.js';
import { createApiKey, revokeApiKey } from '../src/security/keys.js';

const run = promisify(execFile);
const { values: opts } = parseArgs({
  options: {
    'phase-seconds': { type: 'string', default: '10' },
    'forecast-clients': { type: 'string', default: '3' },
    'event-clients': { type: 'string', default: '2' },
    timeout: { type: 'string', default: '420' },
  },
});
const PHASE_MS = Number(opts['phase-seconds']) * 1000;
const RUN = path.resolve('deploy/local/run');
const LB = `http://127.0.0.1:${process.env.LB_PORT ?? 8540}`;
const GATEWAYS = [process.env.GATEWAY_A_PORT ?? '8541', process.env.GATEWAY_B_PORT ?? '8542'];
const PRIMARY_PORT = Number(process.env.PRIMARY_PORT ?? 5540);
const REPLICA_PORT = Number(process.env.REPLICA_PORT ?? 5541);
const PREFIX = `drill-${Date.now().toString(36)}-`;
const log = (m: string) =>
  console.error(`[drill ${((performance.now() - t0) / 1000).toFixed(1)} s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();

setTimeout(
  () => {
    console.error(`[drill] stopped after --timeout ${opts.timeout} s`);
    process.exit(2);
  },
  Number(opts.timeout) * 1000,
).unref();

const pgbin = async () =>
  (
    await run('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'])
  ).stdout.trim();
const asPg = async (tool: string, args: string[]) => {
  const bin = tool === 'pgbouncer' ? '/usr/sbin/pgbouncer' : path.join(await pgbin(), tool);
  return process.getuid?.() === 0
    ? run('runuser', ['-u', 'postgres', '--', bin, ...args])
    : run(bin, args);
};

// --- load ---------------------------------------------------------------------------------------
interface Tally {
  ok: number;
  failed: number;
  /** ms since the phase's fault of the last failure */
  lastFailureMs: number | null;
  failures: Record<string, number>;
}
const newTally = (): Tally => ({ ok: 0, failed: 0, lastFailureMs: null, failures: {} });
let phase = { name: 'baseline', faultAt: performance.now() };
const tallies: Record<string, { forecasts: Tally; events: Tally }> = {};
const tallyOf = (kind: 'forecasts' | 'events') =>
  (tallies[phase.name] ??= { forecasts: newTally(), events: newTally() })[kind];
const acknowledged = new Set<string>();
let stopping = false;

async function gql(body: unknown): Promise<{ ok: boolean; why: string; data?: any }> {
  try {
    const res = await fetch(`${LB}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${loadToken}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await res.json().catch(() => ({}))) as any;
    if (res.status === 200 && !json.errors) return { ok: true, why: '', data: json.data };
    return { ok: false, why: `${res.status} ${json.errors?.[0]?.extensions?.code ?? ''}`.trim() };
  } catch (err) {
    return { ok: false, why: (err as Error).name };
  }
}
const count = (kind: 'forecasts' | 'events', r: { ok: boolean; why: string }) => {
  const t = tallyOf(kind);
  if (r.ok) t.ok++;
  else {
    t.failed++;
    t.failures[r.why] = (t.failures[r.why] ?? 0) + 1;
    t.lastFailureMs = performance.now() - phase.faultAt;
  }
};

/** The load's key (never limited); creating it makes every gateway require keys (AUTH=auto). */
let loadToken = '';
let users: string[] = [];
let items: string[] = [];
async function forecastClient(k: number) {
  for (let i = 0; !stopping; i++) {
    // Every third forecast is for a drill shopper who has just recorded an event: read-your-
    // writes (a replica without it would answer NOT_FOUND).
    const u =
      i % 3 === 2 && recent.length > 0
        ? recent[i % recent.length]!
        : users[(k * 7919 + i) % users.length]!;
    const r = await gql({
      query:
        'query($u: ID!) { interestForecast(userId: $u, first: 10) { basedOnEvents items { item { id } } } }',
      variables: { u },
    });
    count('forecasts', r);
    if (!r.ok) await sleep(50);
  }
}
let sent = 0;
/** Shoppers whose events were just acknowledged. */
const recent: string[] = [];
async function eventClient(k: number) {
  for (let i = 0; !stopping; i++) {
    const id = `${PREFIX}${k}-${i}`;
    const user = `beauty:${PREFIX}u${(k * 31 + i) % 50}`;
    sent++;
    const r = await gql({
      query: 'mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted duplicates } }',
      variables: {
        e: [{ clientEventId: id, type: 'VIEW', userId: user, itemId: items[i % items.length] }],
      },
    });
    if (r.ok) {
      acknowledged.add(id);
      if (recent.length < 20) recent.push(user);
      else recent[i % 20] = user;
    }
    count('events', r);
    if (!r.ok) await sleep(50);
  }
}

// --- faults ---------------------------------------------------------------------------------------
const readyz = async (port: string) =>
  fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
async function until(what: string, ok: () => Promise<boolean>, ms = 120_000): Promise<number> {
  const start = performance.now();
  while (!(await ok())) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
  return performance.now() - start;
}
const restored: Record<string, number> = {};
const begin = (name: string) => {
  phase = { name, faultAt: performance.now() };
  log(name);
};
const readBatches = async (port: string, target: string) => {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${loadToken}` },
  }).then(
    (r) => r.text(),
    () => '',
  );
  const m = new RegExp(
    `foresight_forecast_read_batches_total\\{target="${target}",reason="replica"\\} (\\d+)`,
  ).exec(text);
  return m ? Number(m[1]) : 0;
};
const upSh = () => run('deploy/local/up.sh', [], { maxBuffer: 1 << 24 });

async function killGateway() {
  begin('kill a gateway instance');
  const pid = Number((await readFile(path.join(RUN, `gateway-${GATEWAYS[1]}.pid`), 'utf8')).trim());
  process.kill(-pid, 'SIGKILL'); // its process group: the instance and any cluster workers
  await sleep(PHASE_MS);
  const t = performance.now();
  await upSh(); // starts the missing instance again, nginx reloaded
  restored['kill a gateway instance'] = performance.now() - t;
  log(
    `instance ${GATEWAYS[1]} back after ${(restored['kill a gateway instance']! / 1000).toFixed(1)} s`,
  );
}

async function replicaStop() {
  begin('stop and restart the replica');
  await asPg('pg_ctl', ['-D', path.join(RUN, 'replica'), '-m', 'fast', '-w', 'stop']);
  await sleep(PHASE_MS / 2);
  await asPg('pg_ctl', [
    '-D',
    path.join(RUN, 'replica'),
    '-l',
    path.join(RUN, 'replica.log'),
    '-w',
    'start',
  ]);
  const t = performance.now();
  const before = await Promise.all(GATEWAYS.map((p) => readBatches(p, 'replica')));
  restored['stop and restart the replica'] = await until('reads on the replica again', async () => {
    const now = await Promise.all(GATEWAYS.map((p) => readBatches(p, 'replica')));
    return now.every((n, i) => n > before[i]!);
  });
  log(`replica reads again ${((performance.now() - t) / 1000).toFixed(1)} s after its start`);
  await sleep(PHASE_MS / 2);
}

async function restartBouncer() {
  begin('restart PgBouncer');
  const pid = Number((await readFile(path.join(RUN, 'pgbouncer.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGINT'); // fast shutdown: client and server connections closed
  await until('pgbouncer to exit', async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  // Started again at once, as a service manager's restart would.
  await asPg('pgbouncer', ['-d', path.join(RUN, 'pgbouncer.ini')]);
  restored['restart PgBouncer'] = performance.now() - phase.faultAt;
  await sleep(PHASE_MS);
}

async function promote() {
  begin('stop the primary, promote the replica');
  await asPg('pg_ctl', ['-D', path.join(RUN, 'primary'), '-m', 'fast', '-w', 'stop']);
  await asPg('pg_ctl', ['-D', path.join(RUN, 'replica'), '-w', 'promote']);
  // PgBouncer to the new primary: a reload takes the new [databases] entry.
  const ini = path.join(RUN, 'pgbouncer.ini');
  const text = await readFile(ini, 'utf8');
  await writeFile(ini, text.replace(`port=${PRIMARY_PORT} dbname`, `port=${REPLICA_PORT} dbname`));
  const pid = Number((await readFile(path.join(RUN, 'pgbouncer.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGHUP');
  restored['stop the primary, promote the replica'] = performance.now() - phase.faultAt;
  await sleep(PHASE_MS);
}

// --- run ------------------------------------------------------------------------------------------
// The bundled sample's first shoppers and their items (what up.sh's AUTO_IMPORT loaded).
const lines = (await readFile('data/amazon/Beauty.txt', 'utf8')).split('\n').slice(0, 500);
users = lines.map((l) => `beauty:${l.split(' ')[0]}`);
items = [...new Set(lines.flatMap((l) => l.split(' ').slice(1)))].map((i) => `beauty:${i}`);
for (const p of GATEWAYS)
  if (!(await readyz(p))) throw new Error(`gateway ${p} is not ready: run deploy/local/up.sh`);

// --- limits across the two instances, before the faults -----------------------------------------
const primaryUrl = `postgres://postgres@127.0.0.1:${PRIMARY_PORT}/foresight`;
const keysDb = await openPostgres(primaryUrl, 2);
loadToken = (
  await createApiKey(keysDb, {
    name: `${PREFIX}load`,
    scopes: ['read', 'write:events', 'metrics'],
    ratePerMinute: 1_000_000,
  })
).token;
const LIMIT = 30;
const CACHE_MS = 5000; // API_KEY_CACHE_MS, the gateways' default
const limited = await createApiKey(keysDb, {
  name: `${PREFIX}limited`,
  scopes: ['read'],
  ratePerMinute: LIMIT,
});
const about = (base: string, token: string | null) =>
  fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== null && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query: '{ about { version } }' }),
  }).then((r) => r.status);
const direct = (port: string) => `http://127.0.0.1:${port}`;
// Every gateway requires keys once its cache (API_KEY_CACHE_MS) has seen that one exists.
await until('keys to be required', async () =>
  (await Promise.all(GATEWAYS.map((p) => about(direct(p), null)))).every((st) => st !== 200),
);
const limitStart = performance.now();
const statuses = await Promise.all(
  Array.from({ length: 3 * LIMIT }, () => about(LB, limited.token)),
);
const limitSeconds = (performance.now() - limitStart) / 1000;
const admitted = statuses.filter((st) => st === 200).length;
const limitBound = LIMIT + Math.floor((limitSeconds * LIMIT) / 60);
log(`limit ${LIMIT}/min through nginx: ${admitted} of ${3 * LIMIT} admitted (bound ${limitBound})`);
// Revocation: both instances have the key cached as valid, then it is revoked on the primary.
const revoked = await createApiKey(keysDb, { name: `${PREFIX}revoked`, scopes: ['read'] });
for (const p of GATEWAYS) {
  if ((await about(direct(p), revoked.token)) !== 200) throw new Error(`${p} refused a new key`);
}
await revokeApiKey(keysDb, revoked.key.id);
const revokedAt = performance.now();
// Refused: 401, or 429 once this address's failed attempts (shared) pass 30 a minute.
const refusedAfterMs: Record<string, number> = {};
const lastAdmittedMs: Record<string, number> = {};
await Promise.all(
  GATEWAYS.map((p) =>
    until(
      `instance ${p} to refuse the revoked key`,
      async () => {
        const started = performance.now() - revokedAt;
        const refused = (await about(direct(p), revoked.token)) !== 200;
        if (refused) refusedAfterMs[p] = Math.round(started);
        else lastAdmittedMs[p] = Math.round(started);
        return refused;
      },
      30_000,
    ),
  ),
);
await keysDb.close();
log(
  `revoked key: last admitted ${JSON.stringify(lastAdmittedMs)}, first refused ${JSON.stringify(refusedAfterMs)} ms after (API_KEY_CACHE_MS ${CACHE_MS})`,
);

const clients = [
  ...Array.from({ length: Number(opts['forecast-clients']) }, (_, k) => forecastClient(k)),
  ...Array.from({ length: Number(opts['event-clients']) }, (_, k) => eventClient(k)),
];
begin('baseline');
await sleep(PHASE_MS);
await killGateway();
await replicaStop();
await restartBouncer();
await promote();
begin('after');
await sleep(PHASE_MS / 2);
stopping = true;
await Promise.all(clients);

// Audit on the final primary (the promoted replica).
const finalDb = await openPostgres(`postgres://postgres@127.0.0.1:${REPLICA_PORT}/foresight`, 2);
const stored = await clientEventIdCounts(finalDb, PREFIX);
await finalDb.close();
const lost = [...acknowledged].filter((id) => !stored.has(id));
const twice = [...stored.values()].filter((n) => n > 1).length;
const limits = {
  ratePerMinute: LIMIT,
  sent: 3 * LIMIT,
  admitted,
  bound: limitBound,
  seconds: Number(limitSeconds.toFixed(2)),
  /** Per instance, when the last request it admitted and the first it refused with the
   * revoked key started (ms after the revocation). */
  revokedKeyLastAdmittedMs: lastAdmittedMs,
  revokedKeyFirstRefusedMs: refusedAfterMs,
  apiKeyCacheMs: CACHE_MS,
};
const limitsHeld =
  admitted <= limitBound &&
  Object.keys(refusedAfterMs).length === GATEWAYS.length &&
  Object.values(lastAdmittedMs).every((ms) => ms < CACHE_MS);
const result = {
  date: new Date().toISOString(),
  machine: '2 cores shared with other work; loopback',
  phaseSeconds: PHASE_MS / 1000,
  clients: { forecasts: Number(opts['forecast-clients']), events: Number(opts['event-clients']) },
  limits,
  events: {
    sent,
    acknowledged: acknowledged.size,
    stored: stored.size,
    lost: lost.length,
    storedTwice: twice,
  },
  phases: Object.entries(tallies).map(([name, t]) => ({
    name,
    forecasts: t.forecasts,
    events: t.events,
    /** From the fault to the last failed request of the phase (0: none failed). */
    recoverySeconds: Number(
      (Math.max(t.forecasts.lastFailureMs ?? 0, t.events.lastFailureMs ?? 0) / 1000).toFixed(2),
    ),
    ...(restored[name] !== undefined && {
      restoreSeconds: Number((restored[name]! / 1000).toFixed(2)),
    }),
  })),
};
const out = `bench/results/drill-${result.date.slice(0, 10)}.json`;
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
log(`wrote ${out}`);
process.exit(lost.length === 0 && twice === 0 && limitsHeld ? 0 : 1);
