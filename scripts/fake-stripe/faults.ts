/**
 * Switchable faults for retry and timeout tests: a fixed latency before every API response, and a queue
 * of failures served to the next requests (before auth and idempotency, like a failing load balancer, so
 * nothing is executed or saved). stripe-node retries 5xx and 409 (not 429) up to `maxNetworkRetries`,
 * re-sending the same Idempotency-Key.
 */
export class Faults {
  /** Delay before every /v1 response, in ms. */
  latencyMs = 0;
  private readonly queue: number[] = [];

  /** The next `count` API requests fail with `status` (500, 503, 429, …). */
  failNext(count = 1, status = 500): void {
    for (let i = 0; i < count; i++) this.queue.push(status);
  }

  /** The status to fail this request with, if one is queued. */
  take(): number | undefined {
    return this.queue.shift();
  }

  get pending(): number {
    return this.queue.length;
  }

  clear(): void {
    this.latencyMs = 0;
    this.queue.length = 0;
  }
}
