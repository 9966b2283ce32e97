// Forecast retention: served forecasts past the attribution window are rolled up per UTC day,
// model version and serving policy (with the feedback linked to them) into
// forecast_outcomes_daily and deleted, a bounded batch per transaction. Batches are taken with
// FOR UPDATE SKIP LOCKED, so every gateway process of a deployment may prune at once without
// counting a forecast twice; the rollup adds to a day's row (ON CONFLICT), so a day pruned in
// several batches sums up. Events are never deleted: their forecast_id then names a forecast
// that is gone, and new feedback naming it is refused (db/events.ts checkFeedback).
import type { Db } from './client.js';
import { feedbackOf } from './outcomes.js';

export interface PruneResult {
  /** Forecast rows rolled up and deleted. */
  deleted: number;
  /** Transactions it took (batches). */
  batches: number;
}

/** The statement that rolls up and deletes one batch; the CTEs run as one snapshot. */
const PRUNE_BATCH = `
WITH batch AS (
  SELECT id FROM forecasts WHERE created_at < $1 ORDER BY created_at LIMIT $2
  FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM forecasts f USING batch b WHERE f.id = b.id
  RETURNING f.id, f.created_at, f.model_version, coalesce(f.policy->>'key', 'greedy') AS policy,
            jsonb_array_length(f.items) AS impressions
), rolled AS (
  INSERT INTO forecast_outcomes_daily AS d
    (day, model_version, policy, forecasts, impressions, clicks, carts, purchases)
  SELECT (g.created_at AT TIME ZONE 'UTC')::date, g.model_version, g.policy, count(*),
         sum(g.impressions), coalesce(sum(fb.clicks), 0), coalesce(sum(fb.carts), 0),
         coalesce(sum(fb.purchases), 0)
  FROM gone g
  CROSS JOIN LATERAL (${feedbackOf('g')}) fb
  GROUP BY 1, 2, 3
  ON CONFLICT (day, model_version, policy) DO UPDATE SET
    forecasts = d.forecasts + excluded.forecasts,
    impressions = d.impressions + excluded.impressions,
    clicks = d.clicks + excluded.clicks,
    carts = d.carts + excluded.carts,
    purchases = d.purchases + excluded.purchases
)
SELECT count(*)::int AS deleted FROM gone`;

/**
 * Rolls up and deletes the forecasts served before `before`, `batchSize` rows per transaction,
 * until none is left (or `maxBatches` were done, so one call stays bounded in time).
 */
export async function pruneForecasts(
  db: Db,
  before: Date,
  { batchSize = 5000, maxBatches = Number.POSITIVE_INFINITY } = {},
): Promise<PruneResult> {
  let deleted = 0;
  let batches = 0;
  while (batches < maxBatches) {
    const n = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ deleted: number }>(PRUNE_BATCH, [before, batchSize]);
      return rows[0]?.deleted ?? 0;
    });
    if (n === 0) break;
    deleted += n;
    batches += 1;
    if (n < batchSize) break;
  }
  return { deleted, batches };
}

export interface ForecastStorage {
  /** Forecast rows stored now. */
  rows: number;
  /** The forecasts table with its indexes and TOAST (PostgreSQL's pg_total_relation_size). */
  bytes: number;
  /** Rolled-up (day, model version, policy) rows. */
  dailyRows: number;
}

/** How much the forecast log takes: rows and bytes of forecasts, rows of the rollup. */
export async function forecastStorage(db: Db): Promise<ForecastStorage> {
  const { rows } = await db.query<ForecastStorage>(
    `SELECT (SELECT count(*) FROM forecasts)::int AS rows,
            pg_total_relation_size('forecasts')::float8 AS bytes,
            (SELECT count(*) FROM forecast_outcomes_daily)::int AS "dailyRows"`,
  );
  return rows[0]!;
}
