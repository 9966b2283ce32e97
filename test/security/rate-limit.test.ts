// Per-key rate limits: the token bucket (src/security/rate-limit.ts) with an injected clock, and
// over HTTP a key that sends past its burst gets 429 RATE_LIMITED with a Retry-After that, once
// waited, admits it again — while another key is not affected; failed authentication attempts
// are limited per client address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createApiKey } from '../../src/security/keys.js';
import { RateLimiter } from '../../src/security/rate-limit.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('RateLimiter', () => {
  const clock = () => {
    const c = { t: 1_000_000, now: () => c.t };
    return c;
  };

  it('admits a burst, then refuses with the whole seconds until a token is back', () => {
    const c = clock();
    const limiter = new RateLimiter(5, c.now);
    const taken = Array.from({ length: 5 }, () => limiter.take('k', 60));
    expect(taken.map((a) => [a.allowed, a.remaining])).toEqual([
      [true, 4],
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    expect(limiter.take('k', 60)).toEqual({ allowed: false, retryAfterS: 1, remaining: 0 });
    c.t += 500; // half a token back: still refused, and Retry-After rounds up
    expect(limiter.take('k', 60)).toMatchObject({ allowed: false, retryAfterS: 1 });
    c.t += 500;
    expect(limiter.take('k', 60)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('admits again exactly when the stated Retry-After has passed', () => {
    const c = clock();
    const limiter = new RateLimiter(5, c.now);
    for (let i = 0; i < 5; i++) limiter.take('slow', 6);
    const refused = limiter.take('slow', 6); // 6 per minute: a token every 10 s
    expect(refused).toEqual({ allowed: false, retryAfterS: 10, remaining: 0 });
    c.t += refused.retryAfterS * 1000 - 1;
    expect(limiter.take('slow', 6).allowed).toBe(false);
    c.t += 1;
    expect(limiter.take('slow', 6).allowed).toBe(true);
  });

  it('keeps one bucket per key, never holding more than the burst', () => {
    const c = clock();
    const limiter = new RateLimiter(3, c.now);
    for (let i = 0; i < 3; i++) expect(limiter.take('a', 60).allowed).toBe(true);
    expect(limiter.take('a', 60).allowed).toBe(false);
    expect(limiter.take('b', 60)).toMatchObject({ allowed: true, remaining: 2 });
    c.t += 10 * 60_000; // ten idle minutes refill 600 tokens' worth, capped at the burst
    const after = Array.from({ length: 4 }, () => limiter.take('a', 60).allowed);
    expect(after).toEqual([true, true, true, false]);
  });

  it('refuses a cost above the burst for good, naming the time it would take at the rate', () => {
    const limiter = new RateLimiter(5, clock().now);
    expect(limiter.take('k', 60, 6)).toEqual({ allowed: false, retryAfterS: 6, remaining: 5 });
    expect(limiter.take('k', 60, 5).allowed).toBe(true); // the refusal took nothing
  });

  it('drops idle keys whose rate is below the burst when full, keeping the busy ones', () => {
    const c = clock();
    const limiter = new RateLimiter(200, c.now, 3);
    // three keys at 10/min (capacity 10 < burst 200); the third is spent
    limiter.take('idle-1', 10);
    limiter.take('idle-2', 10);
    for (let i = 0; i < 10; i++) limiter.take('busy', 10);
    c.t += 6_000; // idle-1 and idle-2 refill to 10; busy holds 1 of 10
    limiter.take('new', 10); // full: the refilled idle buckets go, not the busy one
    expect(limiter.take('busy', 10, 2)).toMatchObject({ allowed: false });
  });
});

const ABOUT = JSON.stringify({ query: '{ about { version } }' });

describe.each(backends)('rate limits over HTTP on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  let limited: string;
  let other: string;
  let batched: string;

  const post = async (token: string | null, body = ABOUT) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== null && { authorization: `Bearer ${token}` }),
      },
      body,
    });
    return { res, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    const key = async (name: string) =>
      (await createApiKey(db, { name, scopes: ['read'], ratePerMinute: 60 })).token;
    [limited, other, batched] = [await key('limited'), await key('other'), await key('batch')];
    server = await startServer(db, {
      AUTH: 'required',
      API_KEY_CACHE_MS: '0',
      RATE_LIMIT_BURST: '5',
    });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('answers 429 RATE_LIMITED with Retry-After past the burst, and admits after it', async () => {
    for (let i = 0; i < 5; i++) {
      const { res, body } = await post(limited);
      expect(res.status, `request ${i + 1}`).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(res.headers.get('ratelimit-limit')).toBe('60');
      expect(res.headers.get('ratelimit-remaining')).toBe(String(4 - i));
    }
    const { res, body } = await post(limited);
    expect(res.status).toBe(429);
    const retryAfter = res.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    const seconds = Number(retryAfter);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    console.log(`rate-limit on ${backend.name}: Retry-After ${retryAfter} s at 60/min, burst 5`);
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions).toEqual({
      code: 'RATE_LIMITED',
      retryAfterMs: seconds * 1000,
      limitPerMinute: 60,
    });

    // Another key has its own bucket.
    const fresh = await post(other);
    expect(fresh.res.status).toBe(200);
    expect(fresh.res.headers.get('ratelimit-remaining')).toBe('4');

    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const again = await post(limited);
    expect(again.res.status).toBe(200);
    expect(again.body.errors).toBeUndefined();
  });

  it('takes one token per operation of a batch', async () => {
    const batch = JSON.stringify(Array.from({ length: 3 }, () => JSON.parse(ABOUT)));
    const first = await post(batched, batch);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('ratelimit-remaining')).toBe('2');
    const second = await post(batched, batch); // 3 operations, 2 tokens
    expect(second.res.status).toBe(429);
    expect(second.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect((await post(batched)).res.status).toBe(200); // a single operation still fits
  });

  it('limits failed authentication attempts per client address', async () => {
    const unknown = `fsk_000000000000_${'A'.repeat(43)}`;
    const codes: string[] = [];
    for (let i = 0; i < 31; i++) {
      const { res, body } = await post(i % 2 === 0 ? unknown : null);
      codes.push(`${res.status} ${body.errors[0].extensions.code}`);
    }
    expect(codes.slice(0, 30)).toEqual(Array(30).fill('401 UNAUTHENTICATED'));
    expect(codes[30]).toBe('429 RATE_LIMITED');
    // A valid key from the same address is not refused for others' failures.
    const valid = await post(other);
    expect(valid.body.errors).toBeUndefined();
    expect(valid.res.status).toBe(200);
  });
});
