-- Exploration and feedback. Every served forecast keeps its serving policy (key, ε, pool sizes,
-- seed) beside its items, whose JSON now also holds each slot's propensity and whether it was
-- explored: the impression log off-policy evaluation reads. Rows written before this migration
-- have no policy: they were served greedily (propensity 1 per slot).
ALTER TABLE forecasts ADD COLUMN policy jsonb;
CREATE INDEX IF NOT EXISTS forecasts_created_idx ON forecasts (created_at);

-- Feedback: an event that follows a forecast names it; the event's item is one the forecast
-- served. Nullable, so existing events and ordinary events are unchanged. No foreign key:
-- forecast rows are committed asynchronously (db/forecasts.ts) and may be pruned, events never.
ALTER TABLE events ADD COLUMN forecast_id uuid;
CREATE INDEX IF NOT EXISTS events_forecast_idx ON events (forecast_id, item_id)
  WHERE forecast_id IS NOT NULL;
