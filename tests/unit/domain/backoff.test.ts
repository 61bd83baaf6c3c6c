import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { parseDurations, retryDelay } from '../../../src/domain/backoff.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

describe('parseDurations', () => {
  it('parses every unit', () => {
    expect(parseDurations('500ms,5s,5m,2h,1d')).toEqual([500, 5 * SECOND, 5 * MINUTE, 2 * HOUR, 24 * HOUR]);
  });

  it('parses the default retry schedule', () => {
    expect(parseDurations('5s,5m,30m,2h,5h,10h,10h')).toEqual([5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]);
  });

  it('tolerates spaces around parts and units, and keeps order and repeats', () => {
    expect(parseDurations(' 50ms , 100 ms,10ms,10ms ')).toEqual([50, 100, 10, 10]);
    expect(parseDurations('0ms')).toEqual([0]);
  });

  it.each(['', '5', '5x', '1.5s', '-5s', '5s,', ',5s', '5 s 5', 'five seconds', '5S', '5sec'])('refuses %j, naming the bad part', (text) => {
    expect(() => parseDurations(text)).toThrow(/is not a duration such as 500ms, 5s, 5m, 2h or 1d/);
  });

  it('quotes the offending part', () => {
    expect(() => parseDurations('5s, 7 parsecs ,1h')).toThrow('"7 parsecs" is not a duration');
  });
});

describe('retryDelay', () => {
  const schedule = [5 * SECOND, 5 * MINUTE, 30 * MINUTE];

  it('is 1-based: retry n waits schedule[n-1]; none after the schedule', () => {
    const mid = () => 0.5;
    expect(retryDelay(schedule, 1, mid)).toBe(5 * SECOND);
    expect(retryDelay(schedule, 2, mid)).toBe(5 * MINUTE);
    expect(retryDelay(schedule, 3, mid)).toBe(30 * MINUTE);
    expect(retryDelay(schedule, 4, mid)).toBeUndefined();
    expect(retryDelay(schedule, 0, mid)).toBeUndefined();
    expect(retryDelay([], 1, mid)).toBeUndefined();
  });

  it('jitters by at most 10% either way', () => {
    expect(retryDelay(schedule, 1, () => 0)).toBe(4_500);
    expect(retryDelay(schedule, 1, () => 0.999_999_999)).toBe(5_500);
    expect(retryDelay(schedule, 2, () => 0)).toBe(270 * SECOND);
    expect(retryDelay(schedule, 2, () => 0.999_999_999)).toBe(330 * SECOND);
  });

  it('stays within [0.9, 1.1] x base for any random value and schedule entry (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 * 24 * HOUR }), { minLength: 1, maxLength: 10 }), fc.nat(), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (list, n, r) => {
        const retry = (n % list.length) + 1;
        const base = list[retry - 1]!;
        const delay = retryDelay(list, retry, () => r)!;
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.9));
        expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.1));
      }),
    );
  });

  it('spreads retries out with Math.random (endpoints that failed together do not retry together)', () => {
    const delays = new Set(Array.from({ length: 200 }, () => retryDelay([HOUR], 1)!));
    expect(delays.size).toBeGreaterThan(100);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(0.9 * HOUR);
      expect(delay).toBeLessThanOrEqual(1.1 * HOUR);
    }
  });
});

describe('the default webhook retry schedule', () => {
  const config = loadConfig({ NODE_ENV: 'test', RISK_PROVIDER: 'static' });

  it('is ~5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts in all', () => {
    expect(config.webhooks.retrySchedule).toEqual([5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]);
    const attempts = 1 + config.webhooks.retrySchedule.length;
    expect(attempts).toBe(8);
  });

  it('gives up about 27.6 h (+-10%) after the first attempt, before the 5-day disable', () => {
    const schedule = config.webhooks.retrySchedule;
    const sum = (random: () => number) => schedule.reduce((total, _base, i) => total + retryDelay(schedule, i + 1, random)!, 0);
    const nominal = sum(() => 0.5);
    expect(nominal).toBe(5 * SECOND + 5 * MINUTE + 30 * MINUTE + 2 * HOUR + 5 * HOUR + 10 * HOUR + 10 * HOUR);
    expect(sum(() => 0)).toBe(Math.round(nominal * 0.9));
    expect(sum(() => 0.999_999_999)).toBeLessThanOrEqual(Math.round(nominal * 1.1) + schedule.length);
    expect(sum(() => 0.999_999_999)).toBeLessThan(config.webhooks.disableAfterMs);
    expect(config.webhooks.disableAfterMs).toBe(5 * 24 * HOUR);
  });

  it('can be compressed for tests and demos', () => {
    expect(loadConfig({ NODE_ENV: 'test', RISK_PROVIDER: 'static', WEBHOOK_RETRY_SCHEDULE: '10ms,10ms,10ms' }).webhooks.retrySchedule).toEqual([10, 10, 10]);
    expect(() => loadConfig({ NODE_ENV: 'test', WEBHOOK_RETRY_SCHEDULE: '10 minutes' })).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
  });
});
