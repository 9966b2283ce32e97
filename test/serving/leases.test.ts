// A dataset's models switch: new leases get the new engine at once (nobody waits), held ones
// keep the old engine to their end, and `drain` waits for one engine's leases only.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ForecastEngine } from '../../src/forecast/engine.js';
import { DrainTimeoutError, DatasetModels, type ServingModel } from '../../src/serving/leases.js';

const serving = (name: string): ServingModel => ({
  engine: { name, model: { version: name } } as unknown as ForecastEngine,
  directory: name,
  loadedAt: new Date(0),
});
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('DatasetModels', () => {
  it('switches at once: held leases keep the old engine, new ones get the new engine', async () => {
    const [a, b] = [serving('a'), serving('b')];
    const models = new DatasetModels(a);
    const held = models.acquire();
    const { pauseMs, retired } = models.switchTo(b);
    expect(pauseMs).toBeGreaterThanOrEqual(0);
    expect(pauseMs).toBeLessThan(5);
    expect(retired).toBeNull();
    const lease = models.acquire();
    expect(held.serving).toBe(a);
    expect(lease.serving).toBe(b);
    expect([models.current, models.previous]).toEqual([b, a]);
    expect([models.heldOn(a), models.heldOn(b)]).toEqual([1, 1]);
    held.release();
    held.release(); // idempotent: counted once
    expect(models.heldOn(a)).toBe(0);
    await expect(held.forecast([])).rejects.toThrow(/switched earlier in this operation/);
    lease.release();
    // A rollback: back to `a`, nothing retired; a third model then retires `b`.
    expect(models.switchTo(a).retired).toBeNull();
    const c = serving('c');
    expect(models.switchTo(c).retired).toBe(b);
    expect([models.current, models.previous]).toEqual([c, a]);
  });

  it("drains one engine's leases, not the other's, and gives up after the timeout", async () => {
    const [a, b] = [serving('a'), serving('b')];
    const models = new DatasetModels(a, 30);
    const onA = [models.acquire(), models.acquire()];
    models.switchTo(b);
    const onB = models.acquire();
    const steps: string[] = [];
    const drained = models.drain(a).then(() => steps.push('a drained'));
    await tick();
    onA[0]!.release();
    await tick();
    expect(steps).toEqual([]);
    onA[1]!.release();
    await drained;
    expect(steps).toEqual(['a drained']);
    await expect(models.drain(a)).resolves.toBeUndefined(); // nobody holds it: at once
    const timeout = await models.drain(b).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(DrainTimeoutError);
    expect((timeout as DrainTimeoutError).message).toBe(
      '1 request(s) still held model b after 30 ms',
    );
    onB.release();
    await expect(models.drain(b)).resolves.toBeUndefined();
  });

  it('releases a request lease when its response closes', async () => {
    const [a, b] = [serving('a'), serving('b')];
    const models = new DatasetModels(a, 1000);
    const response = new EventEmitter();
    const lease = models.acquireFor(response);
    models.switchTo(b);
    const drained = models.drain(a);
    response.emit('close');
    await drained;
    expect(models.heldOn(a)).toBe(0);
    await expect(lease.embedItems({} as never, [])).rejects.toThrow(/switched earlier/);
  });
});
