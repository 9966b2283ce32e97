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

/** Outcomes of the forecasts served in [since, until) (either bound null = open). */
export async function forecastOutcomes(
  q: Queryable,
  since: Date | null,
  until: Date | null,
): Promise<OutcomeRow[]> {
  const { rows } = await q.query<OutcomeRow>(
    `WITH imp AS (
       SELECT f.id, f.model_version, coalesce(f.policy->>'key', 'greedy') AS policy,
              x->>'itemId' AS item_id
       -- LEFT JOIN: a forecast with an empty slate still counts as served
       FROM forecasts f LEFT JOIN LATERAL jsonb_array_elements(f.items) x ON true
       WHERE ($1::timestamptz IS NULL OR f.created_at >= $1)
         AND ($2::timestamptz IS NULL OR f.created_at < $2)
     ), fb AS (
       SELECT forecast_id, item_id, bool_or(type = 'CART') AS carted,
              bool_or(type = 'PURCHASE') AS purchased
       FROM events WHERE forecast_id IS NOT NULL GROUP BY forecast_id, item_id
     )
     SELECT imp.model_version AS "modelVersion", imp.policy,
            count(DISTINCT imp.id)::int AS forecasts, count(imp.item_id)::int AS impressions,
            count(fb.forecast_id)::int AS clicks,
            count(*) FILTER (WHERE fb.carted)::int AS carts,
            count(*) FILTER (WHERE fb.purchased)::int AS purchases
     FROM imp LEFT JOIN fb ON fb.forecast_id = imp.id AND fb.item_id = imp.item_id
     GROUP BY imp.model_version, imp.policy
     ORDER BY imp.model_version, imp.policy`,
    [since, until],
  );
  return rows;
}
