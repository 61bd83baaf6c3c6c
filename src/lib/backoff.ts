/**
 * Exponential backoff with jitter across failed runs of a periodic worker: after n consecutive failures the
 * next run waits base x 2^(n-1), capped, randomised to 50-100% so that instances do not retry in lockstep.
 */
export class Backoff {
  private failures = 0;
  private resumeAt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  ready(now: number): boolean {
    return now >= this.resumeAt;
  }

  failed(now: number): number {
    this.failures++;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1)) * (0.5 + this.random() / 2);
    this.resumeAt = now + delay;
    return delay;
  }

  succeeded(): void {
    this.failures = 0;
    this.resumeAt = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
