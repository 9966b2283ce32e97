// The impression log as off-policy evaluation reads it: each served forecast with its policy
// and its slots (rank, propensity, explored), and per slot whether feedback linked to it was a
// click (any VIEW, CART or PURCHASE with the forecast's id and the item) or a purchase.
import type { Queryable } from './client.js';

export interface LoggedSlot {
  itemId: string;
  rank: number;
  propensity: number;
  explored: boolean;
  clicked: boolean;
  purchased: boolean;
}

export interface LoggedForecast {
  id: string;
  modelVersion: string;
  /** The stored policy (exploration/policy.ts PolicyLog); greedy for rows before migration 013. */
  policy: { key: string; epsilon: number; explorationPool: number };
  slots: LoggedSlot[];
}

export interface ImpressionFilter {
  since: Date | null;
  until: Date | null;
  modelVersion: string | null;
  /** Policy key (`greedy`, `eps(0.2,20)`, …); null = every policy. */
  policy: string | null;
}

/** The forecasts served in [since, until) that match the filter, oldest first. */
export async function loggedForecasts(
  q: Queryable,
  filter: ImpressionFilter,
): Promise<LoggedForecast[]> {
  const { rows } = await q.query<{
    id: string;
    modelVersion: string;
    policy: { key?: string; epsilon?: number; explorationPool?: number } | null;
    items: { itemId: string; rank: number; propensity?: number; explored?: boolean }[];
    clicked: string[];
    purchased: string[];
  }>(
    `SELECT f.id::text, f.model_version AS "modelVersion", f.policy, f.items,
            coalesce(fb.clicked, '{}') AS clicked, coalesce(fb.purchased, '{}') AS purchased
     FROM forecasts f
     LEFT JOIN LATERAL (
       SELECT array_agg(DISTINCT e.item_id) AS clicked,
              array_agg(DISTINCT e.item_id) FILTER (WHERE e.type = 'PURCHASE') AS purchased
       FROM events e WHERE e.forecast_id = f.id
     ) fb ON true
     WHERE ($1::timestamptz IS NULL OR f.created_at >= $1)
       AND ($2::timestamptz IS NULL OR f.created_at < $2)
       AND ($3::text IS NULL OR f.model_version = $3)
       AND ($4::text IS NULL OR coalesce(f.policy->>'key', 'greedy') = $4)
     ORDER BY f.created_at, f.id`,
    [filter.since, filter.until, filter.modelVersion, filter.policy],
  );
  return rows.map((r) => {
    const clicked = new Set(r.clicked);
    const purchased = new Set(r.purchased);
    return {
      id: r.id,
      modelVersion: r.modelVersion,
      policy: {
        key: r.policy?.key ?? 'greedy',
        epsilon: r.policy?.epsilon ?? 0,
        explorationPool: r.policy?.explorationPool ?? 0,
      },
      slots: r.items.map((x) => ({
        itemId: x.itemId,
        rank: x.rank,
        propensity: x.propensity ?? 1,
        explored: x.explored ?? false,
        clicked: clicked.has(x.itemId),
        purchased: purchased.has(x.itemId),
      })),
    };
  });
}
