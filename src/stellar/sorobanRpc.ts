import { rpc } from '@stellar/stellar-sdk';
import type { Logger } from '../lib/logger.js';

/**
 * A wrapper over the SDK's rpc.Server: every call has a deadline; transient failures (network errors,
 * timeouts, HTTP 5xx/429, JSON-RPC internal errors) are retried with exponential backoff and jitter within a
 * retry budget; anything else fails at once. Errors are our own types and carry only safe fields: never the
 * request (which may hold a signed envelope), never anything that looks like a secret seed.
 */
export abstract class RpcError extends Error {
  abstract readonly transient: boolean;
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(scrubSecrets(`${method}: ${message}`));
    this.name = new.target.name;
  }
}

export class RpcTimeoutError extends RpcError {
  readonly transient = true;
}

export class RpcUnavailableError extends RpcError {
  readonly transient = true;
  constructor(
    method: string,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(method, message);
  }
}

/** The node refused the request itself (bad parameters, ledger out of range): retrying will not help. */
export class RpcRequestError extends RpcError {
  readonly transient = false;
  constructor(
    method: string,
    message: string,
    readonly code?: number,
  ) {
    super(method, message);
  }
}

const SECRET_SEED = /S[A-Z2-7]{55}/g;
export const scrubSecrets = (text: string) => text.replace(SECRET_SEED, '[secret]');

export interface RetryPolicy {
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { timeoutMs: 10_000, retries: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

function classify(method: string, error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  const e = error as { code?: unknown; message?: unknown; response?: { status?: number }; name?: string };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  // JSON-RPC error objects thrown by the SDK: { code, message }.
  if (typeof e?.code === 'number') {
    if (e.code === -32603 || e.code === -32000) return new RpcUnavailableError(method, `node error ${e.code}: ${message}`);
    return new RpcRequestError(method, message, e.code);
  }
  const status = e?.response?.status;
  if (typeof status === 'number') {
    if (status >= 500 || status === 429) return new RpcUnavailableError(method, `HTTP ${status}`, status);
    return new RpcRequestError(method, `HTTP ${status}`);
  }
  if (e?.code === 'ECONNABORTED' || /timeout/i.test(message)) return new RpcTimeoutError(method, 'timed out');
  return new RpcUnavailableError(method, `unreachable (${typeof e?.code === 'string' ? e.code : (e?.name ?? 'error')})`);
}

export class SorobanRpcClient {
  readonly server: rpc.Server;

  constructor(
    readonly url: string,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly logger?: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.server = new rpc.Server(url, { allowHttp: url.startsWith('http://'), timeout: policy.timeoutMs });
  }

  getHealth = () => this.call('getHealth', () => this.server.getHealth());
  getLatestLedger = () => this.call('getLatestLedger', () => this.server.getLatestLedger());
  getNetwork = () => this.call('getNetwork', () => this.server.getNetwork());
  getEvents = (request: rpc.Api.GetEventsRequest) => this.call('getEvents', () => this.server.getEvents(request));
  getLedgerEntries = (...keys: Parameters<rpc.Server['getLedgerEntries']>) => this.call('getLedgerEntries', () => this.server.getLedgerEntries(...keys));
  simulateTransaction = (...args: Parameters<rpc.Server['simulateTransaction']>) => this.call('simulateTransaction', () => this.server.simulateTransaction(...args));
  getTransaction = (hash: string) => this.call('getTransaction', () => this.server.getTransaction(hash));
  /** Safe to retry: the same envelope resent is answered DUPLICATE (or PENDING again), never applied twice. */
  sendTransaction = (tx: Parameters<rpc.Server['sendTransaction']>[0]) => this.call('sendTransaction', () => this.server.sendTransaction(tx));
  getFeeStats = () => this.call('getFeeStats', () => this.server.getFeeStats());

  /** Runs one RPC method with a deadline per attempt and retries transient failures within the budget. */
  async call<T>(method: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await this.withDeadline(method, attempt);
      } catch (raw) {
        const error = classify(method, raw);
        if (!error.transient || n >= this.policy.retries) throw error;
        const delay = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** n) * (0.5 + this.random() / 2);
        this.logger?.warn({ method, attempt: n + 1, delayMs: Math.round(delay), error: error.message }, 'transient RPC failure, retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async withDeadline<T>(method: string, attempt: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        attempt(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RpcTimeoutError(method, `no answer within ${this.policy.timeoutMs} ms`)), this.policy.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
