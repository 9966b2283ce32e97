// GATEWAY_WORKERS: several gateway processes on one port (src/cluster.ts). The real entry point
// (src/main.ts) runs as a child process on a real PostgreSQL database: the primary prepares the
// database, its workers answer forecasts over HTTP, /debug/inference and /metrics sum every
// worker's counters, a worker that dies is replaced, and SIGTERM stops them all.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumCounters, type InferenceCounters } from '../src/metrics/counters.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { importAmazon } from '../src/import/amazon.js';
import { backends } from './helpers/backends.js';
import { beautySlice } from './helpers/fixtures.js';
import { MODEL_DIR } from './helpers/forecast.js';

const counters = (pid: number, sizes: Record<number, number>): InferenceCounters => {
  const batches = Object.values(sizes).reduce((a, b) => a + b, 0);
  const items = Object.entries(sizes).reduce((a, [k, n]) => a + Number(k) * n, 0);
  return {
    forecast: { batches, items, rejected: 1, batchSizes: sizes, runMsTotal: 2, queueDepth: 3 },
    modelCalls: { encoder: { calls: batches, items, ms: 4 } },
    stages: { resolve: { calls: batches, items, ms: 5 } },
    encoderRuns: batches,
    workers: 1,
    pids: [pid],
  };
};

describe('cluster counters and configuration', () => {
  it('sums the counters of several workers', () => {
    const sum = sumCounters([counters(11, { 1: 2, 4: 1 }), counters(12, { 4: 2, 8: 1 })]);
    expect(sum.forecast).toEqual({
      batches: 6,
      items: 22,
      rejected: 2,
      batchSizes: { 1: 2, 4: 3, 8: 1 },
      runMsTotal: 4,
      queueDepth: 6,
    });
    expect(sum.modelCalls).toEqual({ encoder: { calls: 6, items: 22, ms: 8 } });
    expect(sum.stages).toEqual({ resolve: { calls: 6, items: 22, ms: 10 } });
    expect(sum.encoderRuns).toBe(6);
    expect(sum.workers).toBe(2);
    expect(sum.pids).toEqual([11, 12]);
  });

  it('refuses several workers on the embedded database, naming both variables', () => {
    expect(() => loadConfig({ GATEWAY_WORKERS: '2' })).toThrow(ConfigError);
    expect(() => loadConfig({ GATEWAY_WORKERS: '2' })).toThrow(/GATEWAY_WORKERS.*DATABASE_URL/s);
    expect(loadConfig({}).workers).toBe(1);
    expect(
      loadConfig({ GATEWAY_WORKERS: '2', DATABASE_URL: 'postgres://x@127.0.0.1/db' }).workers,
    ).toBe(2);
    expect(() => loadConfig({ GATEWAY_WORKERS: '0' })).toThrow(/GATEWAY_WORKERS/);
  });
});

const postgres = backends.find((b) => b.name === 'postgres');

describe.runIf(postgres)('GATEWAY_WORKERS=2 on PostgreSQL', () => {
  let dispose: () => Promise<void>;
  let child: ChildProcess;
  let url: string;
  let output = '';
  let users: string[];

  const debug = async (): Promise<InferenceCounters> =>
    (await (await fetch(`${url}/debug/inference`)).json()) as InferenceCounters;

  /** Polls until `check` holds (the cluster starts and restarts asynchronously). */
  async function until<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const v = await get();
        if (check(v)) return v;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`${what}: not within 60 s\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    const opened = await postgres!.open();
    dispose = opened.dispose;
    const slice = await beautySlice(30);
    await importAmazon(opened.db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    users = slice.lines.slice(0, 12).map((l) => `beauty:${l.split(' ')[0]}`);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    url = `http://127.0.0.1:${port}`;
    child = spawn('node', ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: opened.url,
        GATEWAY_WORKERS: '2',
        PORT: String(port),
        AUTO_IMPORT: 'false',
        MODEL_DIR,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await until('both workers up', debug, (c) => c.workers === 2);
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await dispose?.();
  });

  it('prepares the database once in the primary, then serves forecasts from both workers', async () => {
    // the primary wrote the embeddings before forking: no worker had any left to write
    expect(output.match(/item embeddings written/g)).toHaveLength(1);
    const before = await debug();
    expect(new Set(before.pids).size).toBe(2);
    // separate connections, so that the primary hands them to both workers
    const answers = await Promise.all(
      users.map(async (u) => {
        const res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({
            query: `query($u: ID!) { interestForecast(userId: $u, first: 5) { modelVersion items { rank } } }`,
            variables: { u },
          }),
        });
        return (await res.json()) as {
          data?: { interestForecast: { items: unknown[] } };
          errors?: unknown[];
        };
      }),
    );
    for (const a of answers) {
      expect(a.errors).toBeUndefined();
      expect(a.data!.interestForecast.items).toHaveLength(5);
    }
    const after = await debug();
    // every forecast is counted once, whichever worker ran it
    expect(after.forecast.items - before.forecast.items).toBe(users.length);
    expect(after.modelCalls.encoder!.items - before.modelCalls.encoder!.items).toBe(users.length);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^foresight_gateway_workers 2$/m);
    expect(metrics).toMatch(new RegExp(`^foresight_forecasts_total ${after.forecast.items}$`, 'm'));
  });

  it('replaces a worker that dies, and stops every process on SIGTERM', async () => {
    const [victim, survivor] = (await debug()).pids as [number, number];
    process.kill(victim, 'SIGKILL');
    const back = await until(
      'a replacement worker',
      debug,
      (c) => c.workers === 2 && !c.pids.includes(victim),
    );
    expect(back.pids).toContain(survivor);
    expect(output).toMatch(new RegExp(`gateway worker ${victim} exited \\(SIGKILL\\)`));
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const pid of back.pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
