// The models serving one dataset (the one serving and the one kept for a rollback), switchable
// at run time, and the leases requests hold on them. A forecast must never combine
// one model's user states with another model's item embeddings, so each engine reads its own
// embedding slot (db/embedding-slots.ts) and a request keeps the engine it started with to its
// end. A switch is an assignment: new requests get the new engine at once, those in flight
// finish on the old one, whose slot nothing writes until they are done (rollouts.ts waits for
// them with `drain` before it writes into that slot again).
import type { EventEmitter } from 'node:events';
import type { Queryable } from '../db/client.js';
import { ErrorCode, CodedError } from '../errors.js';
import type { ForecastEngine } from '../forecast/engine.js';
import { writeItemEmbeddings } from './embeddings.js';
import { type Forecast, type ForecastRequest } from '../forecast/forecast.js';

/** An engine and where its model came from. */
export interface ServingModel {
  engine: ForecastEngine;
  /** The model directory, absolute. */
  directory: string;
  loadedAt: Date;
}

/**
 * A request's hold on the engine that was serving when it started: while it is held, the
 * engine's embedding slot is not rewritten. Released once, when the response has been sent (or
 * earlier by the rollout mutations, which must not wait for themselves).
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

  /**
   * Embeds items of the engine's dataset right after a catalogue change, in the engine's
   * embedding slot, so a new product is retrievable at once (content tower) rather than after
   * the next restart. Refused once released, likewise.
   */
  embedItems(q: Queryable, ids: readonly string[]): Promise<void> {
    if (this.released) return Promise.reject(this.stale());
    const { model, embeddingSlot } = this.engine;
    const prefix = `${model.manifest.dataset}:`;
    const mine = ids.filter((id) => id.startsWith(prefix));
    if (mine.length === 0) return Promise.resolve();
    return writeItemEmbeddings(q, model, mine, embeddingSlot).then(() => undefined);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }

  private stale(): Error {
    return new CodedError(
      ErrorCode.BAD_USER_INPUT,
      'the serving model was switched earlier in this operation: send forecasts and catalogue ' +
        'changes in a request of their own',
    );
  }
}

/** Requests still held an engine after the timeout. */
export class DrainTimeoutError extends Error {
  constructor(
    readonly version: string,
    readonly held: number,
    readonly timeoutMs: number,
  ) {
    super(`${held} request(s) still held model ${version} after ${timeoutMs} ms`);
    this.name = 'DrainTimeoutError';
  }
}

export class DatasetModels {
  private serving: ServingModel;
  private kept: ServingModel | null = null;
  /** Leases held, per engine. */
  private readonly held = new Map<ServingModel, number>();
  /** Called when an engine's last lease is released. */
  private readonly onDrained = new Map<ServingModel, Set<() => void>>();

  constructor(
    initial: ServingModel,
    /** How long `drain` waits for the held leases. */
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

  /** The serving engine for one request. Never waits: a switch does not pause requests. */
  acquire(): EngineLease {
    const serving = this.serving;
    this.held.set(serving, (this.held.get(serving) ?? 0) + 1);
    return new EngineLease(serving, () => {
      const left = (this.held.get(serving) ?? 1) - 1;
      if (left > 0) return void this.held.set(serving, left);
      this.held.delete(serving);
      for (const done of this.onDrained.get(serving) ?? []) done();
    });
  }

  /** acquire() for one HTTP exchange: released when `response` closes, sent or aborted. */
  acquireFor(response: EventEmitter): EngineLease {
    const lease = this.acquire();
    response.once('close', () => lease.release());
    return lease;
  }

  /** Leases held on `serving` now. */
  heldOn(serving: ServingModel): number {
    return this.held.get(serving) ?? 0;
  }

  /**
   * Resolves once no request holds `serving`; rejects with DrainTimeoutError when some still
   * do after the drain timeout. Requests that acquire `serving` meanwhile (only possible while
   * it serves) are waited for too.
   */
  drain(serving: ServingModel): Promise<void> {
    if (this.heldOn(serving) === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiters = this.onDrained.get(serving) ?? new Set();
      this.onDrained.set(serving, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.onDrained.delete(serving);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        if (waiters.size === 0) this.onDrained.delete(serving);
        reject(
          new DrainTimeoutError(
            serving.engine.model.version,
            this.heldOn(serving),
            this.drainTimeoutMs,
          ),
        );
      }, this.drainTimeoutMs);
      waiters.add(done);
    });
  }

  /**
   * Makes `next` the serving model: requests that start from now on get it, those holding the
   * old one keep it to their end. The serving model becomes `previous`; the model that was
   * `previous` is returned as `retired` (unless it is `next`, a rollback) for the caller to
   * close once `drain` says nobody holds it. `pauseMs`: how long the switch held new requests
   * (the assignment alone).
   */
  switchTo(next: ServingModel): { retired: ServingModel | null; pauseMs: number } {
    const started = performance.now();
    const retired = this.kept === next ? null : this.kept;
    this.kept = this.serving;
    this.serving = next;
    return { retired, pauseMs: performance.now() - started };
  }
}
