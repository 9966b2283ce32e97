-- A second set of item-embedding columns (embedding slot b, src/retrieval/slots.ts): a model
-- rollout writes the candidate's vectors into the slot the serving model does not read, while
-- the serving model goes on answering from its own, then switches in memory (docs/rollout.md).
-- Same dimension and index as slot a (001): {{EMBEDDING_DIM}} is config.embeddingDim; the
-- gateway checks at start-up that both columns have the model's dimension.
ALTER TABLE items
  ADD COLUMN embedding_b               vector({{EMBEDDING_DIM}}),
  ADD COLUMN embedding_b_source        text CHECK (embedding_b_source IN ('model', 'content')),
  ADD COLUMN embedding_b_model_version text;
-- Inner product, as items_embedding_hnsw_idx. Built empty: NULLs are not indexed.
CREATE INDEX items_embedding_b_hnsw_idx ON items USING hnsw (embedding_b vector_ip_ops);

-- Maintenance left for the next start-up: a rollout on PGlite, whose one connection a VACUUM of
-- the whole catalogue would hold for tens of seconds (the HNSW indexes' repair), records
-- 'vacuum items' here instead of vacuuming, and the next start vacuums before it serves.
CREATE TABLE pending_maintenance (
  task  text PRIMARY KEY,
  since timestamptz NOT NULL DEFAULT now()
);
