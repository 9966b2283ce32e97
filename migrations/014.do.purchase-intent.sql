-- Purchase intent. A page view carries what a session-level intent model reads (the UCI Online
-- Shoppers features): the page's kind and the time spent on it, and, where the shop's analytics
-- reports them, the page's value, bounce rate and exit rate. A session keeps its visit's
-- attributes (visitor type, traffic source, device codes, closeness to a special day) and, for
-- sessions imported from a per-session aggregate source (UCI), the aggregate features
-- themselves. A served forecast names the intent model behind its purchase probability. All
-- nullable: existing rows are unchanged. (The CHECKs on the new columns make PostgreSQL scan
-- `events` once under the ALTER's lock: trivial on the columns' NULLs, but a large events table
-- is read in full; on such a table add them NOT VALID and VALIDATE later.)
ALTER TABLE events
  ADD COLUMN page_kind text CHECK (page_kind IN ('ADMINISTRATIVE', 'INFORMATIONAL', 'PRODUCT')),
  ADD COLUMN page_duration_s double precision CHECK (page_duration_s >= 0),
  ADD COLUMN page_value double precision CHECK (page_value >= 0),
  ADD COLUMN page_bounce_rate double precision CHECK (page_bounce_rate BETWEEN 0 AND 1),
  ADD COLUMN page_exit_rate double precision CHECK (page_exit_rate BETWEEN 0 AND 1),
  ADD CONSTRAINT events_page_complete CHECK ((page_kind IS NULL) = (page_duration_s IS NULL));
CREATE INDEX IF NOT EXISTS events_session_pages_idx ON events (session_id, seq)
  WHERE page_kind IS NOT NULL;

ALTER TABLE sessions
  ADD COLUMN visit jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN intent_aggregate jsonb;

ALTER TABLE forecasts ADD COLUMN purchase_intent jsonb;
