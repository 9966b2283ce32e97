// The api_keys table (migrations/015.do.api-keys.sql): rows of keys, of which only the SHA-256
// of the secret is stored. Token format, verification and caching: src/security/keys.ts.
import type { Queryable } from './client.js';

export interface ApiKeyRow {
  id: string;
  name: string;
  scopes: string[];
  rate_per_minute: number | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, name, scopes, rate_per_minute, created_at, last_used_at, revoked_at';

export async function insertApiKey(
  db: Queryable,
  key: {
    id: string;
    name: string;
    secretSha256: Buffer;
    scopes: readonly string[];
    ratePerMinute: number | null;
  },
): Promise<ApiKeyRow> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, name, secret_sha256, scopes, rate_per_minute)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [key.id, key.name, key.secretSha256, key.scopes, key.ratePerMinute],
  );
  return rows[0]!;
}

export async function apiKeyRows(db: Queryable): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`,
  );
  return rows;
}

/** Revokes key `id`, keeping an earlier revocation time; null when there is no such key. */
export async function revokeApiKeyRow(db: Queryable, id: string): Promise<ApiKeyRow | null> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
     RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0] ?? null;
}

/** An active key's row with its secret's SHA-256; null when unknown or revoked. */
export async function activeApiKeyRow(
  db: Queryable,
  id: string,
): Promise<(ApiKeyRow & { secret_sha256: Buffer }) | null> {
  const { rows } = await db.query<ApiKeyRow & { secret_sha256: Buffer }>(
    `SELECT ${COLUMNS}, secret_sha256 FROM api_keys WHERE id = $1 AND revoked_at IS NULL`,
    [id],
  );
  return rows[0] ?? null;
}

export async function anyActiveApiKey(db: Queryable): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1');
  return rows.length > 0;
}

export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [id]);
}
