// Graceful shutdown on SIGTERM / SIGINT: stop taking work, let the requests in flight finish,
// then release the model and the database — all of it within a hard deadline.
import type { FastifyInstance } from 'fastify';

/** Shared by buildServer (/readyz, response headers) and gracefulShutdown. */
export interface Readiness {
  /** True once shutdown has begun: /readyz answers 503 `{ status: 'draining' }`. */
  draining: boolean;
}

export interface ShutdownOptions {
  /** The Readiness the server was built with (ServerDeps.readiness). */
  readiness: Readiness;
  /** Hard deadline for the whole sequence (SHUTDOWN_TIMEOUT_MS). */
  timeoutMs: number;
  log: (line: string) => void;
}

/** `closed`: everything finished in time; `failed`: a closer threw (logged); `timed-out`:
 * the deadline passed, the remaining connections were cut and the closers left unfinished. */
export type ShutdownOutcome = 'closed' | 'failed' | 'timed-out';

/**
 * Marks the server draining, closes it (no new connections; Fastify answers requests arriving
 * on open keep-alive connections with 503 and waits for those in flight), then runs `closers`
 * in order (engine, model, database). A closer that throws is logged and the next still runs.
 * When `timeoutMs` passes first, every HTTP connection is destroyed and the caller should exit.
 */
export async function gracefulShutdown(
  app: FastifyInstance,
  closers: readonly (() => Promise<void> | void)[],
  { readiness, timeoutMs, log }: ShutdownOptions,
): Promise<ShutdownOutcome> {
  readiness.draining = true;
  log(`shutting down: draining requests in flight (at most ${timeoutMs} ms)`);
  let timedOut = false;
  const drain = async (): Promise<ShutdownOutcome> => {
    await app.close();
    let outcome: ShutdownOutcome = 'closed';
    for (const close of closers) {
      if (timedOut) break; // the caller is exiting: release nothing under a request still running
      try {
        await close();
      } catch (err) {
        log(`shutdown: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        outcome = 'failed';
      }
    }
    return outcome;
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(() => resolve('timed-out'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([drain(), deadline]);
    if (outcome === 'timed-out') {
      timedOut = true;
      log(`shutdown: still busy after ${timeoutMs} ms; closing the remaining connections`);
      app.server.closeAllConnections();
    }
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}
