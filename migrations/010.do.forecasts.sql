-- Model versions and served forecasts: every forecast is traceable to the model that made it.
CREATE TABLE model_versions (
  version         text PRIMARY KEY,
  dataset         text NOT NULL,
  dim             int NOT NULL,
  manifest        jsonb NOT NULL,
  first_loaded_at timestamptz NOT NULL DEFAULT now(),
  embeddings_at   timestamptz
);

CREATE TABLE forecasts (
  id                   uuid PRIMARY KEY,
  mode                 text NOT NULL CHECK (mode IN ('MODEL', 'POPULARITY')),
  model_version        text NOT NULL,
  user_id              text,
  session_id           text,
  based_on_events      int NOT NULL,
  -- [{"itemId": …, "rank": …, "score": …}] in served order
  items                jsonb NOT NULL,
  -- [{"categoryId": …, "probability": …}]
  categories           jsonb NOT NULL,
  purchase_probability real,
  created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forecasts_user_idx ON forecasts (user_id, created_at DESC) WHERE user_id IS NOT NULL;
