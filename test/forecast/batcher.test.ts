import { describe, expect, it } from 'vitest';
import { ForecastBatcher, QueueFullError } from '../../src/forecast/batcher.js';

/** A runner whose batches finish only when the test releases them. */
function gatedRunner() {
  const calls: number[][] = [];
  const gates: (() => void)[] = [];
  const runner = (inputs: number[]) => {
    calls.push([...inputs]);
    return new Promise<number[]>((resolve) => gates.push(() => resolve(inputs.map((x) => x * 10))));
  };
  const releaseAll = () => gates.splice(0).forEach((g) => g());
  return { calls, runner, releaseAll };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
/**
 * Waits until `n` batches have started (at most 2 s), then one more turn for any batch that
 * should not start: a loaded machine can run a 10 ms wait before the batcher's zero timers.
 */
async function started(calls: unknown[], n: number): Promise<void> {
  const end = Date.now() + 2000;
  while (calls.length < n && Date.now() < end) await tick(5);
  await tick(10);
}

describe('ForecastBatcher', () => {
  it('merges submissions that arrive within the delay into one batch, outputs in order', async () => {
    const calls: number[][] = [];
    const s = new ForecastBatcher(
      async (xs: number[]) => {
        calls.push(xs);
        return xs.map((x) => x + 1);
      },
      { maxBatch: 64, maxDelayMs: 20, maxQueue: 100 },
    );
    const [a, b, c] = await Promise.all([s.submit([1, 2]), s.submit([3]), s.submit([4, 5, 6])]);
    expect(calls).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(a).toEqual([2, 3]);
    expect(b).toEqual([4]);
    expect(c).toEqual([5, 6, 7]);
    expect(s.stats).toMatchObject({ batches: 1, items: 6, batchSizes: { 6: 1 } });
  });

  it('never hands the runner more than maxBatch items', async () => {
    const sizes: number[] = [];
    const s = new ForecastBatcher(
      async (xs: number[]) => {
        sizes.push(xs.length);
        return xs;
      },
      { maxBatch: 4, maxDelayMs: 5, maxQueue: 100 },
    );
    const out = await s.submit([...Array(10).keys()]);
    expect(out).toEqual([...Array(10).keys()]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('queues work that arrives while a batch runs and runs it as one next batch', async () => {
    const g = gatedRunner();
    const s = new ForecastBatcher(g.runner, { maxBatch: 64, maxDelayMs: 1, maxQueue: 100 });
    const first = s.submit([1]);
    await started(g.calls, 1);
    expect(g.calls).toEqual([[1]]);
    const later = [s.submit([2]), s.submit([3]), s.submit([4])];
    await started(g.calls, 1);
    expect(g.calls).toHaveLength(1); // still busy with the first batch
    g.releaseAll();
    await first;
    await started(g.calls, 2);
    expect(g.calls).toEqual([[1], [2, 3, 4]]);
    g.releaseAll();
    expect(await Promise.all(later)).toEqual([[20], [30], [40]]);
  });

  it('rejects a submission that does not fit in the queue at once, without a hang', async () => {
    const g = gatedRunner();
    const s = new ForecastBatcher(g.runner, { maxBatch: 2, maxDelayMs: 1, maxQueue: 3 });
    const running = s.submit([1, 2]); // taken by the runner, leaves the queue
    await tick(5);
    const queued = s.submit([3, 4, 5]); // fills the queue
    await expect(s.submit([6])).rejects.toBeInstanceOf(QueueFullError);
    expect(s.stats.rejected).toBe(1);
    g.releaseAll();
    await running;
    await tick(5);
    g.releaseAll();
    await tick(5);
    g.releaseAll();
    expect(await queued).toEqual([30, 40, 50]);
  });

  it('fails every item of a failing batch and keeps serving afterwards', async () => {
    let fail = true;
    const s = new ForecastBatcher(
      async (xs: number[]) => {
        if (fail) throw new Error('boom');
        return xs;
      },
      { maxBatch: 8, maxDelayMs: 1, maxQueue: 100 },
    );
    const results = await Promise.allSettled([s.submit([1]), s.submit([2])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await s.submit([7])).toEqual([7]);
  });

  it('reports how many submissions each batch merged', async () => {
    const s = new ForecastBatcher(async (xs: number[]) => xs, {
      maxBatch: 64,
      maxDelayMs: 10,
      maxQueue: 100,
    });
    const seen: number[] = [];
    s.onBatch((b) => seen.push(b.submissions));
    await Promise.all([s.submit([1]), s.submit([2, 3]), s.submit([4])]);
    expect(seen).toEqual([3]);
  });

  it('runs up to maxInFlight batches at once, and no more', async () => {
    const g = gatedRunner();
    const s = new ForecastBatcher(g.runner, {
      maxBatch: 2,
      maxDelayMs: 1,
      maxQueue: 100,
      maxInFlight: 2,
    });
    const all = s.submit([1, 2, 3, 4, 5, 6]);
    await started(g.calls, 2);
    expect(g.calls).toEqual([
      [1, 2],
      [3, 4],
    ]); // the third batch waits for a slot
    g.releaseAll();
    await started(g.calls, 3);
    expect(g.calls).toHaveLength(3);
    g.releaseAll();
    expect(await all).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('with spread, shares waiting work among free slots and keeps each submission whole', async () => {
    const g = gatedRunner();
    const s = new ForecastBatcher(g.runner, {
      maxBatch: 64,
      maxDelayMs: 0,
      maxQueue: 100,
      maxInFlight: 2,
      spread: true,
    });
    const singles = [1, 2, 3, 4, 5, 6].map((x) => s.submit([x]));
    await tick(10);
    // two slots free: half each, running side by side
    expect(g.calls).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    g.releaseAll();
    expect(await Promise.all(singles)).toEqual([[10], [20], [30], [40], [50], [60]]);

    g.calls.length = 0;
    const whole = s.submit([1, 2, 3, 4, 5]); // one request's forecasts: never split
    const other = s.submit([6]);
    await started(g.calls, 2);
    expect(g.calls).toEqual([[1, 2, 3, 4, 5], [6]]);
    g.releaseAll();
    expect(await whole).toEqual([10, 20, 30, 40, 50]);
    expect(await other).toEqual([60]);

    // one slot busy: the other takes everything waiting, as without spread
    g.calls.length = 0;
    const busy = s.submit([1]);
    await started(g.calls, 1);
    const rest = [2, 3, 4].map((x) => s.submit([x]));
    await started(g.calls, 2);
    expect(g.calls).toEqual([[1], [2, 3, 4]]);
    g.releaseAll();
    await Promise.all([busy, ...rest]);
  });

  it('answers everything accepted before close, then resolves; refuses new work as UNAVAILABLE', async () => {
    const g = gatedRunner();
    const s = new ForecastBatcher(g.runner, { maxBatch: 2, maxDelayMs: 10_000, maxQueue: 100 });
    const first = s.submit([1, 2]); // a full batch: runs at once
    await tick();
    const queued = s.submit([3]); // waits for a fuller batch (10 s)
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await expect(s.submit([4])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      extensions: { retryAfterMs: expect.any(Number) },
    });
    g.releaseAll(); // the first batch ends…
    await expect(first).resolves.toEqual([10, 20]);
    await tick();
    // …and the queued item runs at once instead of waiting out the 10 s delay
    expect(g.calls).toEqual([[1, 2], [3]]);
    expect(closed).toBe(false); // its batch still runs
    g.releaseAll();
    await expect(queued).resolves.toEqual([30]);
    await closing;
    expect(closed).toBe(true);
  });
});
