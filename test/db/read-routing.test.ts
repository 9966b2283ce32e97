// Read routing with a real streaming replica (initdb + pg_basebackup on ports 5550/5551, beside
// the shared server): forecasts read the replica when it has everything their shopper wrote;
// a shopper who just recorded events is served from the primary while the replica has not
// replayed them (replay paused here, so the replica really lacks them); a stopped replica is
// skipped without a failed forecast, and used again once it is back. Runs wherever Debian's
// PostgreSQL server binaries are installed; under CI=true their absence fails the suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { openPostgres, openPostgresLazily } from '../../src/db/postgres.js';
import { ReadRouter } from '../../src/db/read-routing.js';
import { retrievalSettings } from '../../src/db/retrieval.js';
import { ForecastEngine } from '../../src/forecast/engine.js';
import { importAmazon } from '../../src/import/amazon.js';
import { Model } from '../../src/inference/model.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import { beautySlice } from '../helpers/fixtures.js';
import { MODEL_DIR } from '../helpers/forecast.js';
import { postgresBin, startReplicatedPair, type ReplicatedPair } from '../helpers/replica.js';
import { startServer, type TestServer } from '../helpers/server.js';

const available = postgresBin() !== null || process.env.CI === 'true';
const RETRIEVAL = { candidates: 100, efSearch: 100, successors: 100 };

const FORECAST = `query($u: ID!) { interestForecast(userId: $u, first: 5) { basedOnEvents items { item { id } } } }`;
const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.runIf(available)('forecast reads through a streaming replica', () => {
  let pair: ReplicatedPair;
  let db: Db;
  let replica: Db;
  let router: ReadRouter;
  let model: Model;
  let engine: ForecastEngine;
  let server: TestServer;
  let users: string[];
  let items: string[];

  /** A replica's own view, bypassing the router: does it have this user yet? */
  const replicaHasUser = async (id: string) =>
    (await replica.query('SELECT 1 FROM users WHERE id = $1', [id])).rows.length > 0;
  const forecast = async (user: string) => {
    const res = await server.gql(FORECAST, { u: user });
    expect(res.errors, `forecast for ${user}`).toBeUndefined();
    return res.data.interestForecast as { basedOnEvents: number };
  };
  const batches = () => router.counters().batches;

  beforeAll(async () => {
    pair = await startReplicatedPair({ primaryPort: 5550, replicaPort: 5551, database: 'rr' });
    const settings = retrievalSettings(RETRIEVAL.efSearch);
    db = await openPostgres(pair.primaryUrl, 10, settings);
    await migrate(db, { EMBEDDING_DIM: 64 });
    const slice = await beautySlice(40);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    model = await Model.load(MODEL_DIR, 'cpu');
    await syncItemEmbeddings(db, model);
    users = slice.lines.map((l) => `beauty:${l.split(' ')[0]}`);
    items = [...new Set(slice.lines.flatMap((l) => l.split(' ').slice(1)))].map(
      (i) => `beauty:${i}`,
    );
    replica = await openPostgresLazily(pair.replicaUrl, settings);
    // A bound far above this suite's pauses: only read-your-writes and availability decide.
    router = new ReadRouter(db, replica, { maxLagMs: 60_000, checkMs: 50 });
    engine = new ForecastEngine(db, model, {
      batching: { maxBatch: 64, maxDelayMs: 2, maxQueue: 1024 },
      retrieval: RETRIEVAL,
      embeddingSlot: 'a',
      reads: router,
    });
    server = await startServer(db, {}, { engine, reads: router });
    await until('the replica to have the import', () => replicaHasUser(users[0]!));
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await engine?.close();
    await model?.release();
    await replica?.close();
    await db?.close();
    await pair?.stop();
  });

  it('serves a caught-up shopper from the replica, the primary left with lookups and a write', async () => {
    await forecast(users[0]!); // a replica check now, not inside the counted forecast
    const before = batches().replica;
    const sent = { primary: [] as string[], replica: [] as string[] };
    const offs = [
      db.onQuery((sql) => sent.primary.push(sql)),
      replica.onQuery((sql) => sent.replica.push(sql)),
    ];
    try {
      await forecast(users[1]!);
    } finally {
      for (const off of offs) off();
    }
    expect(batches().replica).toBe(before + 1);
    console.log(
      `one forecast: ${sent.primary.length} statements on the primary, ${sent.replica.length} on the replica`,
    );
    // The shopper's write position, and the forecast record (its insert statement).
    expect(sent.primary.filter((q) => /subject_writes/.test(q))).toHaveLength(1);
    expect(sent.primary.some((q) => /INSERT INTO forecasts/i.test(q))).toBe(true);
    expect(sent.primary.some((q) => /FROM events|embedding/i.test(q))).toBe(false);
    // Nothing else on the primary: its WAL position for the routing, and the catalogue's
    // generation, which the exact retrieval checks there (retrieval/exact.ts: one mirror, kept
    // at the primary's catalogue, not thrown between the primary's and a lagging replica's).
    expect(
      sent.primary.filter(
        (q) =>
          !/pg_current_wal_lsn|subject_writes|catalogue_generation|INSERT INTO forecasts/i.test(q),
      ),
    ).toEqual([]);
    expect(sent.primary.filter((q) => /catalogue_generation/.test(q))).toHaveLength(1);
    expect(sent.replica.some((q) => /FROM events/i.test(q))).toBe(true);
  });

  it('serves a shopper who just recorded events from the primary until the replica has them', async () => {
    await replica.query('SELECT pg_wal_replay_pause()');
    try {
      const user = 'beauty:rw-1';
      const events = items.slice(0, 3).map((itemId, i) => ({
        clientEventId: `rw-1-${i}`,
        type: 'VIEW',
        userId: user,
        itemId,
      }));
      const recorded = await server.gql(RECORD, { events });
      expect(recorded.errors).toBeUndefined();
      const before = batches();
      // The replica really lacks the new shopper: read there, the forecast would be NOT_FOUND.
      expect(await replicaHasUser(user)).toBe(false);
      expect((await forecast(user)).basedOnEvents).toBe(3);
      expect(batches()['behind-write']).toBe(before['behind-write'] + 1);
      // Others still read the paused replica: it holds everything they wrote.
      await forecast(users[2]!);
      expect(batches().replica).toBe(before.replica + 1);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()');
    }
    await until('the replica to replay the events', () => replicaHasUser('beauty:rw-1'));
    const before = batches().replica;
    expect((await forecast('beauty:rw-1')).basedOnEvents).toBe(3);
    expect(batches().replica).toBe(before + 1);
  });

  it('a recorded event on a known shopper is in the next forecast, through either server', async () => {
    const user = users[3]!;
    const first = (await forecast(user)).basedOnEvents;
    for (let i = 0; i < 5; i++) {
      const recorded = await server.gql(RECORD, {
        events: [{ clientEventId: `more-${i}`, type: 'VIEW', userId: user, itemId: items[i]! }],
      });
      expect(recorded.errors).toBeUndefined();
      expect((await forecast(user)).basedOnEvents).toBe(Math.min(50, first + i + 1));
    }
  });

  it('skips a stopped replica without failing a forecast, and uses it again once back', async () => {
    let failed = 0;
    let served = 0;
    let stopping = true;
    const load = (async () => {
      for (let i = 0; stopping; i++) {
        const res = await server.gql(FORECAST, { u: users[i % users.length]! });
        if (res.errors) failed++;
        else served++;
      }
    })();
    await sleep(300);
    await pair.stopReplica();
    await sleep(1500);
    const down = batches()['replica-down'];
    expect(down).toBeGreaterThan(0);
    expect(router.counters().replicaUp).toBe(0);
    await pair.startReplica();
    const back = batches().replica;
    await until('reads to go to the replica again', async () => batches().replica > back + 2);
    stopping = false;
    await load;
    console.log(
      `replica stop/start under load: ${served} forecasts served, ${failed} failed; ` +
        `read batches ${JSON.stringify(batches())}`,
    );
    expect(failed).toBe(0);
    expect(router.counters().replicaUp).toBe(1);
    // /metrics says where reads went and the lag.
    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(
      /foresight_forecast_read_batches_total\{target="replica",reason="replica"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /foresight_forecast_read_batches_total\{target="primary",reason="replica-down"\} [1-9]/,
    );
    expect(metrics).toMatch(/foresight_replica_up 1/);
    expect(metrics).toMatch(/foresight_replica_lag_seconds \d/);
  });
});
