-- Core catalogue, shoppers and behaviour. Runs unchanged on PostgreSQL (with pgvector) and
-- on PGlite (with its vector extension). {{EMBEDDING_DIM}} is replaced by the migration
-- runner with config.embeddingDim (the model's `dim`, models/<name>/model.json).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE categories (
  id          text PRIMARY KEY,
  dataset     text NOT NULL,
  name        text NOT NULL,
  parent_id   text REFERENCES categories (id),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX categories_parent_idx ON categories (parent_id);

CREATE TABLE items (
  id                      text PRIMARY KEY,
  dataset                 text NOT NULL,
  title                   text,
  description             text,
  brand                   text,
  price                   numeric(12, 2) CHECK (price >= 0),
  in_stock                boolean NOT NULL DEFAULT true,
  attributes              jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  embedding               vector({{EMBEDDING_DIM}}),
  embedding_source        text CHECK (embedding_source IN ('model', 'content')),
  embedding_model_version text
);
CREATE INDEX items_brand_idx ON items (brand);
CREATE INDEX items_price_idx ON items (price);
-- Inner product: the encoder's user state ranks items by <user_state, item_embedding>.
CREATE INDEX items_embedding_hnsw_idx ON items USING hnsw (embedding vector_ip_ops);

CREATE TABLE item_categories (
  item_id     text NOT NULL REFERENCES items (id) ON DELETE CASCADE,
  category_id text NOT NULL REFERENCES categories (id),
  position    int NOT NULL DEFAULT 0,
  PRIMARY KEY (item_id, category_id)
);
CREATE INDEX item_categories_category_idx ON item_categories (category_id);

CREATE TABLE users (
  id          text PRIMARY KEY,
  dataset     text NOT NULL,
  profile     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
  id             text PRIMARY KEY,
  dataset        text NOT NULL,
  user_id        text REFERENCES users (id),
  started_at     timestamptz,
  last_event_at  timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_idx ON sessions (user_id, id);

-- Append-only behaviour log. `seq` orders a shopper's history (per user; per session for
-- anonymous sessions) and is the only order some sources have (Amazon: no timestamps).
CREATE TABLE events (
  id                bigserial PRIMARY KEY,
  client_event_id   text NOT NULL UNIQUE,
  dataset           text NOT NULL,
  user_id           text REFERENCES users (id),
  session_id        text REFERENCES sessions (id),
  type              text NOT NULL CHECK (type IN ('VIEW', 'CART', 'PURCHASE', 'SEARCH')),
  item_id           text REFERENCES items (id),
  query             text,
  occurred_at       timestamptz,
  occurred_on       date,
  session_offset_ms bigint,
  seq               int NOT NULL DEFAULT 0,
  received_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (user_id IS NOT NULL OR session_id IS NOT NULL)
);
CREATE INDEX events_user_recent_idx ON events (user_id, seq DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX events_session_idx ON events (session_id, seq, id) WHERE session_id IS NOT NULL;
CREATE INDEX events_item_idx ON events (item_id);
