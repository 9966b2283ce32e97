-- Events stored before the time policy (src/time-policy.ts) with a time outside it — before
-- 1990-01-01 or more than 5 minutes ahead of the clock; they made trendingItems and
-- trendingCategories of their whole dataset fail — are moved out of `events` into
-- `events_quarantine` with the reason, the histories they were in are renumbered (`seq` stays
-- the position in the history, 1 = oldest, without gaps) and their sessions' first and last
-- times are recomputed. Nothing is deleted: an operator reads `row` to repair or drop an event.
CREATE TABLE events_quarantine (
  -- What events.id, client_event_id and dataset were; the whole row as it was in `row`.
  id              bigint PRIMARY KEY,
  client_event_id text NOT NULL,
  dataset         text NOT NULL,
  reason          text NOT NULL,
  quarantined_at  timestamptz NOT NULL DEFAULT now(),
  row             jsonb NOT NULL
);

WITH bad AS (
  SELECT id, CASE
      WHEN occurred_at < '1990-01-01T00:00:00Z' THEN 'occurred_at before 1990-01-01'
      WHEN occurred_at > now() + interval '5 minutes' THEN 'occurred_at ahead of the clock'
      WHEN occurred_on < '1990-01-01' THEN 'occurred_on before 1990-01-01'
      ELSE 'occurred_on after today'
    END AS reason
  FROM events
  WHERE occurred_at < '1990-01-01T00:00:00Z'
     OR occurred_at > now() + interval '5 minutes'
     OR occurred_on < '1990-01-01'
     OR occurred_on > (timezone('UTC', now() + interval '5 minutes'))::date
), moved AS (
  DELETE FROM events e USING bad WHERE e.id = bad.id
  RETURNING e.*, bad.reason
)
INSERT INTO events_quarantine (id, client_event_id, dataset, reason, row)
SELECT id, client_event_id, dataset, reason, to_jsonb(moved) - 'reason' FROM moved;

-- The histories that lost events, numbered again in their order (per user; per session for
-- events without a user, as the gateway numbers them).
UPDATE events e SET seq = o.rn FROM (
  SELECT id, row_number() OVER (
    PARTITION BY coalesce('u:' || user_id, 's:' || session_id) ORDER BY seq, id) AS rn
  FROM events
  WHERE coalesce('u:' || user_id, 's:' || session_id) IN (
    SELECT coalesce('u:' || (row->>'user_id'), 's:' || (row->>'session_id'))
    FROM events_quarantine)
) o
WHERE e.id = o.id AND e.seq <> o.rn;

UPDATE sessions s SET started_at = x.first_at, last_event_at = x.last_at FROM (
  SELECT q.session_id, min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at
  FROM (SELECT DISTINCT row->>'session_id' AS session_id FROM events_quarantine) q
  LEFT JOIN events e ON e.session_id = q.session_id
  GROUP BY q.session_id
) x
WHERE s.id = x.session_id;
