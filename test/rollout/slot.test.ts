// The engine slot's switch: held leases are waited for, new ones wait for the switch, and a
// switch that cannot drain or whose write fails changes nothing.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ForecastEngine } from '../../src/forecast/engine.js';
import { DrainTimeoutError, EngineSlot, type ServingModel } from '../../src/rollout/slot.js';

const serving = (name: string): ServingModel => ({
  engine: { name } as unknown as ForecastEngine,
  directory: name,
  loadedAt: new Date(0),
});
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('EngineSlot', () => {
  it('switches only once the held leases are released; leases asked for meanwhile get the new engine', async () => {
    const [a, b] = [serving('a'), serving('b')];
    const slot = new EngineSlot(a);
    const held = await slot.acquire();
    const steps: string[] = [];
    const switching = slot.switchTo(b, async () => void steps.push('write'));
    const waiting = slot.acquire().then((l) => (steps.push(`lease ${l.serving.directory}`), l));
    await tick();
    expect(steps).toEqual([]); // the write waits for `held`, the new lease for the switch
    held.release();
    held.release(); // idempotent: counted once
    const { pauseMs, retired } = await switching;
    const lease = await waiting;
    expect(steps).toEqual(['write', 'lease b']);
    expect(pauseMs).toBeGreaterThan(0);
    expect(retired).toBeNull();
    expect(slot.current).toBe(b);
    expect(slot.previous).toBe(a);
    await expect(held.forecast([])).rejects.toThrow(/switched earlier in this operation/);
    lease.release();
    // A rollback: back to `a`, nothing retired; a third model then retires `b`.
    expect((await slot.switchTo(a, async () => 0)).retired).toBeNull();
    const c = serving('c');
    expect((await slot.switchTo(c, async () => 0)).retired).toBe(b);
    expect([slot.current, slot.previous]).toEqual([c, a]);
  });

  it('gives up after the drain timeout and when the write fails, serving the old engine', async () => {
    const [a, b] = [serving('a'), serving('b')];
    const slot = new EngineSlot(a, 20);
    const held = await slot.acquire();
    await expect(slot.switchTo(b, async () => 1)).rejects.toBeInstanceOf(DrainTimeoutError);
    expect(slot.current).toBe(a);
    held.release();
    await expect(
      slot.switchTo(b, async () => {
        throw new Error('write failed');
      }),
    ).rejects.toThrow('write failed');
    expect([slot.current, slot.previous]).toEqual([a, null]);
    // Not paused any more: a lease is granted at once.
    (await slot.acquire()).release();
  });

  it('releases a request lease when its response closes, also one that closed while waiting', async () => {
    const [a, b] = [serving('a'), serving('b')];
    const slot = new EngineSlot(a, 1000);
    const response = new EventEmitter();
    await slot.acquireFor(response);
    const switching = slot.switchTo(b, async () => 0);
    const late = new EventEmitter();
    const waiting = slot.acquireFor(late);
    late.emit('close'); // the client went away during the pause
    response.emit('close');
    await switching;
    await waiting;
    // Both came back: the next switch does not wait for either.
    await slot.switchTo(serving('c'), async () => 0);
    expect(slot.current.directory).toBe('c');
  });
});
