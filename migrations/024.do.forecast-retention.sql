-- Forecast retention (src/db/retention.ts): served forecasts older than FORECAST_RETENTION_DAYS
-- are rolled up here, per UTC day, model version and serving policy, with the feedback linked
-- to them, and then deleted; outcomes (GraphQL forecastOutcomes, /metrics) add these rows to
-- the live ones. Feedback can only name a forecast still stored: the retention is the
-- attribution window.
CREATE TABLE forecast_outcomes_daily (
  day           date NOT NULL,
  model_version text NOT NULL,
  policy        text NOT NULL,
  forecasts     bigint NOT NULL,
  impressions   bigint NOT NULL,
  clicks        bigint NOT NULL,
  carts         bigint NOT NULL,
  purchases     bigint NOT NULL,
  PRIMARY KEY (day, model_version, policy)
);
