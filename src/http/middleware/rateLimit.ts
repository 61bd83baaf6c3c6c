import type { NextFunction, Request, Response } from 'express';
import { RateLimitedError } from '../../domain/errors.js';
import type { Actor } from '../../services/creditLineService.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets per caller (API key fingerprint, or client IP when unauthenticated) and route group:
 * `perMinute` tokens refill continuously, so a steady client is never locked out for a whole window.
 * Buckets live in this process: behind a load balancer each instance enforces its own share.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  take(key: string, perMinute: number): { allowed: boolean; remaining: number; retryAfterSeconds: number; resetSeconds: number } {
    const now = this.now();
    const refillPerMs = perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: perMinute, updatedAt: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.updatedAt) * refillPerMs);
    bucket.updatedAt = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    this.sweep(now);
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000)),
      resetSeconds: Math.ceil((perMinute - bucket.tokens) / refillPerMs / 1000),
    };
  }

  /** Full buckets carry no information; dropping them once a minute bounds memory. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (now - bucket.updatedAt > 60_000) this.buckets.delete(key);
  }
}

export function rateLimit(limiter: TokenBucketLimiter, group: string, perMinute: number, identify: (req: Request) => Actor | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    const actor = identify(req);
    if (actor) res.locals.actor = actor;
    const caller = actor ? `key:${actor.id}` : `ip:${req.ip ?? 'unknown'}`;
    const result = limiter.take(`${group}|${caller}`, perMinute);
    res.setHeader('X-RateLimit-Limit', String(perMinute));
    res.setHeader('X-RateLimit-Remaining', String(result.remaining));
    res.setHeader('X-RateLimit-Reset', String(result.resetSeconds));
    if (!result.allowed) {
      res.setHeader('Retry-After', String(result.retryAfterSeconds));
      throw new RateLimitedError('rate_limited', `Too many requests; retry after ${result.retryAfterSeconds} s`, {
        limitPerMinute: perMinute,
        retryAfterSeconds: result.retryAfterSeconds,
      });
    }
    next();
  };
}
