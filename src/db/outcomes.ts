// Outcomes of served forecasts per model version and serving policy: impressions (served
// slots) and the feedback linked to them (events with a forecastId). An impression counts as
// clicked, carted or purchased once however many events of that kind follow it.
import type { Queryable } from './client.js';

export interface OutcomeRow {
  modelVersion: string;
  policy: string;
  forecasts: number;
  impressions: number;
  clicks: number;
  carts: number;
  purchases: number;
}

/**
 * The feedback of the forecast `alias` (a row with its `id`): how many of its items were
 * clicked (any feedback), carted, purchased — each counted once. For a LATERAL join.
 */
export const feedbackOf = (alias: string) => `
  SELECT count(DISTINCT e.item_id) AS clicks,
         count(DISTINCT e.item_id) FILTER (WHERE e.type = 'CART') AS carts,
         count(DISTINCT e.item_id) FILTER (WHERE e.type = 'PURCHASE') AS purchases
  FROM events e WHERE e.forecast_id = ${alias}.id`;

/**
 * Outcomes of the forecasts served in [since, until) (either bound null = open): the stored
 * forecasts, plus the days rolled up by retention (db/retention.ts) that lie wholly inside the
 * range (a rolled-up day is counted whole or not at all).
 */
export async function forecastOutcomes(
  q: Queryable,
  since: Date | null,
  until: Date | null,
): Promise<OutcomeRow[]> {
  // Per forecast, an index probe of its feedback (events_forecast_idx): no join whose plan
  // depends on fresh statistics. Feedback only ever names items the forecast served
  // (db/events.ts checkFeedback), so distinct items = impressions with that outcome.
  const { rows } = await q.query<OutcomeRow>(
    `WITH live AS (
       SELECT f.model_version, coalesce(f.policy->>'key', 'greedy') AS policy,
              count(*) AS forecasts,
              coalesce(sum(jsonb_array_length(f.items)), 0) AS impressions,
              coalesce(sum(fb.clicks), 0) AS clicks,
              coalesce(sum(fb.carts), 0) AS carts,
              coalesce(sum(fb.purchases), 0) AS purchases
       FROM forecasts f
       CROSS JOIN LATERAL (${feedbackOf('f')}) fb
       WHERE ($1::timestamptz IS NULL OR f.created_at >= $1)
         AND ($2::timestamptz IS NULL OR f.created_at < $2)
       GROUP BY 1, 2
     ), rolled AS (
       SELECT model_version, policy, sum(forecasts) AS forecasts,
              sum(impressions) AS impressions, sum(clicks) AS clicks, sum(carts) AS carts,
              sum(purchases) AS purchases
       FROM forecast_outcomes_daily
       WHERE ($1::timestamptz IS NULL OR (day::timestamp AT TIME ZONE 'UTC') >= $1)
         AND ($2::timestamptz IS NULL OR ((day + 1)::timestamp AT TIME ZONE 'UTC') <= $2)
       GROUP BY 1, 2
     )
     SELECT model_version AS "modelVersion", policy, sum(forecasts)::int AS forecasts,
            sum(impressions)::int AS impressions, sum(clicks)::int AS clicks,
            sum(carts)::int AS carts, sum(purchases)::int AS purchases
     FROM (SELECT * FROM live UNION ALL SELECT * FROM rolled) o
     GROUP BY 1, 2
     ORDER BY 1, 2`,
    [since, until],
  );
  return rows;
}
