// The forecast engine a gateway process serves, switchable at run time. A forecast must never
// combine one model's user states with another model's item embeddings (items.embedding holds
// one model's vectors), so a switch pauses new requests, waits for the ones holding the old
// engine, rewrites the embeddings, swaps and resumes; requests that arrive meanwhile wait
// rather than fail.
import type { EventEmitter } from 'node:events';
import type { Queryable } from '../db/client.js';
import {
  ForecastInputError,
  type Forecast,
  type ForecastEngine,
  type ForecastRequest,
} from '../forecast/engine.js';

/** An engine and where its model came from. */
export interface ServingModel {
  engine: ForecastEngine;
  /** The model directory, absolute. */
  directory: string;
  loadedAt: Date;
}

/**
 * A request's hold on the engine that was serving when it started: while any lease is held, the
 * slot does not switch. Released once, when the response has been sent (or earlier by the
 * rollout mutations, which must not wait for themselves).
 */
export class EngineLease {
  private released = false;

  constructor(
    readonly serving: ServingModel,
    private readonly onRelease: () => void,
  ) {}

  get engine(): ForecastEngine {
    return this.serving.engine;
  }

  /** The engine's forecasts; refused once released (the engine may no longer match the data). */
  forecast(requests: readonly ForecastRequest[]): Promise<(Forecast | Error)[]> {
    if (this.released) return Promise.reject(this.stale());
    return this.engine.forecast(requests);
  }

  /** The engine's embedItems; refused once released, likewise. */
  embedItems(q: Queryable, ids: readonly string[]): Promise<void> {
    if (this.released) return Promise.reject(this.stale());
    return this.engine.embedItems(q, ids);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }

  private stale(): Error {
    return new ForecastInputError(
      'BAD_USER_INPUT',
      'the serving model was switched earlier in this operation: send forecasts and catalogue ' +
        'changes in a request of their own',
    );
  }
}

/** The held leases did not all come back in time; the switch was abandoned. */
export class DrainTimeoutError extends Error {
  constructor(
    readonly held: number,
    readonly timeoutMs: number,
  ) {
    super(
      `${held} request(s) still held the serving model after ${timeoutMs} ms; the switch was ` +
        'abandoned and the serving model is unchanged',
    );
    this.name = 'DrainTimeoutError';
  }
}

export class EngineSlot {
  private serving: ServingModel;
  private kept: ServingModel | null = null;
  private held = 0;
  /** Set while a switch runs: acquire() waits for it. */
  private pause: Promise<void> | null = null;
  private onDrained: (() => void) | null = null;

  constructor(
    initial: ServingModel,
    /** How long a switch waits for the held leases before it gives up. */
    private readonly drainTimeoutMs = 30_000,
  ) {
    this.serving = initial;
  }

  get current(): ServingModel {
    return this.serving;
  }

  /** The model served before the last switch, kept (open) for a rollback; null before one. */
  get previous(): ServingModel | null {
    return this.kept;
  }

  /** The serving engine for one request; waits while a switch is in progress. */
  async acquire(): Promise<EngineLease> {
    while (this.pause) await this.pause;
    this.held += 1;
    return new EngineLease(this.serving, () => {
      this.held -= 1;
      if (this.held === 0) this.onDrained?.();
    });
  }

  /**
   * acquire() for one HTTP exchange: released when `response` closes, sent or aborted (also
   * when it closed while the lease was being waited for).
   */
  async acquireFor(response: EventEmitter): Promise<EngineLease> {
    let closed = false;
    const early = () => (closed = true);
    response.once('close', early);
    const lease = await this.acquire();
    response.off('close', early);
    if (closed) lease.release();
    else response.once('close', () => lease.release());
    return lease;
  }

  /**
   * Switches to `next`: new leases wait, the held ones are waited for, `during` runs (the
   * embedding rewrite, in one transaction), then `next` serves and the waiting requests go on.
   * The serving model becomes `previous`; the model that was `previous` is returned as
   * `retired` (unless it is `next`, a rollback) for the caller to close. When `during` throws
   * or the leases do not come back in time, nothing changes. `pauseMs`: how long new requests
   * were held.
   */
  async switchTo<T>(
    next: ServingModel,
    during: () => Promise<T>,
  ): Promise<{ result: T; pauseMs: number; retired: ServingModel | null }> {
    if (this.pause) throw new Error('a switch is already in progress');
    let resume = () => {};
    this.pause = new Promise<void>((resolve) => (resume = resolve));
    const started = performance.now();
    try {
      await this.drain();
      const result = await during();
      const retired = this.kept === next ? null : this.kept;
      this.kept = this.serving;
      this.serving = next;
      return { result, pauseMs: performance.now() - started, retired };
    } finally {
      this.pause = null;
      resume();
    }
  }

  private drain(): Promise<void> {
    if (this.held === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onDrained = null;
        reject(new DrainTimeoutError(this.held, this.drainTimeoutMs));
      }, this.drainTimeoutMs);
      this.onDrained = () => {
        clearTimeout(timer);
        this.onDrained = null;
        resolve();
      };
    });
  }
}
