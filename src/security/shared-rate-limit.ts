// Rate limits held by the database (RATE_LIMIT_STORE=database): the same token buckets as
// RateLimiter, in the rate_buckets table (src/db/rate-buckets.ts), so that every gateway
// process and instance on one database draws from one bucket per key. Each request costs one
// statement on the primary (bench/shared-limits.ts measures it); buckets idle for a minute are
// full again and are deleted, at most once a minute per process.
import type { Queryable } from '../db/client.js';
import { deleteIdleBuckets, takeTokens } from '../db/rate-buckets.js';
import { capacityOf, refusal, type Admission, type Limiter } from './rate-limit.js';

/** Every bucket refills within a minute (capacity ≤ rate per minute). */
const IDLE_S = 60;

export class SharedRateLimiter implements Limiter {
  private prunedAt: number;

  constructor(
    private readonly db: Queryable,
    private readonly burst: number,
    /** Called when deleting idle buckets fails (the next take tries again). */
    private readonly onPruneError: (err: unknown) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.prunedAt = now();
  }

  async take(key: string, perMinute: number, cost = 1): Promise<Admission> {
    const capacity = capacityOf(this.burst, perMinute);
    const taken = await takeTokens(this.db, key, capacity, perMinute / 60, cost);
    this.prune();
    if (taken.admitted) {
      return { allowed: true, retryAfterS: 0, remaining: Math.floor(taken.tokens) };
    }
    return refusal(taken.tokens, perMinute, capacity, cost);
  }

  private prune(): void {
    const t = this.now();
    if (t - this.prunedAt < IDLE_S * 1000) return;
    this.prunedAt = t;
    deleteIdleBuckets(this.db, IDLE_S).catch((err: unknown) => {
      this.prunedAt = 0;
      this.onPruneError(err);
    });
  }
}
