// Dynamic batching for model calls, as inference servers do it: requests that arrive within a
// short window (or while the previous batch runs) are merged into one model call, bounded by a
// maximum batch size; a bounded queue turns overload into an immediate, explicit rejection
// instead of unbounded latency.
import { CodedError, ErrorCode } from '../errors.js';

export interface BatcherOptions {
  /** Largest merged batch handed to the runner. */
  maxBatch: number;
  /** How long the first queued item may wait for company before its batch runs. */
  maxDelayMs: number;
  /** Items allowed to wait; submissions beyond it are rejected with QueueFullError. */
  maxQueue: number;
  /**
   * Batches allowed to run at once (default 1). Above 1, a batch that waits on I/O does not
   * hold back the next one.
   */
  maxInFlight?: number;
  /**
   * With several batch slots free, spread the waiting work over them (each batch takes its
   * share, whole submissions kept together, at most maxBatch) instead of packing it into one
   * batch: batches then run side by side, on PostgreSQL backends and the ONNX thread at once,
   * rather than one large batch passing through the stages alone. Default false.
   */
  spread?: boolean;
}

export interface BatchRecord {
  size: number;
  /** Number of separate submissions (e.g. requests) merged into this batch. */
  submissions: number;
  runMs: number;
  /** Milliseconds the oldest item of the batch waited in the queue. */
  queueMs: number;
}

export interface BatcherStats {
  batches: number;
  items: number;
  rejected: number;
  /** batch size → number of batches of that size */
  batchSizes: Record<number, number>;
  runMsTotal: number;
  queueDepth: number;
}

/** Counters before the first batch (and the zero of a sum of several batchers'). */
export function emptyBatcherStats(): BatcherStats {
  return { batches: 0, items: 0, rejected: 0, batchSizes: {}, runMsTotal: 0, queueDepth: 0 };
}

/** How soon a forecast refused by a full queue may be retried. */
const RETRY_AFTER_FULL_MS = 100;

/** Raised when the queue is full: UNAVAILABLE, with a retry hint. */
export class QueueFullError extends CodedError {
  constructor(
    readonly queued: number,
    readonly limit: number,
  ) {
    super(
      ErrorCode.UNAVAILABLE,
      `inference queue is full (${queued} waiting, limit ${limit}); retry shortly`,
      { retryAfterMs: RETRY_AFTER_FULL_MS },
    );
    this.name = 'QueueFullError';
  }
}

interface Pending<I, O> {
  input: I;
  submission: number;
  enqueuedAt: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class ForecastBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private closed = false;
  private submissionSeq = 0;
  private listeners: ((b: BatchRecord) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  readonly stats: BatcherStats = emptyBatcherStats();

  constructor(
    private readonly runner: (inputs: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {
    if (options.maxBatch < 1) throw new RangeError('maxBatch must be ≥ 1');
  }

  /** Observe every executed batch (metrics, tests, benchmarks). */
  onBatch(listener: (b: BatchRecord) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Queues a group of inputs (typically one DataLoader batch); resolves with one output per
   * input, in order. All-or-nothing admission: a group that does not fit is rejected whole.
   */
  submit(inputs: readonly I[]): Promise<O[]> {
    if (this.closed) {
      return Promise.reject(
        new CodedError(ErrorCode.UNAVAILABLE, 'the gateway is shutting down; retry', {
          retryAfterMs: RETRY_AFTER_FULL_MS,
        }),
      );
    }
    if (inputs.length === 0) return Promise.resolve([]);
    if (this.queue.length + inputs.length > this.options.maxQueue) {
      this.stats.rejected += inputs.length;
      return Promise.reject(new QueueFullError(this.queue.length, this.options.maxQueue));
    }
    const submission = ++this.submissionSeq;
    const now = performance.now();
    const results = inputs.map(
      (input) =>
        new Promise<O>((resolve, reject) => {
          this.queue.push({ input, submission, enqueuedAt: now, resolve, reject });
        }),
    );
    this.stats.queueDepth = this.queue.length;
    this.schedule();
    return Promise.all(results);
  }

  private get saturated(): boolean {
    return this.running >= (this.options.maxInFlight ?? 1);
  }

  private schedule(): void {
    if (this.saturated) return; // a running batch's completion drains the queue
    if (
      this.closed ||
      this.queue.length >= this.options.maxBatch ||
      this.options.maxDelayMs === 0
    ) {
      this.flushSoon();
    } else if (!this.timer && this.queue.length > 0) {
      this.timer = setTimeout(() => this.flush(), this.options.maxDelayMs);
    }
  }

  private flushSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    // A zero timer (not a microtask) lets DataLoaders resolving in the same tick enqueue first.
    this.timer = setTimeout(() => this.flush(), 0);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.saturated || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.batchSize());
    this.stats.queueDepth = this.queue.length;
    this.running += 1;
    const started = performance.now();
    const queueMs = started - Math.min(...batch.map((p) => p.enqueuedAt));
    const submissions = new Set(batch.map((p) => p.submission)).size;
    this.runner(batch.map((p) => p.input))
      .then((outputs) => {
        if (outputs.length !== batch.length) {
          throw new Error(`runner returned ${outputs.length} outputs for ${batch.length} inputs`);
        }
        batch.forEach((p, i) => p.resolve(outputs[i] as O));
      })
      .catch((err: unknown) => batch.forEach((p) => p.reject(err)))
      .finally(() => {
        const runMs = performance.now() - started;
        this.stats.batches += 1;
        this.stats.items += batch.length;
        this.stats.runMsTotal += runMs;
        this.stats.batchSizes[batch.length] = (this.stats.batchSizes[batch.length] ?? 0) + 1;
        this.running -= 1;
        const record = { size: batch.length, submissions, runMs, queueMs };
        for (const l of this.listeners) {
          try {
            l(record);
          } catch {
            // an observer must never stop the batcher
          }
        }
        // Items that queued while this batch ran have already waited: run them now.
        if (this.queue.length > 0) this.flushSoon();
        else if (this.running === 0) for (const done of this.idleWaiters.splice(0)) done();
      });
    // With room for another batch in flight, what is left queues up for the next one.
    if (this.queue.length > 0) this.schedule();
  }

  /** How many queued items the next batch takes. */
  private batchSize(): number {
    const { maxBatch, maxInFlight = 1, spread = false } = this.options;
    const free = maxInFlight - this.running;
    if (!spread || free <= 1) return maxBatch;
    let n = Math.min(maxBatch, Math.ceil(this.queue.length / free));
    // Keep the submission the share ends in whole (one GraphQL request's forecasts stay in
    // one model call), within maxBatch.
    const last = this.queue[n - 1]?.submission;
    while (n < Math.min(maxBatch, this.queue.length) && this.queue[n]?.submission === last) n++;
    return n;
  }

  /**
   * Shutdown: refuses new work (UNAVAILABLE, with a retry hint: another process may take it),
   * runs everything already queued without waiting for a fuller batch, and resolves once no
   * batch runs. Nothing accepted is dropped, so the caller may release what the runner uses
   * (model sessions, database pool) when this resolves.
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length > 0) this.flushSoon();
    return this.idle();
  }

  /** Resolves when nothing is queued or running. */
  private idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
