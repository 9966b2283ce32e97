// What the forecast log costs and what retention takes back (PostgreSQL): serves forecasts
// through the gateway (bench/load.ts's query, Beauty users, concurrency 16) into a fresh
// database, then reports the stored bytes per forecast (pg_total_relation_size of forecasts,
// indexes and TOAST included) and what that is per day at 1,000 forecasts/s without pruning,
// then ages every row past the window and times the rollup and delete (rows/s) and the size
// after it.
//
//   npx tsx bench/retention.ts [--seconds 20] [--out bench/results/retention-DATE.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openPostgres } from '../src/db/postgres.js';
import { forecastStorage, pruneForecasts } from '../src/db/retention.js';
import { drive, prepareBeautyUsers, QUERY, startServer } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_retention',
    },
    seconds: { type: 'string', default: '20' },
    port: { type: 'string', default: '4393' },
    out: {
      type: 'string',
      default: `bench/results/retention-${new Date().toISOString().slice(0, 10)}.json`,
    },
  },
});
const databaseUrl = opts['database-url']!;
const users = await prepareBeautyUsers(databaseUrl);
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query('TRUNCATE forecasts, forecast_outcomes_daily');
await admin.end();

const server = await startServer(
  { DATABASE_URL: databaseUrl, FORECAST_RETENTION_DAYS: '0' },
  Number(opts.port),
);
let load;
try {
  load = await drive(server.url, users, 16, Number(opts.seconds), QUERY);
} finally {
  await server.stop();
}
const db = await openPostgres(databaseUrl);
try {
  await db.query('VACUUM ANALYZE forecasts');
  const served = await forecastStorage(db);
  const bytesPerForecast = served.bytes / served.rows;
  await db.query(`UPDATE forecasts SET created_at = created_at - interval '31 days'`);
  const t0 = performance.now();
  const pruned = await pruneForecasts(db, new Date(Date.now() - 30 * 86_400_000));
  const pruneS = (performance.now() - t0) / 1000;
  await db.query('VACUUM forecasts');
  const after = await forecastStorage(db);
  const result = {
    date: new Date().toISOString(),
    storage: 'postgres',
    load: { reqPerSec: load.reqPerSec, requests: load.requests, errors: load.errors },
    forecasts: served.rows,
    bytes: served.bytes,
    bytesPerForecast: Math.round(bytesPerForecast),
    gbPerDayAt1000PerS: (bytesPerForecast * 1000 * 86_400) / 1e9,
    prune: {
      deleted: pruned.deleted,
      batches: pruned.batches,
      seconds: Number(pruneS.toFixed(2)),
      rowsPerS: Math.round(pruned.deleted / pruneS),
    },
    after: { rows: after.rows, dailyRows: after.dailyRows, bytes: after.bytes },
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(opts.out!, JSON.stringify(result, null, 2) + '\n');
} finally {
  await db.close();
}
