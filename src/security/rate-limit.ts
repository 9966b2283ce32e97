// Per-key request rate limits: one token bucket per key (or per client address for requests
// without one), refilled continuously at the key's rate per minute up to `burst` tokens. A
// batched HTTP request takes one token per operation. RateLimiter keeps the buckets in this
// process: with GATEWAY_WORKERS = N, or N gateway instances, a key may send up to N times its
// rate; SharedRateLimiter (shared-rate-limit.ts, RATE_LIMIT_STORE=database) keeps them in the
// database for the whole deployment (docs/security.md).

export interface Admission {
  allowed: boolean;
  /** Whole seconds until the request would be admitted (the Retry-After header); 0 if allowed. */
  retryAfterS: number;
  /** Tokens left after this request (the RateLimit-Remaining header). */
  remaining: number;
}

/** Where buckets are kept: in this process, or shared through the database. */
export interface Limiter {
  /** Takes `cost` tokens from `key`'s bucket at `perMinute`, or says how long to wait. */
  take(key: string, perMinute: number, cost?: number): Admission | Promise<Admission>;
}

/** A bucket's capacity: a key may be limited below the burst, never above its rate per minute
 * (so that every bucket refills within a minute). */
export const capacityOf = (burst: number, perMinute: number) => Math.min(burst, perMinute);

/** The refusal of `cost` tokens from a bucket holding `tokens`, at `perMinute`. */
export function refusal(
  tokens: number,
  perMinute: number,
  capacity: number,
  cost: number,
): Admission {
  if (cost > capacity) {
    // Never admissible at this rate: waiting would not help.
    return {
      allowed: false,
      retryAfterS: Math.ceil(60 * (cost / perMinute)),
      remaining: Math.floor(tokens),
    };
  }
  return {
    allowed: false,
    retryAfterS: Math.max(1, Math.ceil(((cost - tokens) * 60) / perMinute)),
    remaining: Math.floor(tokens),
  };
}

interface Bucket {
  tokens: number;
  at: number;
  /** The key's own capacity and refill rate (a key may be limited below the burst). */
  capacity: number;
  perMs: number;
}

export class RateLimiter implements Limiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    /** Buckets kept at most; idle full ones are dropped first when it is reached. */
    private readonly maxBuckets = 100_000,
  ) {}

  /** Takes `cost` tokens from `key`'s bucket at `perMinute`, or says how long to wait. */
  take(key: string, perMinute: number, cost = 1): Admission {
    const t = this.now();
    const capacity = capacityOf(this.burst, perMinute);
    const perMs = perMinute / 60_000;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxBuckets) this.prune(t);
      b = { tokens: capacity, at: t, capacity, perMs };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs);
    b.at = t;
    b.capacity = capacity;
    b.perMs = perMs;
    if (cost <= capacity && b.tokens >= cost) {
      b.tokens -= cost;
      return { allowed: true, retryAfterS: 0, remaining: Math.floor(b.tokens) };
    }
    return refusal(b.tokens, perMinute, capacity, cost);
  }

  /** Drops the buckets that have refilled (idle keys: a new bucket would be the same). */
  private prune(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (t - b.at) * b.perMs >= b.capacity) this.buckets.delete(k);
    }
    if (this.buckets.size >= this.maxBuckets) this.buckets.clear();
  }
}
