/**
 * Switchable misbehaviour, so a client's retry, timeout and gap handling can be tested against the same
 * wire formats it meets in production. Faults apply to the RPC and/or Horizon endpoints, never to the
 * control API (a test must always be able to switch them off again).
 */
export type FaultTarget = 'rpc' | 'horizon';

export interface FaultSettings {
  /** Hold every request this long before answering it (0 = off). A client with a shorter timeout gives up. */
  timeoutMs: number;
  /** Answer every request with HTTP 503. */
  force5xx: boolean;
  /** Answer this fraction of requests (0..1, random) with HTTP 503. */
  errorRate: number;
  /** Answer the next N requests with HTTP 503, then recover (deterministic flakiness). */
  fail5xxCount: number;
  /** getEvents returns no events and a cursor that does not move (resending it loses nothing). */
  emptyPages: boolean;
  /** Report the latest ledger this many ledgers behind the real tip (a lagging node); newer data is hidden. */
  lagLedgers: number;
  /** sendTransaction answers TRY_AGAIN_LATER (queue full) without queueing. */
  tryAgainLater: boolean;
  /**
   * Surge pricing: sendTransaction refuses (ERROR txInsufficientFee) an envelope whose inclusion fee — its fee
   * minus the Soroban resource fee, for a fee bump the outer fee minus the inner resource fee — is below this
   * many stroops, and getFeeStats reports it. 0 = off (the base fee of 100 per operation still applies).
   */
  minInclusionFee: number;
  /** Which endpoints the HTTP-level faults (timeout, 5xx) hit. */
  scope: 'all' | FaultTarget;
}

export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({
  timeoutMs: 0,
  force5xx: false,
  errorRate: 0,
  fail5xxCount: 0,
  emptyPages: false,
  lagLedgers: 0,
  tryAgainLater: false,
  minInclusionFee: 0,
  scope: 'all',
});

export class Faults {
  private settings: FaultSettings = { ...NO_FAULTS };

  /** @param onReset performs the node reset (history before the latest ledger is dropped). */
  constructor(private readonly onReset: () => void) {}

  get current(): Readonly<FaultSettings> {
    return { ...this.settings };
  }

  // Each switch is also a plain property, so tests can write `devnet.faults.emptyPages = true`.
  get timeoutMs(): number {
    return this.settings.timeoutMs;
  }
  set timeoutMs(value: number) {
    this.set({ timeoutMs: value });
  }

  get force5xx(): boolean {
    return this.settings.force5xx;
  }
  set force5xx(value: boolean) {
    this.set({ force5xx: value });
  }

  get errorRate(): number {
    return this.settings.errorRate;
  }
  set errorRate(value: number) {
    this.set({ errorRate: value });
  }

  get fail5xxCount(): number {
    return this.settings.fail5xxCount;
  }
  set fail5xxCount(value: number) {
    this.set({ fail5xxCount: value });
  }

  get emptyPages(): boolean {
    return this.settings.emptyPages;
  }
  set emptyPages(value: boolean) {
    this.set({ emptyPages: value });
  }

  get lagLedgers(): number {
    return this.settings.lagLedgers;
  }
  set lagLedgers(value: number) {
    this.set({ lagLedgers: value });
  }

  get tryAgainLater(): boolean {
    return this.settings.tryAgainLater;
  }
  set tryAgainLater(value: boolean) {
    this.set({ tryAgainLater: value });
  }

  get minInclusionFee(): number {
    return this.settings.minInclusionFee;
  }
  set minInclusionFee(value: number) {
    this.set({ minInclusionFee: value });
  }

  get scope(): FaultSettings['scope'] {
    return this.settings.scope;
  }
  set scope(value: FaultSettings['scope']) {
    this.set({ scope: value });
  }

  set(patch: Partial<FaultSettings>): Readonly<FaultSettings> {
    const known = Object.keys(NO_FAULTS);
    const unknown = Object.keys(patch).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new RangeError(`unknown fault setting(s): ${unknown.join(', ')}`);
    const next = { ...this.settings, ...patch };
    if (!Number.isFinite(next.timeoutMs) || next.timeoutMs < 0) throw new RangeError('timeoutMs must be >= 0');
    if (!(next.errorRate >= 0 && next.errorRate <= 1)) throw new RangeError('errorRate must be within 0..1');
    if (!Number.isInteger(next.fail5xxCount) || next.fail5xxCount < 0) throw new RangeError('fail5xxCount must be a whole number');
    if (!Number.isInteger(next.lagLedgers) || next.lagLedgers < 0) throw new RangeError('lagLedgers must be a whole number');
    if (!Number.isSafeInteger(next.minInclusionFee) || next.minInclusionFee < 0) {
      throw new RangeError('minInclusionFee must be a whole number of stroops');
    }
    for (const flag of ['force5xx', 'emptyPages', 'tryAgainLater'] as const) {
      if (typeof next[flag] !== 'boolean') throw new RangeError(`${flag} must be a boolean`);
    }
    if (!['all', 'rpc', 'horizon'].includes(next.scope)) throw new RangeError("scope must be 'all', 'rpc' or 'horizon'");
    this.settings = next;
    return this.current;
  }

  /** Switches every fault off. */
  clear(): void {
    this.settings = { ...NO_FAULTS };
  }

  /** Node reset: forget history before now; oldestLedger jumps to latestLedger. */
  reset(): void {
    this.onReset();
  }

  applies(target: FaultTarget): boolean {
    return this.settings.scope === 'all' || this.settings.scope === target;
  }

  /** Decides (and counts) whether this request gets a 503. */
  shouldFail(target: FaultTarget): boolean {
    if (!this.applies(target)) return false;
    if (this.settings.force5xx) return true;
    if (this.settings.fail5xxCount > 0) {
      this.settings.fail5xxCount -= 1;
      return true;
    }
    return this.settings.errorRate > 0 && Math.random() < this.settings.errorRate;
  }

  delayFor(target: FaultTarget): number {
    return this.applies(target) ? this.settings.timeoutMs : 0;
  }
}
