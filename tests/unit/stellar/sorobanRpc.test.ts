import { Keypair } from '@stellar/stellar-sdk';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/lib/logger.js';
import {
  RpcError,
  RpcRequestError,
  RpcTimeoutError,
  RpcUnavailableError,
  scrubSecrets,
  SorobanRpcClient,
  type RetryPolicy,
} from '../../../src/stellar/sorobanRpc.js';
import { LogCapture } from '../../support/app.js';

/**
 * SorobanRpcClient against a tiny JSON-RPC server on 127.0.0.1 whose answers each test scripts: deadlines,
 * the retry budget, which failures are retried, and that secret seeds never reach an error or a log line.
 */

type Answer = { status: number; body?: unknown; raw?: string } | { hang: true };

interface Seen {
  method: string;
  body: { jsonrpc: string; id: unknown; method: string; params?: unknown };
}

const HEALTH = { status: 'healthy', latestLedger: 100, oldestLedger: 1, ledgerRetentionWindow: 17_280 };

class ScriptedRpc {
  readonly seen: Seen[] = [];
  private script: Array<(req: Seen) => Answer> = [];
  private fallback: (req: Seen) => Answer = (req) => ({ status: 200, body: { jsonrpc: '2.0', id: req.body.id, result: HEALTH } });
  private readonly hanging = new Set<http.ServerResponse>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<ScriptedRpc> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const rpc = new ScriptedRpc(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Seen['body'];
        const seen = { method: body.method, body };
        rpc.seen.push(seen);
        const answer = (rpc.script.shift() ?? rpc.fallback)(seen);
        if ('hang' in answer) {
          rpc.hanging.add(res);
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.raw ?? JSON.stringify(answer.body ?? {}));
      });
    });
    return rpc;
  }

  /** The next answers, in order; after them the fallback (a healthy getHealth) applies. */
  next(...answers: Array<Answer | ((req: Seen) => Answer)>): this {
    this.script.push(...answers.map((a) => (typeof a === 'function' ? a : () => a)));
    return this;
  }

  always(answer: Answer | ((req: Seen) => Answer)): this {
    this.fallback = typeof answer === 'function' ? answer : () => answer;
    return this;
  }

  reset(): void {
    this.seen.length = 0;
    this.script = [];
    this.fallback = (req) => ({ status: 200, body: { jsonrpc: '2.0', id: req.body.id, result: HEALTH } });
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  async stop(): Promise<void> {
    this.reset();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const rpcError = (code: number, message: string) => (req: Seen): Answer => ({ status: 200, body: { jsonrpc: '2.0', id: req.body.id, error: { code, message } } });

/** A compressed policy: tiny backoff so retries are quick; every test states its own budget. */
const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({ timeoutMs: 2_000, retries: 0, baseDelayMs: 1, maxDelayMs: 5, ...overrides });

async function failure(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    return error as RpcError;
  }
  throw new Error('expected the call to fail');
}

describe('SorobanRpcClient', () => {
  let rpc: ScriptedRpc;
  beforeAll(async () => {
    rpc = await ScriptedRpc.start();
  });
  afterEach(() => rpc.reset());
  afterAll(() => rpc.stop());

  it('answers through the SDK over plain http on loopback', async () => {
    const client = new SorobanRpcClient(rpc.url, policy());
    await expect(client.getHealth()).resolves.toMatchObject({ status: 'healthy', latestLedger: 100, oldestLedger: 1 });
    expect(rpc.seen.map((s) => s.method)).toEqual(['getHealth']);
  });

  describe('deadlines', () => {
    it('a call that gets no answer within the per-call timeout is an RpcTimeoutError', async () => {
      rpc.always({ hang: true });
      const client = new SorobanRpcClient(rpc.url, policy({ timeoutMs: 150 }));
      const error = await failure(client.getLatestLedger());
      expect(error).toBeInstanceOf(RpcTimeoutError);
      expect(error.transient).toBe(true);
      expect(error.method).toBe('getLatestLedger');
      expect(rpc.seen).toHaveLength(1);
    });

    it('timeouts are transient: retried within the budget, then reported as a timeout', async () => {
      rpc.always({ hang: true });
      const client = new SorobanRpcClient(rpc.url, policy({ timeoutMs: 100, retries: 2 }));
      const error = await failure(client.getHealth());
      expect(error).toBeInstanceOf(RpcTimeoutError);
      expect(rpc.seen).toHaveLength(3);
    });

    it('a slow first attempt followed by a prompt one succeeds within the budget', async () => {
      rpc.next({ hang: true });
      const client = new SorobanRpcClient(rpc.url, policy({ timeoutMs: 150, retries: 1 }));
      await expect(client.getHealth()).resolves.toMatchObject({ latestLedger: 100 });
      expect(rpc.seen).toHaveLength(2);
    });
  });

  describe('the retry budget', () => {
    it('5xx answers are retried and the call succeeds when the node recovers within the budget', async () => {
      rpc.next({ status: 503, body: { error: 'down' } }, { status: 502, body: {} });
      const logs = new LogCapture();
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 2 }), createLogger('debug', logs));
      await expect(client.getHealth()).resolves.toMatchObject({ status: 'healthy' });
      expect(rpc.seen).toHaveLength(3);
      expect(logs.lines.filter((l) => l.includes('transient RPC failure, retrying'))).toHaveLength(2);
    });

    it('5xx past the budget is an RpcUnavailableError with the HTTP status, after exactly 1 + retries attempts', async () => {
      rpc.always({ status: 503, body: { error: 'down' } });
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 3 }));
      const error = await failure(client.getEvents({ filters: [], startLedger: 1, limit: 10 }));
      expect(error).toBeInstanceOf(RpcUnavailableError);
      expect((error as RpcUnavailableError).httpStatus).toBe(503);
      expect(error.transient).toBe(true);
      expect(rpc.seen).toHaveLength(4);
      expect(rpc.seen.every((s) => s.method === 'getEvents')).toBe(true);
    });

    it('with no retries a 5xx fails at once', async () => {
      rpc.always({ status: 500, body: {} });
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 0 }));
      expect(await failure(client.getHealth())).toBeInstanceOf(RpcUnavailableError);
      expect(rpc.seen).toHaveLength(1);
    });

    it('429 (rate limited) is transient too', async () => {
      rpc.next({ status: 429, body: {} });
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 1 }));
      await expect(client.getHealth()).resolves.toMatchObject({ status: 'healthy' });
      expect(rpc.seen).toHaveLength(2);
    });

    it('a JSON-RPC internal error (-32603) is transient and retried', async () => {
      rpc.next(rpcError(-32603, 'database is locked'));
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 1 }));
      await expect(client.getHealth()).resolves.toMatchObject({ status: 'healthy' });
      expect(rpc.seen).toHaveLength(2);
    });

    it('an unreachable node is an RpcUnavailableError', async () => {
      const closed = await ScriptedRpc.start();
      const url = closed.url;
      await closed.stop();
      const client = new SorobanRpcClient(url, policy({ retries: 1 }));
      const error = await failure(client.getHealth());
      expect(error).toBeInstanceOf(RpcUnavailableError);
      expect(error.message).toMatch(/unreachable/);
    });
  });

  describe('requests the node refuses are not retried', () => {
    it('JSON-RPC -32600 (e.g. startLedger out of range) is an RpcRequestError after one attempt, whatever the budget', async () => {
      rpc.always(rpcError(-32600, 'startLedger must be within the ledger range: 50 - 100'));
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 4 }));
      const error = await failure(client.getEvents({ filters: [], startLedger: 2, limit: 10 }));
      expect(error).toBeInstanceOf(RpcRequestError);
      expect((error as RpcRequestError).code).toBe(-32600);
      expect(error.transient).toBe(false);
      expect(error.message).toContain('startLedger must be within the ledger range');
      expect(rpc.seen).toHaveLength(1);
    });

    it('-32602 (invalid params) and HTTP 4xx likewise', async () => {
      rpc.next(rpcError(-32602, 'invalid params'), { status: 400, body: {} });
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 4 }));
      const first = await failure(client.getHealth());
      expect(first).toBeInstanceOf(RpcRequestError);
      expect((first as RpcRequestError).code).toBe(-32602);
      const second = await failure(client.getHealth());
      expect(second).toBeInstanceOf(RpcRequestError);
      expect(second.message).toContain('HTTP 400');
      expect(rpc.seen).toHaveLength(2);
    });
  });

  describe('secret keys never in messages or logs', () => {
    it('a node error quoting a secret seed is scrubbed from the thrown error (message, stack, string form, JSON)', async () => {
      const secret = Keypair.random().secret();
      rpc.always(rpcError(-32600, `transaction signed by ${secret} is malformed`));
      const logs = new LogCapture();
      const logger = createLogger('trace', logs);
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 2 }), logger);
      const error = await failure(client.getHealth());
      expect(error).toBeInstanceOf(RpcRequestError);
      expect(error.message).not.toContain(secret);
      expect(error.message).toContain('[secret]');
      expect(String(error)).not.toContain(secret);
      expect(error.stack ?? '').not.toContain(secret);
      expect(JSON.stringify(error)).not.toContain(secret);
      // and when the caller logs the error, as the workers do
      logger.error({ err: error }, 'rpc call failed');
      logger.flush();
      expect(logs.text).not.toContain(secret);
      expect(logs.text).toContain('[secret]');
    });

    it('a transient failure quoting a secret seed is logged on every retry without it, and thrown without it', async () => {
      const secret = Keypair.random().secret();
      rpc.always(rpcError(-32603, `internal error while simulating for ${secret}`));
      const logs = new LogCapture();
      const logger = createLogger('trace', logs);
      const client = new SorobanRpcClient(rpc.url, policy({ retries: 2 }), logger);
      const error = await failure(client.getHealth());
      expect(error).toBeInstanceOf(RpcUnavailableError);
      expect(rpc.seen).toHaveLength(3);
      logger.error({ err: error }, 'rpc call failed');
      logger.flush();
      expect(logs.lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
      expect(logs.text).not.toContain(secret);
      expect(error.message).not.toContain(secret);
      expect(error.stack ?? '').not.toContain(secret);
    });

    it('scrubSecrets replaces every seed in a text and leaves public keys alone', () => {
      const [s1, s2] = [Keypair.random(), Keypair.random()];
      const text = scrubSecrets(`a ${s1.secret()} b ${s2.secret()} c ${s1.publicKey()}`);
      expect(text).toBe(`a [secret] b [secret] c ${s1.publicKey()}`);
    });
  });
});
