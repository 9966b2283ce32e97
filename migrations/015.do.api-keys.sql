-- API keys (src/security/keys.ts). A key is shown once, at creation, as
-- `fsk_<id>_<secret>`; only the SHA-256 of its secret is stored (the secret is 32 random bytes,
-- so a fast hash is enough: there is nothing to brute-force that a slow one would protect).
-- Revoking sets revoked_at; rows are kept so that logs naming a key id stay explainable.
CREATE TABLE api_keys (
  id              text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{12}$'),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  secret_sha256   bytea NOT NULL CHECK (length(secret_sha256) = 32),
  scopes          text[] NOT NULL CHECK (
    cardinality(scopes) > 0
    AND scopes <@ ARRAY['read', 'write:events', 'write:catalog', 'metrics', 'admin']
  ),
  -- Requests per minute this key may send (token bucket); NULL = the gateway's RATE_LIMIT.
  rate_per_minute integer CHECK (rate_per_minute > 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_used_at    timestamptz,
  revoked_at      timestamptz
);
CREATE INDEX api_keys_active_idx ON api_keys (id) WHERE revoked_at IS NULL;
