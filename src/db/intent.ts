// What the purchase-intent model reads of stored sessions: their page views (events with a
// page kind, oldest first), their visit attributes, whether their user came before, and the
// aggregate features of sessions imported from a per-session source (UCI).
import type { PageKind, PageViewRecord, Visit } from '../intent/features.js';
import type { Queryable } from './client.js';

export interface SessionIntentInput {
  visit: Visit;
  /** The session's user has a session created before this one. */
  returning: boolean;
  pages: PageViewRecord[];
  /** Imported aggregate features (sessions.intent_aggregate), null for live sessions. */
  aggregate: { features: number[] } | null;
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
    aggregate: { features: number[] } | null;
    pages: (Omit<PageViewRecord, 'occurredAt' | 'kind'> & {
      kind: PageKind;
      occurredAt: string | null;
    })[];
  }>(
    `SELECT s.id, s.visit, s.intent_aggregate AS aggregate,
            (s.user_id IS NOT NULL AND EXISTS (
               SELECT 1 FROM sessions o
               WHERE o.user_id = s.user_id AND o.id <> s.id AND o.created_at < s.created_at
            )) AS returning,
            coalesce((
              SELECT json_agg(json_build_object(
                       'kind', e.page_kind, 'durationSeconds', e.page_duration_s,
                       'value', e.page_value, 'bounceRate', e.page_bounce_rate,
                       'exitRate', e.page_exit_rate, 'occurredAt', e.occurred_at)
                     ORDER BY e.seq, e.id)
              FROM events e WHERE e.session_id = s.id AND e.page_kind IS NOT NULL
            ), '[]'::json) AS pages
     FROM sessions s WHERE s.id = ANY($1::text[])`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        visit: r.visit ?? {},
        returning: r.returning,
        aggregate: r.aggregate,
        pages: r.pages.map((p) => ({
          ...p,
          occurredAt: p.occurredAt === null ? null : new Date(p.occurredAt),
        })),
      },
    ]),
  );
}
