-- Interest evolution and cold start. The day of an event is its `occurred_on` (sources that give
-- only the day, DIGINETICA) or else the UTC day of `occurred_at`; trends read a dataset's events
-- of a range of days through this index instead of scanning the whole log. `timezone('UTC', …)`
-- makes the expression immutable, as an index needs. IF NOT EXISTS: on a large live events table
-- an operator can build it first with CREATE INDEX CONCURRENTLY (same name and definition), so
-- that the migration does not hold a write lock on events while it builds (docs/interests.md).
CREATE INDEX IF NOT EXISTS events_dataset_day_idx
  ON events (dataset, (coalesce(occurred_on, (timezone('UTC', occurred_at))::date)));

-- Segment popularity for shoppers without history matches users by profile attributes.
CREATE INDEX IF NOT EXISTS users_profile_idx ON users USING gin (profile jsonb_path_ops);

-- Which path served a forecast (the model, or which fallback for a shopper it cannot read).
ALTER TABLE forecasts ADD COLUMN strategy text;
