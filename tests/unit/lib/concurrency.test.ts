import { describe, expect, it } from 'vitest';
import { mapConcurrently } from '../../../src/lib/concurrency.js';

describe('mapConcurrently', () => {
  it('keeps the order of the results and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const delays = [30, 5, 20, 1, 15, 10, 2, 25];
    const results = await mapConcurrently(delays, 3, async (delay) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delay));
      inFlight--;
      return delay * 2;
    });
    expect(results).toEqual(delays.map((d) => d * 2));
    expect(most).toBe(3);
  });

  it('rejects with the first failure', async () => {
    await expect(mapConcurrently([1, 2, 3], 2, async (n) => (n === 2 ? Promise.reject(new Error('no 2')) : n))).rejects.toThrow('no 2');
  });

  it('maps nothing to nothing', async () => {
    expect(await mapConcurrently([], 4, async () => 1)).toEqual([]);
  });
});
