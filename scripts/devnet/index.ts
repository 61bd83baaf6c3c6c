import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Keypair, Networks, StrKey } from '@stellar/stellar-sdk';
import { ContractControl, handleControl, HorizonSeeder, OracleControl } from './control.js';
import { DevnetCore } from './core.js';
import type { Faults } from './faults.js';
import { handleHorizon, notFound, serviceUnavailable } from './horizon.js';
import { BodyTooLarge, readBody, sendJson, sleep } from './http.js';
import { createRpcDispatcher } from './jsonRpc.js';
import type { OracleSettings } from './oracleContract.js';

/**
 * A loopback devnet: one HTTP server on 127.0.0.1 that speaks Soroban RPC (JSON-RPC 2.0 at `/rpc`),
 * Horizon (HAL JSON under `/horizon`) and a control API (`/_devnet/*`), backed by a simulated ledger, a
 * model of the Creditra Credit contract and a Reflector-style price oracle. The real `rpc.Server` and
 * `Horizon.Server` clients work against it.
 */

export interface DevnetOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Close a ledger every N ms; 0 (default) = only when `closeLedger()` is called. */
  ledgerIntervalMs?: number;
  /** Default: the standalone network passphrase ("Standalone Network ; February 2017"). */
  networkPassphrase?: string;
  /** How many ledgers of history RPC keeps (oldestLedger = latest − retention + 1). Default 17,280 (24 h at 5 s). */
  retentionLedgers?: number;
  /** A C… id for the Credit contract; random if omitted. */
  contractId?: string;
  /** The contract admin's S… secret; random if omitted. */
  adminSecret?: string;
  /** A C… id for the price oracle; random if omitted. */
  oracleId?: string;
  /** Oracle settings: decimals (14), resolution in seconds (300), base ({other: 'USD'}), maxAgeResolutions (off). */
  oracle?: Partial<OracleSettings>;
  /** Reported protocol version (getNetwork, getLatestLedger, ledger headers). Default 23. */
  protocolVersion?: number;
  /**
   * Pin the clock at this unix time from genesis on (deterministic tests); omitted = wall clock. Ledger close
   * times never go backwards, so a pinned time earlier than the wall clock must be given here, not later.
   */
  startTime?: number;
}

export interface Devnet {
  /** Soroban RPC endpoint, e.g. http://127.0.0.1:8000/rpc */
  rpcUrl: string;
  /** Horizon base URL, e.g. http://127.0.0.1:8000/horizon */
  horizonUrl: string;
  /** Control API base URL, e.g. http://127.0.0.1:8000/_devnet */
  controlUrl: string;
  port: number;
  networkPassphrase: string;
  contractId: string;
  adminKeypair: Keypair;
  /** The C… id of the Reflector-style price oracle. */
  oracleId: string;
  /** Seals the open ledger (transactions and events since the last close) and returns its sequence. */
  closeLedger(): number;
  /** The real latest closed ledger (the lag fault only changes what clients are told). */
  readonly latestLedger: number;
  readonly oldestLedger: number;
  contract: ContractControl;
  /** Sets the oracle's prices and settings (`setPrice`, `configure`, `lastPrice`). */
  oracle: OracleControl;
  faults: Faults;
  seedHorizon: HorizonSeeder;
  /** The simulated network itself, for anything the control surfaces do not cover. */
  core: DevnetCore;
  stop(): Promise<void>;
}

export const DEFAULT_RETENTION_LEDGERS = 17_280;

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const networkPassphrase = options.networkPassphrase ?? Networks.STANDALONE;
  const contractId = options.contractId ?? StrKey.encodeContract(randomBytes(32));
  if (!StrKey.isValidContract(contractId)) throw new RangeError(`contractId is not a valid C… strkey: ${contractId}`);
  const oracleId = options.oracleId ?? StrKey.encodeContract(randomBytes(32));
  if (!StrKey.isValidContract(oracleId) || oracleId === contractId) throw new RangeError('oracleId must be a C… strkey other than contractId');
  const adminKeypair = options.adminSecret ? Keypair.fromSecret(options.adminSecret) : Keypair.random();
  const retentionLedgers = options.retentionLedgers ?? DEFAULT_RETENTION_LEDGERS;
  if (!Number.isInteger(retentionLedgers) || retentionLedgers < 1) throw new RangeError('retentionLedgers must be >= 1');

  const core = new DevnetCore({
    networkPassphrase,
    retentionLedgers,
    protocolVersion: options.protocolVersion ?? 23,
    contractId,
    admin: adminKeypair,
    oracleId,
    oracle: options.oracle,
    startTime: options.startTime,
  });
  const contract = new ContractControl(core);
  const oracle = new OracleControl(core);
  const seedHorizon = new HorizonSeeder(core);
  const dispatch = createRpcDispatcher(core);
  // Aborted on stop(), so requests held by the timeout fault do not keep the process alive.
  const stopping = new AbortController();
  // Every request delayed by a latency fault waits on this signal, and many may be in flight at once.
  setMaxListeners(0, stopping.signal);

  let baseUrl = '';
  const info = () => ({
    rpcUrl: `${baseUrl}/rpc`,
    horizonUrl: `${baseUrl}/horizon`,
    controlUrl: `${baseUrl}/_devnet`,
    networkPassphrase,
    contractId,
    oracleId,
    adminPublicKey: adminKeypair.publicKey(),
    // A throwaway key of a local simulator, handed out so a backend in another process can sign admin calls.
    adminSecret: adminKeypair.secret(),
    latestLedger: core.chain.latest.sequence,
    oldestLedger: core.chain.oldest.sequence,
    now: core.contractNow(),
    faults: core.faults.current,
  });
  const closeLedger = () => core.closeLedger();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;

    if (path.startsWith('/_devnet/')) {
      const route = path.slice('/_devnet/'.length).replace(/\/+$/, '');
      let body: Record<string, unknown> = {};
      if (req.method === 'POST') {
        const text = await readBody(req);
        body = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      } else if (req.method !== 'GET') {
        return sendJson(res, 405, { error: { type: 'method_not_allowed', message: 'use POST (or GET for reads)' } });
      }
      const answer = handleControl({ core, contract, oracle, seedHorizon, info, closeLedger }, route, body ?? {});
      return sendJson(res, answer.status, answer.body);
    }

    const target = path === '/rpc' || path === '/rpc/' ? 'rpc' : path === '/horizon' || path.startsWith('/horizon/') ? 'horizon' : undefined;
    if (!target) return sendJson(res, 404, { error: 'not found: use /rpc, /horizon or /_devnet/*' });

    const delay = core.faults.delayFor(target);
    if (delay > 0) await sleep(delay, stopping.signal);
    if (res.destroyed) return;
    if (core.faults.shouldFail(target)) {
      if (target === 'horizon') {
        const answer = serviceUnavailable();
        return sendJson(res, answer.status, answer.body, answer.contentType);
      }
      return sendJson(res, 503, { error: 'service unavailable (devnet fault)' });
    }

    if (target === 'rpc') {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'JSON-RPC requires POST' });
      return sendJson(res, 200, dispatch(await readBody(req)));
    }
    if (req.method !== 'GET') {
      const answer = notFound();
      return sendJson(res, answer.status, answer.body, answer.contentType);
    }
    const answer = handleHorizon(core, `${baseUrl}/horizon`, path.slice('/horizon'.length), url.searchParams);
    return sendJson(res, answer.status, answer.body, answer.contentType);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      const status = error instanceof BodyTooLarge ? 413 : error instanceof SyntaxError ? 400 : 500;
      sendJson(res, status, { error: (error as Error).message ?? String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  const interval = options.ledgerIntervalMs ?? 0;
  const ticker = interval > 0 ? setInterval(closeLedger, interval) : undefined;

  let stopped: Promise<void> | undefined;
  return {
    rpcUrl: `${baseUrl}/rpc`,
    horizonUrl: `${baseUrl}/horizon`,
    controlUrl: `${baseUrl}/_devnet`,
    port,
    networkPassphrase,
    contractId,
    adminKeypair,
    oracleId,
    closeLedger,
    get latestLedger() {
      return core.chain.latest.sequence;
    },
    get oldestLedger() {
      return core.chain.oldest.sequence;
    },
    contract,
    oracle,
    faults: core.faults,
    seedHorizon,
    core,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (ticker) clearInterval(ticker);
        stopping.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

export { ContractControl, HorizonSeeder, OracleControl } from './control.js';
export { DEFAULT_ORACLE_SETTINGS, type OracleAsset, type OraclePrice, type OracleSettings } from './oracleContract.js';
export { ContractError, HostError, CONTRACT_ERRORS, type CreditLine, type CreditLinePatch } from './creditContract.js';
export { EVENT_CATALOG, EVENT_NAMES, type EventName } from './events.js';
export { CREDIT_STATUS } from './scval.js';
export type { FaultSettings } from './faults.js';
export { DEVNET_FUNDER, type AccountSeed } from './accounts.js';
export type { PaymentSeed, TradeSeed } from './horizonData.js';
