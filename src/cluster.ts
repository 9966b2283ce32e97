// Several gateway processes on one port (GATEWAY_WORKERS > 1, PostgreSQL only), with
// node:cluster. One Node.js process runs JavaScript on one core: HTTP, GraphQL and the
// forecast pipeline of every request share its event loop, so on a machine with more cores a
// single gateway leaves them to PostgreSQL alone. The primary prepares the database once
// (src/main.ts), forks the workers, replaces one that dies and stops them all on SIGTERM or
// SIGINT. Every worker is a whole gateway (its own model sessions, batcher and connection
// pool: batches merge per worker); /metrics and /debug/inference answer for all of them
// together, their counters summed over the cluster's IPC channel.
import cluster, { type Worker } from 'node:cluster';
import { sumCounters, type InferenceCounters } from './metrics/counters.js';

/** IPC messages between the primary and its workers (tagged, so others pass through). */
type Message =
  | { foresight: 'collect'; id: number } // worker → primary: counters of all, please
  | { foresight: 'report'; id: number } // primary → every worker: your counters
  | { foresight: 'counters'; id: number; counters: InferenceCounters } // worker → primary
  | { foresight: 'collected'; id: number; counters: InferenceCounters; missing: number };

const isMessage = (m: unknown): m is Message =>
  typeof m === 'object' && m !== null && 'foresight' in m;

/** How long the primary waits for every worker's counters before answering without them. */
const COLLECT_TIMEOUT_MS = 2000;
/** Deaths within RESTART_WINDOW_MS that stop the primary instead of forking again. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Time a worker is given beyond its own SHUTDOWN_TIMEOUT_MS before it is killed. */
const STOP_MARGIN_MS = 2_000;

/**
 * Runs the cluster's primary: forks `workers` processes running this same entry point,
 * replaces a worker that exits on its own (up to MAX_RESTARTS within a minute, then stops
 * everything with exit code 1), answers the workers' counter collections (summed over the
 * workers that serve HTTP), and stops them on SIGTERM/SIGINT, exiting once they have (killing
 * those still running `shutdownTimeoutMs` + STOP_MARGIN_MS after: their own graceful shutdown
 * gets its whole SHUTDOWN_TIMEOUT_MS).
 */
export function runPrimary(
  workers: number,
  log: (line: string) => void,
  shutdownTimeoutMs: number,
): void {
  let stopping = false;
  const deaths: number[] = [];
  const fork = () => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  // Workers serving HTTP: the ones a counter collection asks (one still loading its model
  // has no counters yet).
  const ready = new Set<Worker>();
  let listening = 0;
  cluster.on('listening', (w, address) => {
    ready.add(w);
    if (++listening === workers) {
      log(
        `Foresight GraphQL at http://${address.address}:${address.port}/graphql (${workers} workers)`,
      );
    }
  });

  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    if (alive.length === 0) process.exit(code);
    let left = alive.length;
    for (const w of alive) {
      w.once('exit', () => --left === 0 && process.exit(code));
      w.process.kill('SIGTERM');
    }
    // A worker that has not finished its requests and closed within the grace period is
    // killed.
    setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL');
    }, shutdownTimeoutMs + STOP_MARGIN_MS).unref();
  };
  process.once('SIGTERM', () => stop(0));
  process.once('SIGINT', () => stop(0));

  cluster.on('exit', (w, code, signal) => {
    ready.delete(w);
    if (stopping) return;
    const now = Date.now();
    deaths.push(now);
    while ((deaths[0] as number) < now - RESTART_WINDOW_MS) deaths.shift();
    log(`gateway worker ${w.process.pid} exited (${signal ?? `code ${code}`})`);
    if (deaths.length > MAX_RESTARTS) {
      log(`${deaths.length} worker exits within a minute: stopping`);
      stop(1);
    } else fork();
  });

  // Counter collections: ask every live worker, sum what comes back. The primary numbers its
  // own rounds; the answer carries the asking worker's number.
  let nextRound = 1;
  const rounds = new Map<
    number,
    {
      from: Worker;
      askedAs: number;
      expected: number;
      got: InferenceCounters[];
      timer: NodeJS.Timeout;
    }
  >();
  const answer = (round: number) => {
    const r = rounds.get(round);
    if (!r) return;
    rounds.delete(round);
    clearTimeout(r.timer);
    if (!r.from.isConnected()) return;
    const reply: Message = {
      foresight: 'collected',
      id: r.askedAs,
      counters: sumCounters(r.got),
      missing: r.expected - r.got.length,
    };
    r.from.send(reply);
  };
  cluster.on('message', (from, m: unknown) => {
    if (!isMessage(m)) return;
    if (m.foresight === 'collect') {
      const round = nextRound++;
      const live = [...ready].filter((w) => w.isConnected());
      rounds.set(round, {
        from,
        askedAs: m.id,
        expected: live.length,
        got: [],
        timer: setTimeout(() => answer(round), COLLECT_TIMEOUT_MS),
      });
      const ask: Message = { foresight: 'report', id: round };
      for (const w of live) w.send(ask);
    } else if (m.foresight === 'counters') {
      const r = rounds.get(m.id);
      if (!r) return;
      r.got.push(m.counters);
      if (r.got.length === r.expected) answer(m.id);
    }
  });
}

/**
 * In a worker: answers the primary's requests for this worker's counters with `local()`, and
 * returns a function that collects the counters of all workers (rejects after a timeout, or
 * when some worker did not answer). Outside a cluster: the local counters.
 */
export function clusterCounters(local: () => InferenceCounters): () => Promise<InferenceCounters> {
  if (!cluster.isWorker || !process.send) return () => Promise.resolve(local());
  const waiting = new Map<number, (c: InferenceCounters, missing: number) => void>();
  let nextId = 1;
  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.foresight === 'report') {
      const reply: Message = { foresight: 'counters', id: m.id, counters: local() };
      process.send?.(reply);
    } else if (m.foresight === 'collected') {
      waiting.get(m.id)?.(m.counters, m.missing);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the cluster primary did not answer the counter collection'));
      }, COLLECT_TIMEOUT_MS * 2);
      waiting.set(id, (counters, missing) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (missing > 0) reject(new Error(`${missing} gateway workers did not report counters`));
        else resolve(counters);
      });
      const ask: Message = { foresight: 'collect', id };
      process.send?.(ask);
    });
}
