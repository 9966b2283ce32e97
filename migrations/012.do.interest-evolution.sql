-- Interest evolution and cold start. The day of an event is its `occurred_on` (sources that give
-- only the day, DIGINETICA) or else the UTC day of `occurred_at`; trends read a dataset's events
-- of a range of days through this index instead of scanning the whole log. `timezone('UTC', …)`
-- makes the expression immutable, as an index needs.
CREATE INDEX events_dataset_day_idx
  ON events (dataset, (coalesce(occurred_on, (timezone('UTC', occurred_at))::date)));

-- Segment popularity for shoppers without history matches users by profile attributes.
CREATE INDEX users_profile_idx ON users USING gin (profile jsonb_path_ops);

-- Which path served a forecast (the model, or which fallback for a shopper it cannot read).
ALTER TABLE forecasts ADD COLUMN strategy text;
