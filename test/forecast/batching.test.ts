// The batching path: one query asking for 50 forecasts is one encoder call and one scorer call
// with a constant number of SQL statements; concurrent requests are merged by the batcher;
// a full queue answers UNAVAILABLE at once instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForecastEngine } from '../../src/forecast/engine.js';
import type { BatchRecord } from '../../src/forecast/batcher.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { startServer } from '../helpers/server.js';

const MANY = `query($n: Int) { users(first: $n, dataset: "beauty") {
  edges { node { id interestForecast(first: 5) { id mode items { item { id } } timing { batchSize } } } }
} }`;

interface ManyData {
  users: {
    edges: {
      node: {
        id: string;
        interestForecast: { mode: string; items: unknown[]; timing: { batchSize: number } };
      };
    }[];
  };
}

describe.each(backends)('forecast batching on $name', (backend) => {
  let f: ForecastFixture;
  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 80, batching: { maxDelayMs: 25 } });
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  it('runs 50 forecasts requested in one query as one encoder call and one scorer call', async () => {
    const enc0 = { ...f.engine.modelCalls.encoder };
    const runs0 = f.model.encoderRuns;
    const sc0 = { ...f.engine.modelCalls.scorer };
    const exact0 = { ...f.engine.modelCalls.exactTop };
    const stages0 = structuredClone(f.engine.stageTimes);
    const res = await f.server.gql<ManyData>(MANY, { n: 50 });
    expect(res.errors).toBeUndefined();
    const edges = res.data!.users.edges;
    expect(edges).toHaveLength(50);
    for (const e of edges) {
      expect(e.node.interestForecast.mode).toBe('MODEL');
      expect(e.node.interestForecast.items).toHaveLength(5);
      expect(e.node.interestForecast.timing.batchSize).toBe(50);
    }
    expect(f.engine.modelCalls.encoder.calls - enc0.calls).toBe(1);
    expect(f.engine.modelCalls.encoder.items - enc0.items).toBe(50);
    // The encoder call runs once per history-length group: a constant, not one per forecast.
    expect(f.model.encoderRuns - runs0).toBeGreaterThanOrEqual(1);
    expect(f.model.encoderRuns - runs0).toBeLessThanOrEqual(3);
    expect(f.engine.modelCalls.scorer.calls - sc0.calls).toBe(1);
    // a catalogue this small is retrieved by one exact scan in the gateway (retrieval/exact.ts)
    expect(f.engine.modelCalls.exactTop.calls - exact0.calls).toBe(1);
    expect(f.engine.modelCalls.exactTop.items - exact0.items).toBe(50);
    // every stage of the model path ran once for the 50, and took some time; no fallback ran
    for (const stage of ['resolve', 'encode', 'retrieve', 'score', 'serve', 'record'] as const) {
      expect(f.engine.stageTimes[stage].calls - stages0[stage].calls, stage).toBe(1);
      expect(f.engine.stageTimes[stage].items - stages0[stage].items, stage).toBe(50);
      expect(f.engine.stageTimes[stage].ms, stage).toBeGreaterThan(stages0[stage].ms);
    }
    expect(f.engine.stageTimes.fallbacks.calls).toBe(stages0.fallbacks.calls);
    // …and /debug/inference and /metrics (one process here) report the same counters
    const origin = new URL(f.server.url).origin;
    const debug = (await (await fetch(`${origin}/debug/inference`)).json()) as {
      modelCalls: { encoder: { calls: number } };
      workers: number;
      pids: number[];
    };
    expect(debug.modelCalls.encoder.calls).toBe(f.engine.modelCalls.encoder.calls);
    expect(debug.workers).toBe(1);
    expect(debug.pids).toEqual([process.pid]);
    const metrics = await (await fetch(`${origin}/metrics`)).text();
    expect(metrics).toMatch(/^foresight_gateway_workers 1$/m);
    expect(metrics).toContain(
      `foresight_onnx_calls_total{model="encoder"} ${f.engine.modelCalls.encoder.calls}`,
    );
    expect(metrics).toContain(
      `foresight_forecast_stage_forecasts_total{stage="encode"} ${f.engine.stageTimes.encode.items}`,
    );
    expect(metrics).toMatch(/^foresight_forecast_stage_seconds_total\{stage="retrieve"\} \d/m);
  });

  it('issues the same number of SQL statements for 10 and for 50 forecasts', async () => {
    const ok = async (n: number) => {
      const res = await f.server.gql<ManyData>(MANY, { n });
      expect(res.errors).toBeUndefined();
      expect(res.data!.users.edges).toHaveLength(n);
    };
    const ten = await f.server.countStatements(() => ok(10));
    const fifty = await f.server.countStatements(() => ok(50));
    expect(fifty).toBe(ten);
    expect(fifty).toBeLessThanOrEqual(15);
  });

  it('merges forecasts of concurrent requests into shared model calls', async () => {
    const calls0 = f.engine.modelCalls.encoder.calls;
    const records: BatchRecord[] = [];
    const off = f.engine.batcher.onBatch((b) => records.push(b));
    const users = f.lines.slice(10, 18).map((l) => `beauty:${l.split(' ')[0]}`);
    const results = await Promise.all(
      users.map((u) =>
        f.server.gql(`query($u: ID!) { interestForecast(userId: $u, first: 3) { id } }`, { u }),
      ),
    );
    off();
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    const items = records.reduce((a, b) => a + b.size, 0);
    expect(items).toBe(8);
    expect(records.length).toBeLessThan(8);
    expect(Math.max(...records.map((r) => r.submissions))).toBeGreaterThan(1);
    expect(f.engine.modelCalls.encoder.calls - calls0).toBe(records.length);
  });

  it('looks up the items and categories of one merged batch in one statement each, not one per request', async () => {
    const records: BatchRecord[] = [];
    const off = f.engine.batcher.onBatch((b) => records.push(b));
    const sql: string[] = [];
    const offSql = f.db.onQuery((s) => sql.push(s));
    const users = f.lines.slice(20, 28).map((l) => `beauty:${l.split(' ')[0]}`);
    const results = await Promise.all(
      users.map((u) =>
        f.server.gql<{
          interestForecast: { items: { item: { id: string; title: string | null } }[] };
        }>(
          `query($u: ID!) { interestForecast(userId: $u, first: 3) {
            items { item { id title } } categories(first: 2) { category { id name } } } }`,
          { u },
        ),
      ),
    );
    off();
    offSql();
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(results.every((r) => r.data!.interestForecast.items.length === 3)).toBe(true);
    expect(records.length).toBeLessThan(8); // the requests did share batches
    const lookups = (table: string) =>
      sql.filter((s) => s.includes(`FROM ${table} WHERE id = ANY`)).length;
    expect(lookups('items')).toBe(records.length);
    expect(lookups('categories')).toBe(records.length);
  });

  it('answers items selected by id alone without looking them up, the same ids as with a lookup', async () => {
    const served = async (selection: string) => {
      const sql: string[] = [];
      const off = f.db.onQuery((s) => sql.push(s));
      try {
        const res = await f.server.gql<{
          users: { edges: { node: { interestForecast: { items: { item: { id: string } }[] } } }[] };
        }>(
          `{ users(first: 4, dataset: "beauty") { edges { node {
            interestForecast(first: 4) { items { item { ${selection} } } } } } } }`,
        );
        expect(res.errors).toBeUndefined();
        return {
          ids: res.data!.users.edges.map((e) =>
            e.node.interestForecast.items.map((i) => i.item.id),
          ),
          lookups: sql.filter((s) => s.includes('FROM items WHERE id = ANY')).length,
        };
      } finally {
        off();
      }
    };
    const bare = await served('id __typename');
    const full = await served('id title');
    expect(bare.lookups).toBe(0);
    expect(full.lookups).toBe(1);
    expect(bare.ids).toEqual(full.ids);
    for (const ids of bare.ids) expect(ids).toHaveLength(4);
  });

  it('answers UNAVAILABLE at once when the inference queue is full, then keeps serving', async () => {
    const small = new ForecastEngine(f.db, f.model, {
      batching: { maxBatch: 8, maxDelayMs: 1, maxQueue: 10 },
      retrieval: { candidates: 50, efSearch: 50, successors: 100 },
    });
    const server = await startServer(f.db, {}, { engine: small });
    try {
      const res = await server.gql(MANY, { n: 50 });
      const codes = new Set(res.errors?.map((e) => e.extensions?.code));
      expect(codes).toEqual(new Set(['UNAVAILABLE']));
      expect(res.errors?.[0]?.message).toMatch(/queue is full/);
      expect(small.batcher.stats.rejected).toBe(50);
      const ok = await server.gql(MANY, { n: 5 });
      expect(ok.errors).toBeUndefined();
    } finally {
      await server.close();
      small.close();
    }
  });

  it('serves the same forecasts by the exact scan and by the index split over parallel statements', async () => {
    const Q = `query($n: Int) { users(first: $n, dataset: "beauty") {
      edges { node { interestForecast(first: 5) { items { score item { id } } } } } } }`;
    const split = new ForecastEngine(f.db, f.model, {
      batching: { maxBatch: 64, maxDelayMs: 25, maxQueue: 1024 },
      retrieval: { candidates: 100, efSearch: 100, successors: 100, parallel: 3, exactMaxItems: 0 },
    });
    const server = await startServer(f.db, {}, { engine: split });
    try {
      const retrievals = async (gql: () => Promise<unknown>) => {
        const sql: string[] = [];
        const off = f.db.onQuery((s) => sql.push(s));
        const res = await gql();
        off();
        return { res, n: sql.filter((s) => s.includes('CROSS JOIN LATERAL')).length };
      };
      const one = await retrievals(() => f.server.gql(Q, { n: 30 }));
      const three = await retrievals(() => server.gql(Q, { n: 30 }));
      // the fixture's engine scans this small catalogue itself (retrieval/exact.ts): no index
      // statement; the other, with the scan off, splits the index statement three ways
      expect(one.n).toBe(0);
      expect(three.n).toBe(3);
      expect(three.res).toEqual(one.res);
      expect(split.modelCalls.encoder.calls).toBe(1);
    } finally {
      await server.close();
      split.close();
    }
  });
});
