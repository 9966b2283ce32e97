-- Token buckets shared by every gateway process and instance (RATE_LIMIT_STORE=database,
-- src/security/shared-rate-limit.ts): one row per API key (`key:<id>`) or client address with
-- failed authentications (`fail:<address>`). UNLOGGED: a bucket costs no WAL and is not
-- replicated; after a crash or a failover the buckets start full, which is the state of a key
-- idle for a minute (every bucket refills within 60 s, since its capacity is at most its rate
-- per minute), so rows idle longer than that are deleted.
CREATE UNLOGGED TABLE rate_buckets (
  key text PRIMARY KEY,
  tokens double precision NOT NULL,
  at timestamptz NOT NULL,
  -- whether the last request that touched the bucket was admitted (read back by RETURNING)
  admitted boolean NOT NULL
);
