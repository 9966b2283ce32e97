-- What the gateway otherwise sends per connection (src/retrieval/candidates.ts,
-- retrievalSettings), set on the database so that it holds behind PgBouncer too.
CREATE EXTENSION IF NOT EXISTS vector;
ALTER DATABASE foresight SET hnsw.ef_search = 64; -- RETRIEVAL_EF_SEARCH (default 64)
ALTER DATABASE foresight SET hnsw.iterative_scan = relaxed_order;
ALTER DATABASE foresight SET jit = off;
