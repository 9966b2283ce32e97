// API keys: `fsk_<id>_<secret>`, the id public (it names the key in logs and in `keys list`),
// the secret 32 random bytes in base64url of which only the SHA-256 is stored
// (migrations/015.do.api-keys.sql). Verification looks the key up by id and compares hashes in
// constant time. KeyStore caches lookups for a few seconds, so that a request costs no SQL
// statement; a revocation takes effect within that time (API_KEY_CACHE_MS).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  activeApiKeyRow,
  anyActiveApiKey,
  apiKeyRows,
  insertApiKey,
  revokeApiKeyRow,
  touchApiKey,
  type ApiKeyRow,
} from '../db/api-keys.js';
import type { Queryable } from '../db/client.js';
import { isScope, SCOPES, type Scope } from './scopes.js';
import { badUserInput } from '../errors.js';

export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  ratePerMinute: number | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const TOKEN = /^fsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

function toKey(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes.filter(isScope),
    ratePerMinute: r.rate_per_minute,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export interface NewApiKey {
  name: string;
  scopes: readonly string[];
  ratePerMinute?: number | null;
}

/** Checks a new key's fields; the returned scopes are deduplicated, in SCOPES order. */
function checkNewKey(input: NewApiKey): Scope[] {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) {
    throw badUserInput('input.name', 'must be 1 to 100 characters');
  }
  if (/\p{Cc}/u.test(name)) throw badUserInput('input.name', 'must not contain control characters');
  const unknown = input.scopes.filter((s) => !isScope(s));
  if (unknown.length > 0) {
    throw badUserInput(
      'input.scopes',
      `unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}; scopes are ${SCOPES.join(', ')}`,
    );
  }
  if (input.scopes.length === 0) {
    throw badUserInput('input.scopes', `at least one of ${SCOPES.join(', ')}`);
  }
  const rate = input.ratePerMinute;
  if (
    rate !== undefined &&
    rate !== null &&
    !(Number.isInteger(rate) && rate >= 1 && rate <= 1e6)
  ) {
    throw badUserInput('input.ratePerMinute', 'must be an integer from 1 to 1000000');
  }
  return SCOPES.filter((s) => input.scopes.includes(s));
}

/** Creates a key; `token` is the only copy of its secret (show it once). */
export async function createApiKey(
  db: Queryable,
  input: NewApiKey,
): Promise<{ key: ApiKey; token: string }> {
  const scopes = checkNewKey(input);
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row = await insertApiKey(db, {
    id,
    name: input.name.trim(),
    secretSha256: sha256(secret),
    scopes,
    ratePerMinute: input.ratePerMinute ?? null,
  });
  return { key: toKey(row), token: `fsk_${id}_${secret}` };
}

export async function listApiKeys(db: Queryable): Promise<ApiKey[]> {
  return (await apiKeyRows(db)).map(toKey);
}

/** Revokes key `id` (idempotent: an already revoked key keeps its first revocation time);
 * null when there is no such key. */
export async function revokeApiKey(db: Queryable, id: string): Promise<ApiKey | null> {
  const row = await revokeApiKeyRow(db, id);
  return row ? toKey(row) : null;
}

/** The key a token names, when its secret matches and it is not revoked; null otherwise. */
export async function verifyToken(db: Queryable, token: string): Promise<ApiKey | null> {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const row = await activeApiKeyRow(db, m[1]!);
  if (!row) return null;
  const stored = Buffer.from(row.secret_sha256);
  return stored.length === 32 && timingSafeEqual(stored, sha256(m[2]!)) ? toKey(row) : null;
}

/** Whether any key is active: in AUTH=auto, the gateway requires keys once one exists. */
export async function anyActiveKey(db: Queryable): Promise<boolean> {
  return anyActiveApiKey(db);
}

/**
 * Cached verification for the request path: a token's outcome (key or refusal) and whether
 * any key exists are each read at most once per `ttlMs`. Tokens are cached by their SHA-256,
 * never as given. `last_used_at` is written at most once per key per minute, after the answer.
 */
export class KeyStore {
  private readonly tokens = new Map<string, { key: ApiKey | null; at: number }>();
  private active: { value: boolean; at: number } | null = null;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: Queryable,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: string): Promise<ApiKey | null> {
    const cacheKey = sha256(token).toString('base64');
    const hit = this.tokens.get(cacheKey);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.key;
    const key = await verifyToken(this.db, token);
    if (this.ttlMs > 0) {
      // Bounded: a flood of distinct bad tokens must not grow the map without limit.
      if (this.tokens.size >= 10_000) this.tokens.clear();
      this.tokens.set(cacheKey, { key, at: this.now() });
    }
    if (key) this.touch(key.id);
    return key;
  }

  async anyActive(): Promise<boolean> {
    if (this.active && this.now() - this.active.at < this.ttlMs) return this.active.value;
    const value = await anyActiveKey(this.db);
    this.active = { value, at: this.now() };
    return value;
  }

  /** Forgets cached outcomes (after a key was created or revoked through this process). */
  invalidate(): void {
    this.tokens.clear();
    this.active = null;
  }

  private touch(id: string): void {
    const t = this.now();
    if (t - (this.touched.get(id) ?? -Infinity) < 60_000) return;
    this.touched.set(id, t);
    // best effort: retried on the next request
    touchApiKey(this.db, id).catch(() => this.touched.delete(id));
  }
}
