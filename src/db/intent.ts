// What the purchase-intent model reads of stored sessions: the summary of their page views
// (events with a page kind; one row per session, however many pages), their visit attributes,
// whether their user came before, and the aggregate features of sessions imported from a
// per-session source (UCI).
import type { Queryable } from './client.js';
import { type PageViewSummary, type Visit } from './page-views.js';

export interface SessionIntentInput {
  visit: Visit;
  /** The session's user has a session that started (or was first seen) before this one. */
  returning: boolean;
  /** Page views of the session: their count and summary (null without page views). */
  pageViews: number;
  summary: PageViewSummary | null;
  /** Imported aggregate features (sessions.intent_aggregate), null for live sessions. */
  aggregate: { features: unknown } | null;
}

/** The intent inputs of the sessions of `ids` that exist, in one statement. */
export async function sessionIntentInputs(
  q: Queryable,
  ids: readonly string[],
): Promise<Map<string, SessionIntentInput>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<{
    id: string;
    visit: Visit;
    returning: boolean;
    aggregate: { features: unknown } | null;
    n: number;
    adminPages: number;
    infoPages: number;
    productPages: number;
    adminSeconds: number;
    infoSeconds: number;
    productSeconds: number;
    bounceRate: number | null;
    exitRate: number | null;
    value: number | null;
    firstAt: Date | null;
  }>(
    `SELECT s.id, s.visit, s.intent_aggregate AS aggregate,
            (s.user_id IS NOT NULL AND EXISTS (
               SELECT 1 FROM sessions o
               WHERE o.user_id = s.user_id AND o.id <> s.id
                 AND coalesce(o.started_at, o.created_at) < coalesce(s.started_at, s.created_at)
            )) AS returning,
            p.*
     FROM sessions s
     CROSS JOIN LATERAL (
       SELECT count(*)::int AS n,
              count(*) FILTER (WHERE e.page_kind = 'ADMINISTRATIVE')::int AS "adminPages",
              count(*) FILTER (WHERE e.page_kind = 'INFORMATIONAL')::int AS "infoPages",
              count(*) FILTER (WHERE e.page_kind = 'PRODUCT')::int AS "productPages",
              coalesce(sum(e.page_duration_s) FILTER (WHERE e.page_kind = 'ADMINISTRATIVE'), 0)
                AS "adminSeconds",
              coalesce(sum(e.page_duration_s) FILTER (WHERE e.page_kind = 'INFORMATIONAL'), 0)
                AS "infoSeconds",
              coalesce(sum(e.page_duration_s) FILTER (WHERE e.page_kind = 'PRODUCT'), 0)
                AS "productSeconds",
              avg(e.page_bounce_rate) AS "bounceRate", avg(e.page_exit_rate) AS "exitRate",
              avg(e.page_value) AS value,
              (array_agg(e.occurred_at ORDER BY e.seq, e.id)
                 FILTER (WHERE e.occurred_at IS NOT NULL))[1] AS "firstAt"
       FROM events e WHERE e.session_id = s.id AND e.page_kind IS NOT NULL
     ) p
     WHERE s.id = ANY($1::text[])`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        visit: r.visit ?? {},
        returning: r.returning,
        aggregate: r.aggregate,
        pageViews: r.n,
        summary:
          r.n === 0
            ? null
            : {
                pages: {
                  ADMINISTRATIVE: r.adminPages,
                  INFORMATIONAL: r.infoPages,
                  PRODUCT: r.productPages,
                },
                seconds: {
                  ADMINISTRATIVE: Number(r.adminSeconds),
                  INFORMATIONAL: Number(r.infoSeconds),
                  PRODUCT: Number(r.productSeconds),
                },
                bounceRate: r.bounceRate === null ? null : Number(r.bounceRate),
                exitRate: r.exitRate === null ? null : Number(r.exitRate),
                value: r.value === null ? null : Number(r.value),
                firstAt: r.firstAt === null ? null : new Date(r.firstAt),
              },
      },
    ]),
  );
}
