import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter } from '../../../src/http/middleware/rateLimit.js';

describe('token bucket', () => {
  it('allows a burst of the per-minute limit, then refuses with a retry hint, then refills continuously', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter(() => now);
    for (let i = 0; i < 60; i++) expect(limiter.take('k', 60).allowed).toBe(true);
    const refused = limiter.take('k', 60);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    now += 1_000;
    expect(limiter.take('k', 60).allowed).toBe(true);
    expect(limiter.take('k', 60).allowed).toBe(false);
  });

  it('keeps callers apart', () => {
    const limiter = new TokenBucketLimiter(() => 0);
    expect(limiter.take('a', 1).allowed).toBe(true);
    expect(limiter.take('a', 1).allowed).toBe(false);
    expect(limiter.take('b', 1).allowed).toBe(true);
  });
});
