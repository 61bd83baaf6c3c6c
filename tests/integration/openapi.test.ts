import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Keypair, StrKey, Transaction } from '@stellar/stellar-sdk';
import { Webhook } from 'standardwebhooks';
import request, { type Response, type Test } from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDevnet } from '../../scripts/devnet/index.js';
import { startFakeStripe } from '../../scripts/fake-stripe/index.js';
import { routeTable } from '../../src/app.js';
import { GatewayTimeoutError } from '../../src/domain/errors.js';
import { EVENT_TYPES } from '../../src/domain/eventCatalog.js';
import { StripePaymentProvider } from '../../src/payments/stripeProvider.js';
import { generateSecret } from '../../src/webhooks/signing.js';
import { toOpenApiPath, type HttpMethod, type RouteDefinition } from '../../src/http/route.js';
import type { CollateralAssetRepository, Repositories, Store } from '../../src/repositories/repositories.js';
import { admin, client, createTestApp, type TestApp } from '../support/app.js';
import { STORAGE_KINDS } from '../support/databases.js';
import {
  allRefs,
  compileSchema,
  deref,
  documentedResponse,
  expectMatchesComponent,
  expectMatchesSpec,
  expectMatchesWebhook,
  findOperation,
  loadSpec,
  operationParameters,
  spec,
  specOperations,
  specWebhooks,
  type ReceivedWebhook,
} from '../support/openapi.js';

const LINES = '/api/credit/lines';
const LINE = '/api/credit/lines/:id';
const DRAW = '/api/credit/lines/:id/draw';
const REPAY = '/api/credit/lines/:id/repay';
const TRANSACTIONS = '/api/credit/lines/:id/transactions';
const SCHEDULE = '/api/credit/lines/:id/schedule';
const SUSPEND = '/api/credit/lines/:id/suspend';
const REINSTATE = '/api/credit/lines/:id/reinstate';
const CLOSE = '/api/credit/lines/:id/close';
const DEFAULT = '/api/credit/lines/:id/default';
const WALLET_LINES = '/api/credit/wallet/:walletAddress/lines';
const AUDIT = '/api/admin/audit-log';
const CHALLENGE = '/api/auth/challenge';
const TOKEN = '/api/auth/token';
const REVOCATIONS = '/api/auth/revocations';
const CONTRACT_WALLET = '/api/auth/contract-wallets/:contractAddress';
const WEBHOOKS = '/api/webhooks';
const WEBHOOK = '/api/webhooks/:id';
const ROTATE_SECRET = '/api/webhooks/:id/rotate-secret';
const TEST_WEBHOOK = '/api/webhooks/:id/test';
const DELIVERIES = '/api/webhooks/:id/deliveries';
const REPLAY = '/api/webhooks/deliveries/:id/replay';
const JOBS = '/api/jobs';
const RETRY_JOB = '/api/jobs/:id/retry';
const INDEXER_STATUS = '/api/indexer/status';
const RECONCILE = '/api/reconciliation/run';
const RUNS = '/api/reconciliation/runs';
const RUN = '/api/reconciliation/runs/:id';
const EVALUATE = '/api/risk/evaluate';
const EVALUATION = '/api/risk/evaluations/:id';
const RISK_HISTORY = '/api/risk/wallet/:walletAddress/history';
const APPLY = '/api/risk/evaluations/:id/apply';
const ASSETS = '/api/collateral/assets';
const ASSET = '/api/collateral/assets/:code';
const ASSET_PARAMS = '/api/collateral/assets/:code/params';
const PRICES = '/api/collateral/assets/:code/prices';
const DEPOSIT = '/api/collateral/deposit';
const WITHDRAW = '/api/collateral/withdraw';
const WALLET_COLLATERAL = '/api/collateral/wallet/:walletAddress';
const POSITION = '/api/collateral/:id';
const ISSUE = '/api/credit/issue';
const CARD_CREDIT = '/api/credit/:id';
const USER_CARD_CREDIT = '/api/credit/user/:userId';
const ASSESSMENT = '/api/risk/assessment/:accountId';
const STOP_LOSS = '/api/risk/stop-loss';
const WALLET_STOP_LOSS = '/api/risk/stop-loss/:walletAddress';
const LIQUIDATION = '/api/risk/liquidation';
const EXECUTIONS = '/api/risk/executions';
const EXECUTION = '/api/risk/executions/:id';
const FILL = '/api/risk/executions/:id/fill';
const CANCEL = '/api/risk/executions/:id/cancel';
const INITIATE = '/api/repayment/initiate';
const PROVIDER_WEBHOOK = '/api/repayment/webhook';
const SETTLEMENTS = '/api/repayment/reconciliation';
const SETTLE = '/api/repayment/reconciliation/run';
const REPAYMENT = '/api/repayment/:id';
const REPAYMENTS = '/api/repayment';
const LINE_REPAYMENTS = '/api/credit/lines/:id/repayments';
const OPEN_ON_CHAIN = '/api/credit/lines/chain';
const BIND = '/api/credit/lines/:id/bind';
const LINE_CHAIN_TRANSACTIONS = '/api/credit/lines/:id/chain-transactions';
const CHAIN_TRANSACTION = '/api/credit/transactions/:id';
const SUBMIT = '/api/credit/transactions/:id/submit';
const UNKNOWN_LINE = '00000000-0000-4000-8000-000000000000';
const TOO_BIG = 'x'.repeat(101 * 1024);

const key = (method: string, path: string) => `${method.toUpperCase()} ${toOpenApiPath(path)}`;
const randomContract = () => StrKey.encodeContract(randomBytes(32));

type Call = (method: HttpMethod, route: string, params?: Record<string, string>, build?: (req: Test) => Test) => Promise<Response>;

/**
 * Drives the app and checks every response against openapi.yaml; records which statuses each operation produced
 * (in `seen`, which a second app of the same scenario may share).
 */
function apiFor(app: TestApp['app'], seen = new Map<string, Set<number>>()): { call: Call; seen: Map<string, Set<number>> } {
  const call: Call = async (method, route, params = {}, build = (req) => req) => {
    const url = route.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new Error(`missing path parameter ${name} for ${route}`);
      return encodeURIComponent(value);
    });
    const res = await build(request(app)[method](url));
    expectMatchesSpec(method, route, res);
    const statuses = seen.get(key(method, route)) ?? new Set<number>();
    statuses.add(res.status);
    seen.set(key(method, route), statuses);
    return res;
  };
  return { call, seen };
}

/** SEP-10 as a wallet does it: fetch the challenge, sign it with the account key, exchange it for a token. */
async function signIn(call: Call, keypair: Keypair): Promise<{ token: string; jti: string; headers: Record<string, string> }> {
  const challenge = await call('get', CHALLENGE, {}, (r) => r.set(client).query({ account: keypair.publicKey() }));
  expect(challenge.status).toBe(200);
  const transaction = new Transaction(challenge.body.data.transaction, challenge.body.data.networkPassphrase);
  transaction.sign(keypair);
  const issued = await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: transaction.toEnvelope().toXDR('base64') }));
  expect(issued.status).toBe(200);
  expect(issued.body.data.account).toBe(keypair.publicKey());
  const { token, jti } = issued.body.data as { token: string; jti: string };
  return { token, jti, headers: { ...client, authorization: `Bearer ${token}` } };
}

interface WebhookRequest extends ReceivedWebhook {
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
}

/** A webhook subscriber on 127.0.0.1 that records every request and answers with a settable status. */
async function startReceiver() {
  const received: WebhookRequest[] = [];
  let status = 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as WebhookRequest['body'] });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    last: () => received.at(-1)!,
    answer: (code: number) => {
      status = code;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What the stand-in scoring service does for one wallet: answer (a status and a body), stall, or hang up. */
type ScoringAnswer = { status?: number; body?: unknown; raw?: string } | 'stall' | 'hang up';

/**
 * An external risk provider on 127.0.0.1 (`RISK_PROVIDER=external`): the app POSTs `{ walletAddress }` to the one
 * configured URL, so what happens is chosen per wallet (a score of 70 unless told otherwise).
 */
async function startScoringService() {
  const answers = new Map<string, ScoringAnswer>();
  const arrivals = new Map<string, () => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { walletAddress } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { walletAddress: string };
      arrivals.get(walletAddress)?.();
      const answer = answers.get(walletAddress) ?? { body: { score: 70 } };
      if (answer === 'stall') return; // no answer until the server closes: the provider's timeout runs out first
      if (answer === 'hang up') return void req.socket.destroy();
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(answer.raw ?? JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/score`,
    answer: (walletAddress: string, answer: ScoringAnswer) => answers.set(walletAddress, answer),
    /** Resolves when the app's request for this wallet has reached the service. */
    arrival: (walletAddress: string) => new Promise<void>((resolve) => arrivals.set(walletAddress, resolve)),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Holds the first call of `service[method]` until a retry with the same Idempotency-Key has been answered, so the
 * retry meets the first request still running.
 */
async function retriedWhileRunning(service: object, method: string, send: () => Promise<Response>): Promise<{ first: Response; retry: Response }> {
  const target = service as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = target[method]!.bind(service);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const started = new Promise<void>((resolve) => (entered = resolve));
  vi.spyOn(target, method).mockImplementationOnce(async (...args: unknown[]) => {
    entered();
    await gate;
    return original(...args);
  });
  const first = send();
  await started;
  const retry = await send();
  release();
  return { first: await first, retry };
}

/** The next transaction reads every asset's parameters one version behind: as if another change had just won the race. */
function readParamsOneVersionBehind(store: Store): void {
  const transaction = store.transaction.bind(store);
  const behind = (assets: CollateralAssetRepository): CollateralAssetRepository => {
    const stale = Object.create(assets) as CollateralAssetRepository;
    stale.currentParams = async (codes) => new Map([...(await assets.currentParams(codes))].map(([code, v]) => [code, { ...v, version: v.version - 1 }]));
    return stale;
  };
  vi.spyOn(store, 'transaction').mockImplementationOnce(<T>(work: (repos: Repositories) => Promise<T>) =>
    transaction((repos) => work({ ...repos, collateralAssets: behind(repos.collateralAssets) })),
  );
}

/** A decimal string of `decimals` places plus or minus base units ("1.5000000", 7, 1 -> "1.5000001"). */
function plusUnits(value: string, decimals: number, units: bigint): string {
  const [whole = '0', fraction = ''] = value.split('.');
  const total = BigInt(whole + fraction.padEnd(decimals, '0')) + units;
  const text = total.toString().padStart(decimals + 1, '0');
  return decimals === 0 ? text : `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

/** Standard Webhooks verification, as a subscriber's library does it: throws unless a signature matches `secret`. */
const verifySignature = (secret: string, request: ReceivedWebhook) => new Webhook(secret).verify(request.raw, request.headers as Record<string, string>);

describe('openapi.yaml documents exactly the mounted routes', () => {
  let t: TestApp;
  let routes: RouteDefinition[];
  beforeAll(async () => {
    t = await createTestApp('memory');
    routes = routeTable(t.container);
  });
  afterAll(() => t.close());

  it('is an OpenAPI 3.1.0 document served from the root', () => {
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.servers).toEqual([{ url: '/' }]);
    expect(spec.components.securitySchemes).toMatchObject({
      ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      AdminApiKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Api-Key' },
      WalletToken: { type: 'http', scheme: 'bearer' },
    });
  });

  it('has every route of routeTable and nothing else', () => {
    const mounted = new Set(routes.map((route) => key(route.method, route.path)));
    const documented = new Set(specOperations().map((op) => key(op.method, op.path)));
    const undocumented = [...mounted].filter((route) => !documented.has(route)).sort();
    const notMounted = [...documented].filter((route) => !mounted.has(route)).sort();
    expect(
      { undocumented, notMounted },
      `mounted but not in openapi.yaml: ${undocumented.join(', ') || '-'}; in openapi.yaml but not mounted: ${notMounted.join(', ') || '-'}`,
    ).toEqual({ undocumented: [], notMounted: [] });
    expect(routes.length).toBe(mounted.size);
  });

  it('declares per operation the API-key security its access level enforces', () => {
    const expected = {
      public: [],
      client: [{ ApiKey: [] }, { AdminApiKey: [] }],
      admin: [{ AdminApiKey: [] }],
    };
    const declared = Object.keys(spec.components.securitySchemes as object);
    const wrong = routes.flatMap((route) => {
      const name = key(route.method, route.path);
      const security = findOperation(route.method, route.path)?.security;
      if (!Array.isArray(security)) return [`${name}: no security declared`];
      const problems: string[] = [];
      // The API-key alternatives are exactly what `access` enforces ...
      const keyOnly = security.filter((requirement) => !('WalletToken' in requirement));
      if (JSON.stringify(keyOnly) !== JSON.stringify(expected[route.access])) problems.push(`${name}: ${JSON.stringify(keyOnly)} for access ${route.access}`);
      // ... and a wallet token only ever comes on top of an API key, on client routes.
      for (const requirement of security.filter((r) => 'WalletToken' in r)) {
        if (route.access !== 'client') problems.push(`${name}: WalletToken on a ${route.access} route`);
        if (!('ApiKey' in requirement) && !('AdminApiKey' in requirement)) problems.push(`${name}: WalletToken without an API key`);
      }
      for (const scheme of security.flatMap((r) => Object.keys(r))) if (!declared.includes(scheme)) problems.push(`${name}: undeclared scheme ${scheme}`);
      return problems;
    });
    expect(wrong).toEqual([]);
  });

  it('documents 401 and 429 on every authenticated route, 403 on admin routes and where a wallet token is checked', () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const operation = findOperation(route.method, route.path)!;
      const has = (status: string) => operation.responses[status] !== undefined;
      const name = key(route.method, route.path);
      const checksWallet = (operation.security ?? []).some((requirement) => 'WalletToken' in requirement);
      if (has('401') !== (route.access !== 'public')) wrong.push(`${name}: 401`);
      if (has('429') !== (route.access !== 'public')) wrong.push(`${name}: 429`);
      if (has('403') !== (route.access === 'admin' || checksWallet)) wrong.push(`${name}: 403`);
    }
    expect(wrong).toEqual([]);
  });

  it('documents the Idempotency-Key header exactly on idempotent routes, and Idempotency-Replayed on their success', () => {
    const wrong = routes
      .map((route) => ({
        route: key(route.method, route.path),
        idempotent: route.idempotent === true,
        documented: operationParameters(route.method, route.path).some((p) => p.in === 'header' && String(p.name).toLowerCase() === 'idempotency-key'),
      }))
      .filter(({ idempotent, documented }) => idempotent !== documented);
    expect(wrong).toEqual([]);
    for (const route of routes.filter((r) => r.idempotent)) {
      const success = Object.entries(findOperation(route.method, route.path)!.responses).find(([status]) => status.startsWith('2'))!;
      expect(Object.keys(deref(success[1]).headers as object), key(route.method, route.path)).toContain('Idempotency-Replayed');
    }
  });

  it('documents every path parameter of every route', () => {
    for (const route of routes) {
      const names = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
      const documented = operationParameters(route.method, route.path)
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      expect(documented.sort(), key(route.method, route.path)).toEqual(names.sort());
    }
  });

  it('resolves every $ref, compiles every schema and has unique operationIds', () => {
    expect(allRefs().filter((ref) => !ref.resolves)).toEqual([]);
    const ids = specOperations().map((op) => op.operation.operationId);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { operation, method, path } of specOperations()) {
      expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(0);
      for (const response of Object.values(operation.responses)) {
        for (const media of Object.values((deref(response).content ?? {}) as Record<string, { schema?: unknown }>)) {
          if (media.schema !== undefined) compileSchema(media.schema);
        }
      }
      for (const parameter of operationParameters(method, path)) compileSchema(parameter.schema);
      const body = operation.requestBody ? deref(operation.requestBody) : undefined;
      for (const media of Object.values((body?.content ?? {}) as Record<string, { schema?: unknown }>)) compileSchema(media.schema);
    }
  });

  it('declares the webhook payloads subscribers receive, with examples that match them', () => {
    expect(specWebhooks().map((w) => `${w.method} ${w.name}`).sort()).toEqual([
      'post chainEvent',
      'post collateralEvent',
      'post creditLineEvent',
      'post repaymentEvent',
      'post repaymentNoticeEvent',
      'post riskEvent',
      'post webhookEndpointEvent',
    ]);
    for (const { name, operation } of specWebhooks()) {
      const media = (deref(operation.requestBody).content as Record<string, { schema: unknown; examples?: Record<string, { value: unknown }> }>)['application/json']!;
      const validate = compileSchema(media.schema);
      expect(Object.keys(media.examples ?? {}).length, name).toBeGreaterThan(0);
      for (const [example, { value }] of Object.entries(media.examples ?? {})) expect(validate(value), `${name} example ${example}`).toBe(true);
      expect(operation.parameters?.map((p) => deref(p).name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
    }
    // The event types an endpoint may subscribe to are exactly the catalog's, and each payload covers its share.
    const eventTypes = (spec.components.schemas.EventType as { enum: string[] }).enum;
    expect([...eventTypes].sort()).toEqual([...EVENT_TYPES].sort());
    const payloadTypes = [
      'CreditLineWebhookEvent',
      'RiskWebhookEvent',
      'WebhookEndpointEvent',
      'ChainWebhookEvent',
      'CollateralWebhookEvent',
      'RepaymentNoticeWebhookEvent',
      'RepaymentWebhookEvent',
    ].flatMap(
      (name) => ((spec.components.schemas[name] as { properties: { type: { enum: string[] } } }).properties.type.enum),
    );
    expect(payloadTypes.sort()).toEqual([...EVENT_TYPES].sort());
    const secret = compileSchema({ $ref: '#/components/schemas/WebhookSecret' });
    expect(secret(generateSecret())).toBe(true);
    expect(secret('whsec_short')).toBe(false);
  });

  it('describes money as 7-decimal strings, rates as basis points and wallets as StrKeys', () => {
    const amountIn = compileSchema({ $ref: '#/components/schemas/AmountInput' });
    for (const ok of ['1', '125.5', '0.0000001', '100000']) expect(amountIn(ok), ok).toBe(true);
    for (const bad of [125.5, '1.12345678', '-1', '1e5', '.5', '']) expect(amountIn(bad), String(bad)).toBe(false);
    const rate = compileSchema({ $ref: '#/components/schemas/InterestRateBps' });
    expect([0, 1200, 10000].map((v) => rate(v))).toEqual([true, true, true]);
    expect([-1, 10001, 12.5, '1200'].map((v) => rate(v))).toEqual([false, false, false, false]);
    const wallet = compileSchema({ $ref: '#/components/schemas/StellarAddress' });
    expect(wallet(Keypair.random().publicKey())).toBe(true);
    expect(wallet(randomContract())).toBe(true);
    expect(wallet('not-a-wallet')).toBe(false);
  });

  it('describes collateral quantities in the asset\'s decimals, prices with 14 decimals and health in basis points', () => {
    const quantityIn = compileSchema({ $ref: '#/components/schemas/AssetQuantityInput' });
    for (const ok of ['10000', '0.5', '1.123456789012345678']) expect(quantityIn(ok), ok).toBe(true);
    for (const bad of [10_000, '-1', '1e5', '.5', '1.1234567890123456789', '']) expect(quantityIn(bad), String(bad)).toBe(false);
    const priceIn = compileSchema({ $ref: '#/components/schemas/PriceInput' });
    expect(['0.12', '65000', '0.00000000000001'].map((v) => priceIn(v))).toEqual([true, true, true]);
    expect(['0.123456789012345', 0.12, '-0.12'].map((v) => priceIn(v))).toEqual([false, false, false]);
    const price = compileSchema({ $ref: '#/components/schemas/Price' });
    expect([price('0.12000000000000'), price('0.12'), price('0.1200000')]).toEqual([true, false, false]);
    const health = compileSchema({ $ref: '#/components/schemas/HealthFactorBps' });
    expect([10_500, null, 10.5, -1].map((v) => health(v))).toEqual([true, true, false, false]);
    const band = compileSchema({ $ref: '#/components/schemas/HealthBand' });
    expect(['healthy', 'warning', 'stop_loss', 'liquidatable', 'underwater'].map((v) => band(v))).toEqual([true, true, true, true, false]);
  });

  it('fails when a response does not match the spec', () => {
    const json = { 'content-type': 'application/json' };
    expect(() => expectMatchesSpec('get', LINE, { status: 200, headers: json, body: { data: { id: 'x' }, error: null } })).toThrow(/does not match/);
    expect(() => expectMatchesSpec('get', LINE, { status: 418, headers: json, body: {} })).toThrow(/not documented/);
    expect(() => expectMatchesSpec('get', '/nope', { status: 200, headers: {}, body: {} })).toThrow(/no operation/);
    expect(() => expectMatchesSpec('get', '/metrics', { status: 200, headers: json, body: {} })).toThrow(/content type/);
    const unauthorized = { data: null, error: { code: 'not_a_documented_code', message: 'x', details: null, requestId: 'r' } };
    expect(() => expectMatchesSpec('get', AUDIT, { status: 401, headers: json, body: unauthorized })).toThrow(/does not match/);
    expect(() => expectMatchesSpec('get', '/docs', { status: 301, headers: {}, body: {} })).toThrow(/required header Location/);
    expect(documentedResponse(findOperation('get', '/health/ready')!, 503)).toBeDefined();
  });
});

describe.each(STORAGE_KINDS)('the %s app answers as openapi.yaml says', (kind) => {
  let t: TestApp;
  let api: ReturnType<typeof apiFor>;
  beforeAll(async () => {
    // Production's wallet-auth mode, so the contract is checked as borrowers will meet it.
    // A one-step retry schedule, so a failing webhook delivery dies after its second attempt.
    t = await createTestApp(kind, { WALLET_AUTH: 'required', WEBHOOK_RETRY_SCHEDULE: '1ms' });
    api = apiFor(t.app);
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('serves operations and documentation routes', async () => {
    const { call } = api;
    const live = await call('get', '/health');
    expect(live.status).toBe(200);
    expect(live.body.data.status).toBe('ok');

    const ready = await call('get', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.data.ready).toBe(true);

    const metrics = await call('get', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('http_requests_total');

    const docs = await call('get', '/docs.json');
    expect(docs.status).toBe(200);
    expect(docs.body).toEqual(loadSpec());

    const redirect = await call('get', '/docs');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/docs/');
  });

  it('reports not ready with 503 when the database is down', async () => {
    vi.spyOn(t.container.store, 'ping').mockRejectedValue(new Error('connection refused'));
    const res = await api.call('get', '/health/ready');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('not_ready');
    expect(res.body.error.details.checks.database).toMatchObject({ status: 'down', critical: true, error: 'connection refused' });
  });

  it('answers 500 internal_error without leaking the cause', async () => {
    vi.spyOn(t.container.services.creditLines, 'get').mockRejectedValue(new Error('SELECT secret FROM somewhere'));
    const res = await api.call('get', LINE, { id: UNKNOWN_LINE }, (r) => r.set(client));
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('internal_error');
    expect(JSON.stringify(res.body)).not.toContain('secret');
  });

  it('authenticates wallets with SEP-10, revokes tokens and binds contract wallets', async () => {
    const { call } = api;
    const keypair = Keypair.random();

    // --- challenge -----------------------------------------------------------------------------------
    expect((await call('get', CHALLENGE, {}, (r) => r.query({ account: keypair.publicKey() }))).status).toBe(401);
    const notAccount = await call('get', CHALLENGE, {}, (r) => r.set(client).query({ account: randomContract() }));
    expect(notAccount.status).toBe(400);
    expect(notAccount.body.error.code).toBe('invalid_account');
    const missing = await call('get', CHALLENGE, {}, (r) => r.set(client));
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('validation_failed');
    const badBearer = await call('get', CHALLENGE, {}, (r) => r.set(client).set('authorization', 'Basic abc').query({ account: keypair.publicKey() }));
    expect(badBearer.status).toBe(401);
    expect(badBearer.body.error.code).toBe('token_invalid');

    // --- token -------------------------------------------------------------------------------------------
    const challenge = await call('get', CHALLENGE, {}, (r) => r.set(client).query({ account: keypair.publicKey() }));
    expect(challenge.status).toBe(200);
    const unsigned = await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: challenge.body.data.transaction }));
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.code).toBe('challenge_signature_invalid');
    const wrongSigner = new Transaction(challenge.body.data.transaction, challenge.body.data.networkPassphrase);
    wrongSigner.sign(Keypair.random());
    expect((await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: wrongSigner.toEnvelope().toXDR('base64') }))).body.error.code).toBe(
      'challenge_signature_invalid',
    );
    const garbage = await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: 'AAAA' }));
    expect(garbage.status).toBe(401);
    expect(garbage.body.error.code).toBe('challenge_invalid');
    const signed = new Transaction(challenge.body.data.transaction, challenge.body.data.networkPassphrase);
    signed.sign(keypair);
    const signedXdr = signed.toEnvelope().toXDR('base64');
    const issued = await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: signedXdr }));
    expect(issued.status).toBe(200);
    expect(issued.body.data).toMatchObject({ tokenType: 'Bearer', account: keypair.publicKey() });
    const replayed = await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: signedXdr }));
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('challenge_replayed');
    expect((await call('post', TOKEN, {}, (r) => r.set(client).send({}))).status).toBe(400);
    expect((await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: 'A'.repeat(20_001) }))).status).toBe(400);
    expect((await call('post', TOKEN, {}, (r) => r.send({ transaction: signedXdr }))).body.error.code).toBe('unauthorized');
    expect((await call('post', TOKEN, {}, (r) => r.set(client).set('content-type', 'text/plain').send(signedXdr))).status).toBe(415);
    expect((await call('post', TOKEN, {}, (r) => r.set(client).send({ transaction: TOO_BIG }))).status).toBe(413);

    // --- using and revoking a token ------------------------------------------------------------------
    const bearer = { ...client, authorization: `Bearer ${issued.body.data.token as string}` };
    const opened = await call('post', LINES, {}, (r) => r.set(bearer).send({ walletAddress: keypair.publicKey(), creditLimit: '100' }));
    expect(opened.status).toBe(201);
    const id = opened.body.data.id as string;
    expect((await call('get', LINE, { id }, (r) => r.set(bearer))).status).toBe(200);

    expect((await call('post', REVOCATIONS, {}, (r) => r.set(client).send({ jti: issued.body.data.jti }))).status).toBe(403);
    expect((await call('post', REVOCATIONS, {}, (r) => r.send({ jti: issued.body.data.jti }))).status).toBe(401);
    expect((await call('post', REVOCATIONS, {}, (r) => r.set(admin).send({}))).status).toBe(400);
    expect((await call('post', REVOCATIONS, {}, (r) => r.set(admin).send({ jti: 'x', reason: 'x'.repeat(501) }))).status).toBe(400);
    expect((await call('post', REVOCATIONS, {}, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('post', REVOCATIONS, {}, (r) => r.set(admin).send({ jti: TOO_BIG }))).status).toBe(413);
    const revoked = await call('post', REVOCATIONS, {}, (r) => r.set(admin).send({ jti: issued.body.data.jti, reason: 'lost device' }));
    expect(revoked.status).toBe(201);
    expect(revoked.body.data.jti).toBe(issued.body.data.jti);
    const afterRevocation = await call('get', LINE, { id }, (r) => r.set(bearer));
    expect(afterRevocation.status).toBe(401);
    expect(afterRevocation.body.error.code).toBe('token_revoked');

    // --- contract wallets act through their bound controller ------------------------------------------
    const contract = randomContract();
    const controller = await signIn(call, keypair);
    const notBound = await call('post', LINES, {}, (r) => r.set(controller.headers).send({ walletAddress: contract, creditLimit: '10' }));
    expect(notBound.status).toBe(403);
    expect(notBound.body.error.code).toBe('wallet_forbidden');

    expect((await call('put', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(client).send({ controllerAccount: keypair.publicKey() }))).status).toBe(403);
    expect((await call('put', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.send({ controllerAccount: keypair.publicKey() }))).status).toBe(401);
    expect((await call('put', CONTRACT_WALLET, { contractAddress: keypair.publicKey() }, (r) => r.set(admin).send({ controllerAccount: keypair.publicKey() }))).status).toBe(400);
    expect((await call('put', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin).send({ controllerAccount: contract }))).status).toBe(400);
    expect((await call('put', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('put', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin).send({ controllerAccount: TOO_BIG }))).status).toBe(413);
    const bound = await call('put', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin).send({ controllerAccount: keypair.publicKey() }));
    expect(bound.status).toBe(200);
    expect(bound.body.data).toEqual({ contractAddress: contract, controllerAccount: keypair.publicKey() });

    const contractLine = await call('post', LINES, {}, (r) => r.set(controller.headers).send({ walletAddress: contract, creditLimit: '10' }));
    expect(contractLine.status).toBe(201);
    expect((await call('post', DRAW, { id: contractLine.body.data.id }, (r) => r.set(controller.headers).send({ amount: '1' }))).status).toBe(200);

    expect((await call('delete', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(client))).status).toBe(403);
    expect((await call('delete', CONTRACT_WALLET, { contractAddress: contract })).status).toBe(401);
    expect((await call('delete', CONTRACT_WALLET, { contractAddress: 'C123' }, (r) => r.set(admin))).status).toBe(400);
    expect((await call('delete', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('delete', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);
    const unbound = await call('delete', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin));
    expect(unbound.body.data).toEqual({ contractAddress: contract, removed: true });
    expect((await call('delete', CONTRACT_WALLET, { contractAddress: contract }, (r) => r.set(admin))).body.data.removed).toBe(false);
    const afterUnbind = await call('post', DRAW, { id: contractLine.body.data.id }, (r) => r.set(controller.headers).send({ amount: '1' }));
    expect(afterUnbind.status).toBe(403);

    const audit = await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'auth_token', targetId: issued.body.data.jti }));
    expect(audit.body.data.items.map((e: { action: string }) => e.action)).toEqual(['auth.token_revoke']);
    const contractAudit = await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'contract_wallet' }));
    expect(contractAudit.body.data.items.map((e: { action: string }) => e.action)).toEqual(['auth.contract_wallet_unbind', 'auth.contract_wallet_bind']);
    expect(JSON.stringify(contractAudit.body)).not.toContain(contract);
  });

  it('runs a credit line through its whole life, every response as documented', async () => {
    const { call } = api;
    const borrower = Keypair.random();
    const wallet = borrower.publicKey();
    const { headers: asBorrower } = await signIn(call, borrower);
    const { headers: asStranger } = await signIn(call, Keypair.random());
    // A borrower asks for less than its risk evaluation offers (the static provider's band B: 5,000 at 1,200 bps).
    const openBody = { walletAddress: wallet, creditLimit: '1000', currency: 'USDC' };

    // --- what opening refuses ------------------------------------------------------------------------
    expect((await call('post', LINES, {}, (r) => r.send(openBody))).status).toBe(401);
    expect((await call('post', LINES, {}, (r) => r.set({ 'x-api-key': 'not-a-real-key-000000' }).send(openBody))).body.error.code).toBe('unauthorized');
    const noToken = await call('post', LINES, {}, (r) => r.set(client).send(openBody));
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe('wallet_auth_required');
    const badToken = await call('post', LINES, {}, (r) => r.set({ ...client, authorization: 'Bearer not.a.token' }).send(openBody));
    expect(badToken.status).toBe(401);
    expect(badToken.body.error.code).toBe('token_invalid');
    const stranger = await call('post', LINES, {}, (r) => r.set(asStranger).send(openBody));
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.code).toBe('wallet_forbidden');

    const numeric = await call('post', LINES, {}, (r) => r.set(asBorrower).send({ ...openBody, creditLimit: 1000 }));
    expect(numeric.status).toBe(400);
    expect(numeric.body.error.code).toBe('validation_failed');
    expect(numeric.body.error.details).toContainEqual(expect.objectContaining({ field: 'creditLimit' }));
    const invalid = await call('post', LINES, {}, (r) =>
      r.set(asBorrower).send({ walletAddress: 'GNOTAWALLET', creditLimit: '1.12345678', interestRateBps: 10_001, colour: 'blue' }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((d: { rule: string }) => d.rule).sort()).toEqual(['max', 'max_decimals', 'stellar_address', 'unknown_field']);
    const malformed = await call('post', LINES, {}, (r) => r.set(asBorrower).set('content-type', 'application/json').send('{"walletAddress":'));
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    const textPlain = await call('post', LINES, {}, (r) => r.set(asBorrower).set('content-type', 'text/plain').send('walletAddress=G'));
    expect(textPlain.status).toBe(415);
    expect(textPlain.body.error.code).toBe('unsupported_media_type');
    expect((await call('post', LINES, {}, (r) => r.set(asBorrower).set('content-type', 'application/json; charset=latin1').send('{}'))).status).toBe(415);
    const huge = await call('post', LINES, {}, (r) => r.set(asBorrower).send({ ...openBody, pad: TOO_BIG }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    const aboveOffer = await call('post', LINES, {}, (r) => r.set(asBorrower).send({ ...openBody, creditLimit: '5000.0000001' }));
    expect(aboveOffer.status).toBe(422);
    expect(aboveOffer.body.error).toMatchObject({ code: 'credit_limit_above_offer', details: { offeredCreditLimit: '5000.0000000', evaluationId: expect.any(String) } });
    const ownRate = await call('post', LINES, {}, (r) => r.set(asBorrower).send({ ...openBody, interestRateBps: 100 }));
    expect(ownRate.status).toBe(400);
    expect(ownRate.body.error.details).toEqual([expect.objectContaining({ field: 'interestRateBps', rule: 'admin_only' })]);
    const rateAlone = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: wallet, interestRateBps: 100 }));
    expect(rateAlone.status).toBe(400);
    expect(rateAlone.body.error.details).toEqual([expect.objectContaining({ field: 'creditLimit', rule: 'required_with_interestRateBps' })]);
    const aboveCap = await call('post', LINES, {}, (r) => r.set(admin).send({ ...openBody, creditLimit: '100000.0000001', interestRateBps: 1200 }));
    expect(aboveCap.status).toBe(422);
    expect(aboveCap.body.error).toMatchObject({ code: 'credit_limit_above_cap', details: { cap: '100000.0000000' } });
    const badKey = await call('post', LINES, {}, (r) => r.set(asBorrower).set('idempotency-key', 'has a space').send(openBody));
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.details[0].field).toBe('Idempotency-Key');

    // --- opening, idempotently -----------------------------------------------------------------------
    const opened = await call('post', LINES, {}, (r) => r.set(asBorrower).set('idempotency-key', `open-${wallet}`).send(openBody));
    expect(opened.status).toBe(201);
    expect(opened.headers['idempotency-replayed']).toBeUndefined();
    const id = opened.body.data.id as string;
    expect(opened.body.data).toMatchObject({
      walletAddress: wallet,
      creditLimit: '1000.0000000',
      interestRateBps: 1200,
      riskScore: 30,
      rateUpdatedAt: null,
      utilized: '0.0000000',
      availableCredit: '1000.0000000',
      status: 'active',
    });
    const replayed = await call('post', LINES, {}, (r) => r.set(asBorrower).set('idempotency-key', `open-${wallet}`).send({ ...openBody }));
    expect(replayed.status).toBe(201);
    expect(replayed.headers['idempotency-replayed']).toBe('true');
    expect(replayed.body).toEqual(opened.body);
    const reused = await call('post', LINES, {}, (r) => r.set(asBorrower).set('idempotency-key', `open-${wallet}`).send({ ...openBody, creditLimit: '2000' }));
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    const duplicate = await call('post', LINES, {}, (r) => r.set(asBorrower).send(openBody));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('duplicate_open_line');

    // --- reading -----------------------------------------------------------------------------------------
    expect((await call('get', LINE, { id }, (r) => r.set(client))).body.data.id).toBe(id);
    expect((await call('get', LINE, { id }, (r) => r.set(asBorrower))).status).toBe(200);
    expect((await call('get', LINE, { id }, (r) => r.set(admin))).status).toBe(200);
    expect((await call('get', LINE, { id })).status).toBe(401);
    expect((await call('get', LINE, { id }, (r) => r.set(asStranger))).body.error.code).toBe('wallet_forbidden');
    const unknown = await call('get', LINE, { id: UNKNOWN_LINE }, (r) => r.set(client));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    expect((await call('get', LINE, { id: 'not-a-uuid' }, (r) => r.set(client))).status).toBe(400);

    const otherWallet = Keypair.random().publicKey();
    expect((await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: otherWallet, creditLimit: '50', interestRateBps: 0 }))).status).toBe(201);

    const filtered = await call('get', LINES, {}, (r) => r.set(asBorrower).query({ status: 'active', walletAddress: wallet }));
    expect(filtered.body.data.items.map((line: { id: string }) => line.id)).toEqual([id]);
    expect((await call('get', LINES, {}, (r) => r.set(asStranger).query({ walletAddress: wallet }))).status).toBe(403);
    const firstPage = await call('get', LINES, {}, (r) => r.set(client).query({ limit: 1 }));
    expect(firstPage.body.data.items).toHaveLength(1);
    expect(typeof firstPage.body.data.nextCursor).toBe('string');
    const secondPage = await call('get', LINES, {}, (r) => r.set(client).query({ limit: 1, cursor: firstPage.body.data.nextCursor }));
    expect(secondPage.status).toBe(200);
    expect(secondPage.body.data.items[0].id).not.toBe(firstPage.body.data.items[0].id);
    for (const query of [{ limit: 0 }, { limit: 101 }, { status: 'open' }, { walletAddress: 'GABC' }, { cursor: 'not-a-cursor' }, { sort: 'asc' }]) {
      expect((await call('get', LINES, {}, (r) => r.set(client).query(query))).status, JSON.stringify(query)).toBe(400);
    }
    expect((await call('get', LINES)).status).toBe(401);

    const walletLines = await call('get', WALLET_LINES, { walletAddress: wallet }, (r) => r.set(asBorrower));
    expect(walletLines.body.data.items.map((line: { id: string }) => line.id)).toEqual([id]);
    expect((await call('get', WALLET_LINES, { walletAddress: wallet }, (r) => r.set(asStranger))).status).toBe(403);
    expect((await call('get', WALLET_LINES, { walletAddress: 'GNOTAWALLET' }, (r) => r.set(client))).status).toBe(400);
    expect((await call('get', WALLET_LINES, { walletAddress: wallet }, (r) => r.set(client).query({ status: 'active' }))).status).toBe(400);
    expect((await call('get', WALLET_LINES, { walletAddress: wallet })).status).toBe(401);

    // --- drawing and repaying ----------------------------------------------------------------------------
    expect((await call('post', DRAW, { id }, (r) => r.set(client).send({ amount: '1' }))).body.error.code).toBe('wallet_auth_required');
    expect((await call('post', DRAW, { id }, (r) => r.set(asStranger).send({ amount: '1' }))).body.error.code).toBe('wallet_forbidden');
    const drawn = await call('post', DRAW, { id }, (r) => r.set(asBorrower).set('idempotency-key', `draw-${id}`).send({ amount: '400.5' }));
    expect(drawn.status).toBe(200);
    expect(drawn.body.data.creditLine.utilized).toBe('400.5000000');
    expect(drawn.body.data.transaction).toMatchObject({ type: 'draw', amount: '400.5000000', creditLineId: id });
    const drawReplay = await call('post', DRAW, { id }, (r) => r.set(asBorrower).set('idempotency-key', `draw-${id}`).send({ amount: '400.5' }));
    expect(drawReplay.headers['idempotency-replayed']).toBe('true');
    expect(drawReplay.body).toEqual(drawn.body);
    expect((await call('post', DRAW, { id }, (r) => r.set(asBorrower).set('idempotency-key', `draw-${id}`).send({ amount: '1' }))).body.error.code).toBe(
      'idempotency_key_reused',
    );
    const tooMuch = await call('post', DRAW, { id }, (r) => r.set(asBorrower).send({ amount: '600' }));
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error).toMatchObject({ code: 'insufficient_credit', details: { requested: '600.0000000' } });
    expect((await call('post', DRAW, { id }, (r) => r.set(asBorrower).send({ amount: '0' }))).status).toBe(400);
    expect((await call('post', DRAW, { id }, (r) => r.set(asBorrower).send({}))).status).toBe(400);
    expect((await call('post', DRAW, { id: UNKNOWN_LINE }, (r) => r.set(asBorrower).send({ amount: '1' }))).status).toBe(404);
    expect((await call('post', DRAW, { id }, (r) => r.send({ amount: '1' }))).status).toBe(401);
    expect((await call('post', DRAW, { id }, (r) => r.set(asBorrower).set('content-type', 'text/plain').send('1'))).status).toBe(415);
    expect((await call('post', DRAW, { id }, (r) => r.set(asBorrower).send({ amount: TOO_BIG }))).status).toBe(413);

    expect((await call('post', REPAY, { id }, (r) => r.set(client).send({ amount: '1' }))).body.error.code).toBe('wallet_auth_required');
    expect((await call('post', REPAY, { id }, (r) => r.set(asStranger).send({ amount: '1' }))).body.error.code).toBe('wallet_forbidden');
    const repaid = await call('post', REPAY, { id }, (r) => r.set(asBorrower).set('idempotency-key', `repay-${id}`).send({ amount: '100.5' }));
    expect(repaid.status).toBe(200);
    expect(repaid.body.data.transaction.type).toBe('repay');
    const overRepaid = await call('post', REPAY, { id }, (r) => r.set(asBorrower).send({ amount: '100000' }));
    expect(overRepaid.status).toBe(422);
    expect(overRepaid.body.error.code).toBe('over_repayment');
    expect((await call('post', REPAY, { id }, (r) => r.set(asBorrower).set('idempotency-key', `repay-${id}`).send({ amount: '1' }))).status).toBe(422);
    expect((await call('post', REPAY, { id }, (r) => r.set(asBorrower).send({ amount: 1 }))).status).toBe(400);
    expect((await call('post', REPAY, { id: UNKNOWN_LINE }, (r) => r.set(asBorrower).send({ amount: '1' }))).status).toBe(404);
    expect((await call('post', REPAY, { id }, (r) => r.send({ amount: '1' }))).status).toBe(401);
    expect((await call('post', REPAY, { id }, (r) => r.set(asBorrower).set('content-type', 'text/plain').send('1'))).status).toBe(415);
    expect((await call('post', REPAY, { id }, (r) => r.set(asBorrower).send({ amount: TOO_BIG }))).status).toBe(413);

    const ledger = await call('get', TRANSACTIONS, { id }, (r) => r.set(asBorrower).query({ limit: 1 }));
    expect(ledger.body.data.items.map((e: { type: string }) => e.type)).toEqual(['repay']);
    const ledgerRest = await call('get', TRANSACTIONS, { id }, (r) => r.set(client).query({ cursor: ledger.body.data.nextCursor }));
    expect(ledgerRest.body.data.items.map((e: { type: string }) => e.type)).toContain('draw');
    expect(ledgerRest.body.data.nextCursor).toBeNull();
    expect((await call('get', TRANSACTIONS, { id }, (r) => r.set(asStranger))).status).toBe(403);
    expect((await call('get', TRANSACTIONS, { id: UNKNOWN_LINE }, (r) => r.set(client))).status).toBe(404);
    expect((await call('get', TRANSACTIONS, { id }, (r) => r.set(client).query({ cursor: 'bm9wZQ' }))).status).toBe(400);
    expect((await call('get', TRANSACTIONS, { id })).status).toBe(401);

    const schedule = await call('get', SCHEDULE, { id }, (r) => r.set(asBorrower));
    expect(schedule.status).toBe(200);
    expect(schedule.body.data).toMatchObject({ standing: 'current', daysPastDue: 0, nextDue: null });
    expect((await call('get', SCHEDULE, { id }, (r) => r.set(asStranger))).status).toBe(403);
    expect((await call('get', SCHEDULE, { id: UNKNOWN_LINE }, (r) => r.set(client))).status).toBe(404);
    expect((await call('get', SCHEDULE, { id: 'nope' }, (r) => r.set(client))).status).toBe(400);
    expect((await call('get', SCHEDULE, { id })).status).toBe(401);

    // --- admin: terms ----------------------------------------------------------------------------------------
    expect((await call('patch', LINE, { id }, (r) => r.set(client).send({ creditLimit: '2000' }))).status).toBe(403);
    expect((await call('patch', LINE, { id }, (r) => r.send({ creditLimit: '2000' }))).status).toBe(401);
    const empty = await call('patch', LINE, { id }, (r) => r.set(admin).send({}));
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0].rule).toBe('at_least_one');
    expect((await call('patch', LINE, { id }, (r) => r.set(admin).send({ creditLimit: '1000000' }))).body.error.code).toBe('credit_limit_above_cap');
    // the rate-change guard: at most 500 bps per change, and not again within a day
    const tooLarge = await call('patch', LINE, { id }, (r) => r.set(admin).send({ interestRateBps: 1800 }));
    expect(tooLarge.status).toBe(422);
    expect(tooLarge.body.error).toMatchObject({ code: 'rate_change_too_large', details: { currentInterestRateBps: 1200, maxStepBps: 500 } });
    // a limit below the balance restricts the line (no draws) until a limit covers it again
    const lowered = await call('patch', LINE, { id }, (r) => r.set(admin).send({ creditLimit: '100' }));
    expect(lowered.status).toBe(200);
    expect(lowered.body.data).toMatchObject({ status: 'restricted', creditLimit: '100.0000000', availableCredit: '0.0000000', interestRateBps: 1200, rateUpdatedAt: null });
    expect((await call('post', DRAW, { id }, (r) => r.set(asBorrower).send({ amount: '1' }))).body.error).toMatchObject({
      code: 'invalid_status',
      details: { currentStatus: 'restricted' },
    });
    const updated = await call('patch', LINE, { id }, (r) => r.set(admin).send({ creditLimit: '2000', interestRateBps: 1500 }));
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ creditLimit: '2000.0000000', interestRateBps: 1500, status: 'active', riskScore: 30, rateUpdatedAt: updated.body.data.updatedAt });
    const tooSoon = await call('patch', LINE, { id }, (r) => r.set(admin).send({ interestRateBps: 1400 }));
    expect(tooSoon.status).toBe(422);
    expect(tooSoon.body.error).toMatchObject({ code: 'rate_change_too_soon', details: { nextChangeAt: new Date(Date.parse(updated.body.data.updatedAt) + 86_400_000).toISOString() } });
    expect((await call('patch', LINE, { id: UNKNOWN_LINE }, (r) => r.set(admin).send({ interestRateBps: 1 }))).status).toBe(404);
    expect((await call('patch', LINE, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('patch', LINE, { id }, (r) => r.set(admin).send({ creditLimit: TOO_BIG }))).status).toBe(413);

    // --- admin: the state machine ---------------------------------------------------------------------------
    expect((await call('post', SUSPEND, { id }, (r) => r.set(client))).status).toBe(403);
    expect((await call('post', SUSPEND, { id })).status).toBe(401);
    const suspended = await call('post', SUSPEND, { id }, (r) => r.set(admin).set('idempotency-key', `suspend-${id}`).send({ reason: 'late payment' }));
    expect(suspended.body.data.status).toBe('suspended');
    expect((await call('post', SUSPEND, { id }, (r) => r.set(admin).set('idempotency-key', `suspend-${id}`).send({ reason: 'late payment' }))).headers['idempotency-replayed']).toBe(
      'true',
    );
    expect((await call('post', SUSPEND, { id }, (r) => r.set(admin).set('idempotency-key', `suspend-${id}`).send({ reason: 'other' }))).status).toBe(422);
    const again = await call('post', SUSPEND, { id }, (r) => r.set(admin));
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'invalid_transition', details: { currentStatus: 'suspended', action: 'suspend' } });
    expect((await call('post', SUSPEND, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
    expect((await call('post', SUSPEND, { id }, (r) => r.set(admin).send({ reason: 'x'.repeat(501) }))).status).toBe(400);
    expect((await call('post', SUSPEND, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('post', SUSPEND, { id }, (r) => r.set(admin).send({ reason: TOO_BIG }))).status).toBe(413);

    const drawSuspended = await call('post', DRAW, { id }, (r) => r.set(asBorrower).send({ amount: '1' }));
    expect(drawSuspended.status).toBe(409);
    expect(drawSuspended.body.error.code).toBe('invalid_status');

    const reinstated = await call('post', REINSTATE, { id }, (r) => r.set(admin).set('idempotency-key', `reinstate-${id}`));
    expect(reinstated.body.data.status).toBe('active');
    expect((await call('post', REINSTATE, { id }, (r) => r.set(admin).set('idempotency-key', `reinstate-${id}`))).headers['idempotency-replayed']).toBe('true');
    expect((await call('post', REINSTATE, { id }, (r) => r.set(admin).set('idempotency-key', `reinstate-${id}`).send({ reason: 'x' }))).status).toBe(422);
    expect((await call('post', REINSTATE, { id }, (r) => r.set(admin))).status).toBe(409);
    expect((await call('post', REINSTATE, { id }, (r) => r.set(client))).status).toBe(403);
    expect((await call('post', REINSTATE, { id })).status).toBe(401);
    expect((await call('post', REINSTATE, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
    expect((await call('post', REINSTATE, { id }, (r) => r.set(admin).send({ why: 'x' }))).status).toBe(400);
    expect((await call('post', REINSTATE, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('post', REINSTATE, { id }, (r) => r.set(admin).send({ reason: TOO_BIG }))).status).toBe(413);

    const owes = await call('post', CLOSE, { id }, (r) => r.set(admin).set('idempotency-key', `close-early-${id}`));
    expect(owes.status).toBe(422);
    expect(owes.body.error.code).toBe('outstanding_balance');
    expect((await call('post', CLOSE, { id }, (r) => r.set(admin).set('idempotency-key', `close-early-${id}`).send({ reason: 'x' }))).body.error.code).toBe('idempotency_key_reused');
    expect((await call('post', CLOSE, { id }, (r) => r.set(client))).status).toBe(403);
    expect((await call('post', CLOSE, { id })).status).toBe(401);
    expect((await call('post', CLOSE, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
    expect((await call('post', CLOSE, { id }, (r) => r.set(admin).send({ reason: 7 }))).status).toBe(400);
    expect((await call('post', CLOSE, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('post', CLOSE, { id }, (r) => r.set(admin).send({ reason: TOO_BIG }))).status).toBe(413);

    const defaulted = await call('post', DEFAULT, { id }, (r) => r.set(admin).set('idempotency-key', `default-${id}`).send({ reason: 'no payment for 90 days' }));
    expect(defaulted.body.data.status).toBe('defaulted');
    expect((await call('post', DEFAULT, { id }, (r) => r.set(admin).set('idempotency-key', `default-${id}`).send({ reason: 'no payment for 90 days' }))).headers['idempotency-replayed']).toBe(
      'true',
    );
    expect((await call('post', DEFAULT, { id }, (r) => r.set(admin).set('idempotency-key', `default-${id}`))).status).toBe(422);
    expect((await call('post', DEFAULT, { id }, (r) => r.set(admin))).status).toBe(409);
    expect((await call('post', DEFAULT, { id }, (r) => r.set(client))).status).toBe(403);
    expect((await call('post', DEFAULT, { id })).status).toBe(401);
    expect((await call('post', DEFAULT, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
    expect((await call('post', DEFAULT, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
    expect((await call('post', DEFAULT, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('post', DEFAULT, { id }, (r) => r.set(admin).send({ reason: TOO_BIG }))).status).toBe(413);

    // a defaulted line still takes repayments, then closes with the remainder written off
    expect((await call('post', REPAY, { id }, (r) => r.set(asBorrower).send({ amount: '50' }))).status).toBe(200);
    const closed = await call('post', CLOSE, { id }, (r) => r.set(admin).set('idempotency-key', `close-${id}`).send({ reason: 'written off' }));
    expect(closed.status).toBe(200);
    expect(closed.body.data).toMatchObject({ status: 'closed', utilized: '0.0000000', accruedInterest: '0.0000000' });
    expect((await call('post', CLOSE, { id }, (r) => r.set(admin).set('idempotency-key', `close-${id}`).send({ reason: 'written off' }))).headers['idempotency-replayed']).toBe('true');
    const writeOff = await call('get', TRANSACTIONS, { id }, (r) => r.set(admin).query({ limit: 1 }));
    expect(writeOff.body.data.items[0]).toMatchObject({ type: 'write_off', utilizedAfter: '0.0000000' });
    expect(BigInt(writeOff.body.data.items[0].amount.replace('.', ''))).toBeGreaterThanOrEqual(2_500_000_000n);

    // a closed line refuses everything but reads
    expect((await call('post', CLOSE, { id }, (r) => r.set(admin))).body.error.code).toBe('invalid_transition');
    expect((await call('post', REINSTATE, { id }, (r) => r.set(admin))).body.error.code).toBe('invalid_transition');
    expect((await call('post', REPAY, { id }, (r) => r.set(asBorrower).send({ amount: '1' }))).body.error.code).toBe('invalid_status');
    const patchClosed = await call('patch', LINE, { id }, (r) => r.set(admin).send({ interestRateBps: 1 }));
    expect(patchClosed.status).toBe(409);
    expect(patchClosed.body.error.code).toBe('invalid_status');

    // the wallet may open a new line once the old one is closed
    expect((await call('post', LINES, {}, (r) => r.set(asBorrower).send(openBody))).status).toBe(201);
    expect((await call('get', WALLET_LINES, { walletAddress: wallet }, (r) => r.set(client).query({ limit: 1 }))).body.data.nextCursor).toEqual(expect.any(String));

    // --- the audit log -------------------------------------------------------------------------------------
    const audit = await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'credit_line', targetId: id }));
    expect(audit.status).toBe(200);
    expect(audit.body.data.items.map((e: { action: string }) => e.action)).toEqual([
      'credit_line.close',
      'credit_line.default',
      'credit_line.reinstate',
      'credit_line.suspend',
      'credit_line.update',
      'credit_line.update',
    ]);
    expect(JSON.stringify(audit.body)).not.toContain(wallet);
    const auditPage = await call('get', AUDIT, {}, (r) => r.set(admin).query({ limit: 2 }));
    expect(auditPage.body.data.items).toHaveLength(2);
    expect((await call('get', AUDIT, {}, (r) => r.set(admin).query({ limit: 2, cursor: auditPage.body.data.nextCursor }))).status).toBe(200);
    expect((await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'x'.repeat(65) }))).status).toBe(400);
    expect((await call('get', AUDIT, {}, (r) => r.set(client))).status).toBe(403);
    expect((await call('get', AUDIT)).status).toBe(401);

    // --- an unknown route is an enveloped 404 too -------------------------------------------------------------
    const noRoute = await request(t.app).get('/api/nope').set(client);
    expect(noRoute.status).toBe(404);
    expectMatchesComponent('NotFoundErrorEnvelope', noRoute.body);
  });

  it('answers 409 idempotency_request_in_flight while the first request with a key is running', async () => {
    const { call } = api;
    const borrower = Keypair.random();
    const { headers } = await signIn(call, borrower);
    const opened = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: borrower.publicKey(), creditLimit: '100', interestRateBps: 500 }));
    const id = opened.body.data.id as string;
    const service = t.container.services.creditLines;
    const draw = service.draw.bind(service);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    vi.spyOn(service, 'draw').mockImplementationOnce(async (...args) => {
      entered();
      await gate;
      return draw(...args);
    });

    const first = call('post', DRAW, { id }, (r) => r.set(headers).set('idempotency-key', 'slow-draw').send({ amount: '10' }));
    await started;
    const second = await call('post', DRAW, { id }, (r) => r.set(headers).set('idempotency-key', 'slow-draw').send({ amount: '10' }));
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('idempotency_request_in_flight');
    release();
    expect((await first).status).toBe(200);
    expect((await call('post', DRAW, { id }, (r) => r.set(headers).set('idempotency-key', 'slow-draw').send({ amount: '10' }))).headers['idempotency-replayed']).toBe('true');
  });

  it('manages webhook endpoints, delivers signed events and dead-letters failures, every response as documented', async () => {
    const { call } = api;
    const webhooks = t.container.services.webhooks;
    const dispatch = () => webhooks.dispatch('spec-worker');
    // The events of the tests above go nowhere: no endpoint exists yet.
    while ((await webhooks.fanOut()) > 0);
    const receiver = await startReceiver();
    try {
      const body = { url: receiver.url, eventTypes: ['credit_line.created', 'credit_line.drawn'], description: 'spec receiver' };

      // --- what creating refuses ---------------------------------------------------------------------------
      expect((await call('post', WEBHOOKS, {}, (r) => r.send(body))).status).toBe(401);
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(client).send(body))).body.error.code).toBe('admin_required');
      const badTypes = await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ ...body, eventTypes: ['credit_line.created', 'credit_line.exploded'] }));
      expect(badTypes.status).toBe(400);
      expect(badTypes.body.error.details).toEqual([expect.objectContaining({ field: 'eventTypes.1', rule: 'enum' })]);
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ ...body, eventTypes: 'credit_line.created' }))).status).toBe(400);
      const invalid = await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ eventTypes: [], secret: 'whsec_mine' }));
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['secret', 'url']);
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).set('content-type', 'application/json').send('{"url":'))).body.error.code).toBe('malformed_json');
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).set('idempotency-key', 'has a space').send(body))).status).toBe(400);
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).set('content-type', 'text/plain').send(receiver.url))).status).toBe(415);
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ ...body, description: TOO_BIG }))).status).toBe(413);
      for (const url of ['not a url', 'ftp://example.com/hooks']) {
        const unsafe = await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ ...body, url }));
        expect(unsafe.status, url).toBe(422);
        expect(unsafe.body.error).toMatchObject({ code: 'unsafe_webhook_url', details: { field: 'url' } });
      }

      // --- creating, idempotently: the only response with the secret -----------------------------------------
      const created = await call('post', WEBHOOKS, {}, (r) => r.set(admin).set('idempotency-key', `webhook-${kind}`).send(body));
      expect(created.status).toBe(201);
      expect(created.body.data).toMatchObject({ ...body, enabled: true, disabledReason: null, failingSince: null, previousSecretExpiresAt: null });
      expect(created.body.data.secret).toMatch(/^whsec_/);
      const id = created.body.data.id as string;
      const firstSecret = created.body.data.secret as string;
      const replayed = await call('post', WEBHOOKS, {}, (r) => r.set(admin).set('idempotency-key', `webhook-${kind}`).send(body));
      expect(replayed.headers['idempotency-replayed']).toBe('true');
      expect(replayed.body).toEqual(created.body);
      const reused = await call('post', WEBHOOKS, {}, (r) => r.set(admin).set('idempotency-key', `webhook-${kind}`).send({ ...body, enabled: false }));
      expect(reused.status).toBe(422);
      expect(reused.body.error.code).toBe('idempotency_key_reused');

      // a retry while the first request with its key is still running
      const service = t.container.services.webhooks;
      const create = service.create.bind(service);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const started = new Promise<void>((resolve) => (entered = resolve));
      vi.spyOn(service, 'create').mockImplementationOnce(async (...args) => {
        entered();
        await gate;
        return create(...args);
      });
      const slowBody = { url: receiver.url, eventTypes: ['credit_line.closed'] };
      const slow = call('post', WEBHOOKS, {}, (r) => r.set(admin).set('idempotency-key', 'slow-webhook').send(slowBody));
      await started;
      const inFlight = await call('post', WEBHOOKS, {}, (r) => r.set(admin).set('idempotency-key', 'slow-webhook').send(slowBody));
      expect(inFlight.status).toBe(409);
      expect(inFlight.body.error.code).toBe('idempotency_request_in_flight');
      release();
      const slowCreated = await slow;
      expect(slowCreated.status).toBe(201);
      expect((await call('delete', WEBHOOK, { id: slowCreated.body.data.id }, (r) => r.set(admin))).body.data).toEqual({ id: slowCreated.body.data.id, deleted: true });

      // --- reading: never a secret ---------------------------------------------------------------------------
      const list = await call('get', WEBHOOKS, {}, (r) => r.set(admin));
      expect(list.status).toBe(200);
      expect(list.body.data.items.map((e: { id: string }) => e.id)).toEqual([id]);
      expect(JSON.stringify(list.body)).not.toContain('whsec_');
      expect((await call('get', WEBHOOKS, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', WEBHOOKS)).status).toBe(401);
      const read = await call('get', WEBHOOK, { id }, (r) => r.set(admin));
      expect(read.status).toBe(200);
      expect(read.body.data).not.toHaveProperty('secret');
      const { secret: _secret, ...publicCreated } = created.body.data as Record<string, unknown>;
      expect(read.body.data).toEqual(publicCreated);
      const unknownEndpoint = await call('get', WEBHOOK, { id: UNKNOWN_LINE }, (r) => r.set(admin));
      expect(unknownEndpoint.status).toBe(404);
      expect(unknownEndpoint.body.error.details).toEqual({ resource: 'Webhook endpoint' });
      expect((await call('get', WEBHOOK, { id: 'not-a-uuid' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('get', WEBHOOK, { id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', WEBHOOK, { id })).status).toBe(401);

      // --- changing --------------------------------------------------------------------------------------------
      const described = await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ description: 'the spec receiver' }));
      expect(described.status).toBe(200);
      expect(described.body.data).toMatchObject({ description: 'the spec receiver', eventTypes: body.eventTypes, url: receiver.url });
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ description: null }))).body.data.description).toBeNull();
      const noChange = await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({}));
      expect(noChange.status).toBe(400);
      expect(noChange.body.error.details[0].rule).toBe('at_least_one');
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ eventTypes: ['credit_line.nope'] }))).status).toBe(400);
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ enabled: 'yes' }))).status).toBe(400);
      expect((await call('patch', WEBHOOK, { id: 'nope' }, (r) => r.set(admin).send({ enabled: true }))).status).toBe(400);
      const unsafePatch = await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ url: 'gopher://example.com/hooks' }));
      expect(unsafePatch.status).toBe(422);
      expect(unsafePatch.body.error).toMatchObject({ code: 'unsafe_webhook_url', details: { field: 'url' } });
      expect((await call('patch', WEBHOOK, { id: UNKNOWN_LINE }, (r) => r.set(admin).send({ enabled: true }))).status).toBe(404);
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(client).send({ enabled: true }))).status).toBe(403);
      expect((await call('patch', WEBHOOK, { id }, (r) => r.send({ enabled: true }))).status).toBe(401);
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ description: TOO_BIG }))).status).toBe(413);

      // --- rotating the secret: the old one keeps signing for 24 h -------------------------------------------------
      const rotated = await call('post', ROTATE_SECRET, { id }, (r) => r.set(admin));
      expect(rotated.status).toBe(200);
      const secret = rotated.body.data.secret as string;
      expect(secret).not.toBe(firstSecret);
      const overlapMs = Date.parse(rotated.body.data.previousSecretExpiresAt) - Date.now();
      expect(overlapMs).toBeGreaterThan(24 * 3_600_000 - 60_000);
      expect(overlapMs).toBeLessThanOrEqual(24 * 3_600_000);
      expect((await call('post', ROTATE_SECRET, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('post', ROTATE_SECRET, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('post', ROTATE_SECRET, { id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('post', ROTATE_SECRET, { id })).status).toBe(401);
      expect((await call('post', ROTATE_SECRET, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', ROTATE_SECRET, { id }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);

      // --- a test event, signed with both secrets ------------------------------------------------------------------
      const tested = await call('post', TEST_WEBHOOK, { id }, (r) => r.set(admin));
      expect(tested.status).toBe(200);
      expect(tested.body.data).toMatchObject({ ok: true, statusCode: 200, error: null });
      const testEvent = receiver.last();
      expectMatchesWebhook('webhookEndpointEvent', testEvent);
      expect(testEvent.body).toMatchObject({ id: tested.body.data.eventId, type: 'webhook.test', data: { endpointId: id } });
      expect(testEvent.headers['webhook-id']).toBe(tested.body.data.eventId);
      expect(String(testEvent.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifySignature(secret, testEvent)).toEqual(testEvent.body);
      expect(verifySignature(firstSecret, testEvent)).toEqual(testEvent.body);
      expect(() => verifySignature(generateSecret(), testEvent)).toThrow();
      receiver.answer(503);
      expect((await call('post', TEST_WEBHOOK, { id }, (r) => r.set(admin))).body.data).toMatchObject({ ok: false, statusCode: 503, error: null });
      receiver.answer(200);
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ url: 'http://127.0.0.1:1/hooks' }))).status).toBe(200);
      const unreachable = await call('post', TEST_WEBHOOK, { id }, (r) => r.set(admin));
      expect(unreachable.body.data).toMatchObject({ ok: false, statusCode: null, error: expect.any(String) });
      expect((await call('patch', WEBHOOK, { id }, (r) => r.set(admin).send({ url: receiver.url }))).status).toBe(200);
      expect((await call('post', TEST_WEBHOOK, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('post', TEST_WEBHOOK, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('post', TEST_WEBHOOK, { id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('post', TEST_WEBHOOK, { id })).status).toBe(401);
      expect((await call('post', TEST_WEBHOOK, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', TEST_WEBHOOK, { id }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);

      // --- a credit line event becomes a delivery; the receiver fails it twice and it dies ---------------------------
      receiver.answer(500);
      const line = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '100', interestRateBps: 100 }));
      expect(line.status).toBe(201);
      expect(await webhooks.fanOut()).toBe(1);
      expect(await dispatch()).toBe(1);
      const event = receiver.last();
      expectMatchesWebhook('creditLineEvent', event);
      expect(event.body).toMatchObject({ type: 'credit_line.created', data: { creditLine: line.body.data } });
      expect(event.headers['webhook-id']).toBe(event.body.id);
      expect(verifySignature(secret, event)).toEqual(event.body);

      const retrying = await call('get', DELIVERIES, { id }, (r) => r.set(admin));
      expect(retrying.status).toBe(200);
      expect(retrying.body.data.items).toHaveLength(1);
      const deliveryId = retrying.body.data.items[0].id as string;
      expect(retrying.body.data.items[0]).toMatchObject({
        endpointId: id,
        eventId: event.body.id,
        eventType: 'credit_line.created',
        status: 'retrying',
        attempts: 1,
        maxAttempts: 2,
        lastResponseCode: 500,
        lastError: 'HTTP 500',
        nextAttemptAt: expect.any(String),
      });
      expect((await call('get', WEBHOOK, { id }, (r) => r.set(admin))).body.data.failingSince).toEqual(expect.any(String));

      await sleep(10);
      expect(await dispatch()).toBe(1);
      expect(receiver.last().headers['webhook-id']).toBe(event.body.id);
      const dead = await call('get', DELIVERIES, { id }, (r) => r.set(admin).query({ limit: 1 }));
      expect(dead.body.data).toMatchObject({
        items: [{ id: deliveryId, status: 'dead', attempts: 2, lastResponseCode: 500, nextAttemptAt: null, lastAttemptAt: expect.any(String) }],
        nextCursor: null,
      });
      expect(dead.body.data.items[0].lastError).toMatch(/HTTP 500/);
      for (const query of [{ limit: 0 }, { limit: 101 }, { cursor: 'not-a-cursor' }, { status: 'dead' }]) {
        expect((await call('get', DELIVERIES, { id }, (r) => r.set(admin).query(query))).status, JSON.stringify(query)).toBe(400);
      }
      expect((await call('get', DELIVERIES, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('get', DELIVERIES, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('get', DELIVERIES, { id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', DELIVERIES, { id })).status).toBe(401);

      // --- the dead letter, and retrying its job ---------------------------------------------------------------------
      const deadJobs = await call('get', JOBS, {}, (r) => r.set(admin).query({ status: 'dead', queue: 'webhook.delivery' }));
      expect(deadJobs.status).toBe(200);
      expect(deadJobs.body.data.items).toContainEqual(
        expect.objectContaining({ id: deliveryId, queue: 'webhook.delivery', subject: id, status: 'dead', attempts: 2, maxAttempts: 2, finishedAt: expect.any(String) }),
      );
      expect((await call('get', JOBS, {}, (r) => r.set(admin))).body.data.items.map((j: { id: string }) => j.id)).toContain(deliveryId);
      expect((await call('get', JOBS, {}, (r) => r.set(admin).query({ status: 'queued', limit: 5 }))).status).toBe(200);
      for (const query of [{ status: 'buried' }, { limit: 0 }, { queue: 'q'.repeat(65) }, { cursor: 'not-a-cursor' }, { subject: id }]) {
        expect((await call('get', JOBS, {}, (r) => r.set(admin).query(query))).status, JSON.stringify(query)).toBe(400);
      }
      expect((await call('get', JOBS, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', JOBS)).status).toBe(401);

      const retried = await call('post', RETRY_JOB, { id: deliveryId }, (r) => r.set(admin));
      expect(retried.status).toBe(202);
      expect(retried.body.data).toMatchObject({ id: deliveryId, status: 'queued', attempts: 0, finishedAt: null });
      const notFinished = await call('post', RETRY_JOB, { id: deliveryId }, (r) => r.set(admin));
      expect(notFinished.status).toBe(409);
      expect(notFinished.body.error).toMatchObject({ code: 'job_not_finished', details: { currentStatus: 'queued' } });
      const unknownJob = await call('post', RETRY_JOB, { id: UNKNOWN_LINE }, (r) => r.set(admin));
      expect(unknownJob.status).toBe(404);
      expect(unknownJob.body.error.details).toEqual({ resource: 'Job' });
      expect((await call('post', RETRY_JOB, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('post', RETRY_JOB, { id: deliveryId }, (r) => r.set(client))).status).toBe(403);
      expect((await call('post', RETRY_JOB, { id: deliveryId })).status).toBe(401);
      expect((await call('post', RETRY_JOB, { id: deliveryId }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', RETRY_JOB, { id: deliveryId }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);

      // --- replaying: not while it is on its way; the same event again once it is delivered -------------------------
      const pending = await call('post', REPLAY, { id: deliveryId }, (r) => r.set(admin));
      expect(pending.status).toBe(409);
      expect(pending.body.error).toMatchObject({ code: 'delivery_pending', details: { currentStatus: 'queued' } });
      receiver.answer(200);
      expect(await dispatch()).toBe(1);
      const delivered = await call('get', DELIVERIES, { id }, (r) => r.set(admin));
      expect(delivered.body.data.items[0]).toMatchObject({ id: deliveryId, status: 'delivered', attempts: 1, lastResponseCode: 200, lastError: null, nextAttemptAt: null });
      expect((await call('get', WEBHOOK, { id }, (r) => r.set(admin))).body.data.failingSince).toBeNull();

      const replay = await call('post', REPLAY, { id: deliveryId }, (r) => r.set(admin));
      expect(replay.status).toBe(202);
      expect(replay.body.data).toMatchObject({ id: deliveryId, eventId: event.body.id, status: 'pending', attempts: 0, nextAttemptAt: expect.any(String) });
      expect((await call('post', REPLAY, { id: deliveryId }, (r) => r.set(admin))).body.error.code).toBe('delivery_pending');
      expect(await dispatch()).toBe(1);
      const resent = receiver.last();
      expect({ id: resent.headers['webhook-id'], body: resent.raw }).toEqual({ id: event.body.id, body: event.raw });
      expect(verifySignature(secret, resent)).toEqual(event.body);
      const unknownDelivery = await call('post', REPLAY, { id: UNKNOWN_LINE }, (r) => r.set(admin));
      expect(unknownDelivery.status).toBe(404);
      expect(unknownDelivery.body.error.details).toEqual({ resource: 'Webhook delivery' });
      expect((await call('post', REPLAY, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('post', REPLAY, { id: deliveryId }, (r) => r.set(client))).status).toBe(403);
      expect((await call('post', REPLAY, { id: deliveryId })).status).toBe(401);
      expect((await call('post', REPLAY, { id: deliveryId }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', REPLAY, { id: deliveryId }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);

      // --- deleting -------------------------------------------------------------------------------------------------------
      expect((await call('delete', WEBHOOK, { id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('delete', WEBHOOK, { id })).status).toBe(401);
      expect((await call('delete', WEBHOOK, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('delete', WEBHOOK, { id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('delete', WEBHOOK, { id }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);
      const deleted = await call('delete', WEBHOOK, { id }, (r) => r.set(admin));
      expect(deleted.status).toBe(200);
      expect(deleted.body.data).toEqual({ id, deleted: true });
      expect((await call('delete', WEBHOOK, { id }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('get', WEBHOOK, { id }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('get', DELIVERIES, { id }, (r) => r.set(admin))).status).toBe(404);
      const orphan = await call('post', REPLAY, { id: deliveryId }, (r) => r.set(admin));
      expect(orphan.status).toBe(409);
      expect(orphan.body.error.code).toBe('endpoint_missing');

      // --- the audit log never holds a secret -----------------------------------------------------------------------------
      const audit = await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'webhook_endpoint', targetId: id }));
      const actions = audit.body.data.items.map((e: { action: string }) => e.action);
      expect([actions[0], actions.at(-1)]).toEqual(['webhook.delete', 'webhook.create']);
      expect(actions).toContain('webhook.rotate_secret');
      expect(JSON.stringify(audit.body)).not.toContain('whsec_');
    } finally {
      await receiver.close();
    }
  });

  it('evaluates wallets, keeps their history and applies evaluations to lines, every response as documented', async () => {
    const { call } = api;
    const borrower = Keypair.random();
    const wallet = borrower.publicKey();
    const { headers: asBorrower } = await signIn(call, borrower);
    const { headers: asStranger } = await signIn(call, Keypair.random());
    const webhooks = t.container.services.webhooks;
    // The events of the tests above go nowhere; from here on a receiver hears every risk and line event.
    while ((await webhooks.fanOut()) > 0);
    const receiver = await startReceiver();
    try {
      const endpoint = await call('post', WEBHOOKS, {}, (r) =>
        r.set(admin).send({ url: receiver.url, eventTypes: ['risk.evaluated', 'risk.limit_changed', 'credit_line.created', 'credit_line.updated'] }),
      );
      expect(endpoint.status).toBe(201);

      // --- what evaluating refuses ----------------------------------------------------------------------------
      expect((await call('post', EVALUATE, {}, (r) => r.send({ walletAddress: wallet }))).body.error.code).toBe('unauthorized');
      expect((await call('post', EVALUATE, {}, (r) => r.set({ ...client, authorization: 'Bearer not.a.token' }).send({ walletAddress: wallet }))).body.error.code).toBe(
        'token_invalid',
      );
      const stranger = await call('post', EVALUATE, {}, (r) => r.set(asStranger).send({ walletAddress: wallet }));
      expect(stranger.status).toBe(403);
      expect(stranger.body.error.code).toBe('wallet_forbidden');
      const invalid = await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: 'GNOTAWALLET', forceRefresh: 'yes', colour: 'blue' }));
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['colour', 'forceRefresh', 'walletAddress']);
      expect((await call('post', EVALUATE, {}, (r) => r.set(client).send({}))).status).toBe(400);
      expect((await call('post', EVALUATE, {}, (r) => r.set(client).set('content-type', 'application/json').send('{"walletAddress":'))).body.error.code).toBe('malformed_json');
      expect((await call('post', EVALUATE, {}, (r) => r.set(client).set('idempotency-key', 'has a space').send({ walletAddress: wallet }))).status).toBe(400);
      expect((await call('post', EVALUATE, {}, (r) => r.set(client).set('content-type', 'text/plain').send(wallet))).status).toBe(415);
      expect((await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: wallet, pad: TOO_BIG }))).status).toBe(413);

      // --- a new evaluation, idempotently; then the cached one; then a forced refresh ---------------------------
      const first = await call('post', EVALUATE, {}, (r) => r.set(asBorrower).set('idempotency-key', `evaluate-${wallet}`).send({ walletAddress: wallet }));
      expect(first.status).toBe(201);
      expect(first.body.data).toMatchObject({
        walletAddress: wallet,
        provider: 'static',
        modelVersion: 'static',
        score: 70,
        contractRiskScore: 30,
        band: 'B',
        decision: 'approve',
        creditLimit: '5000.0000000',
        interestRateBps: 1200,
        signals: [],
        inputs: { staticScore: 70 },
        application: null,
        cached: false,
      });
      expect(Date.parse(first.body.data.expiresAt) - Date.parse(first.body.data.evaluatedAt)).toBe(24 * 3_600_000);
      const replayed = await call('post', EVALUATE, {}, (r) => r.set(asBorrower).set('idempotency-key', `evaluate-${wallet}`).send({ walletAddress: wallet }));
      expect(replayed.status).toBe(201);
      expect(replayed.headers['idempotency-replayed']).toBe('true');
      expect(replayed.body).toEqual(first.body);
      const reused = await call('post', EVALUATE, {}, (r) => r.set(asBorrower).set('idempotency-key', `evaluate-${wallet}`).send({ walletAddress: wallet, forceRefresh: true }));
      expect(reused.status).toBe(422);
      expect(reused.body.error.code).toBe('idempotency_key_reused');
      // An API key alone may evaluate (like a read): the still-valid evaluation comes back.
      const cached = await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: wallet, forceRefresh: false }));
      expect(cached.status).toBe(200);
      expect(cached.body.data).toEqual({ ...first.body.data, cached: true });
      const refreshed = await call('post', EVALUATE, {}, (r) => r.set(asBorrower).send({ walletAddress: wallet, forceRefresh: true }));
      expect(refreshed.status).toBe(201);
      expect(refreshed.body.data).toMatchObject({ walletAddress: wallet, score: 70, cached: false });
      expect(refreshed.body.data.id).not.toBe(first.body.data.id);

      // --- reading one, and the history ---------------------------------------------------------------------------
      const { cached: _cached, ...firstEvaluation } = first.body.data as Record<string, unknown>;
      const read = await call('get', EVALUATION, { id: first.body.data.id }, (r) => r.set(asBorrower));
      expect(read.status).toBe(200);
      expect(read.body.data).toEqual(firstEvaluation);
      expect((await call('get', EVALUATION, { id: first.body.data.id }, (r) => r.set(admin))).status).toBe(200);
      expect((await call('get', EVALUATION, { id: first.body.data.id }, (r) => r.set(asStranger))).body.error.code).toBe('wallet_forbidden');
      expect((await call('get', EVALUATION, { id: first.body.data.id })).status).toBe(401);
      const unknown = await call('get', EVALUATION, { id: UNKNOWN_LINE }, (r) => r.set(client));
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.details).toEqual({ resource: 'Risk evaluation' });
      expect((await call('get', EVALUATION, { id: 'nope' }, (r) => r.set(client))).status).toBe(400);

      const newest = await call('get', RISK_HISTORY, { walletAddress: wallet }, (r) => r.set(asBorrower).query({ limit: 1 }));
      expect(newest.status).toBe(200);
      expect(newest.body.data.items.map((e: { id: string }) => e.id)).toEqual([refreshed.body.data.id]);
      const older = await call('get', RISK_HISTORY, { walletAddress: wallet }, (r) => r.set(client).query({ limit: 1, cursor: newest.body.data.nextCursor }));
      const { signals: _signals, inputs: _inputs, ...firstSummary } = firstEvaluation;
      expect(older.body.data).toEqual({ items: [firstSummary], nextCursor: null }); // a history lists summaries
      expect((await call('get', RISK_HISTORY, { walletAddress: wallet }, (r) => r.set(asStranger))).status).toBe(403);
      expect((await call('get', RISK_HISTORY, { walletAddress: 'GNOTAWALLET' }, (r) => r.set(client))).status).toBe(400);
      for (const query of [{ limit: 0 }, { limit: 101 }, { cursor: 'not-a-cursor' }, { provider: 'static' }]) {
        expect((await call('get', RISK_HISTORY, { walletAddress: wallet }, (r) => r.set(client).query(query))).status, JSON.stringify(query)).toBe(400);
      }
      expect((await call('get', RISK_HISTORY, { walletAddress: wallet })).status).toBe(401);

      // --- opening takes the current evaluation's terms (no new evaluation) ----------------------------------------
      const opened = await call('post', LINES, {}, (r) => r.set(asBorrower).send({ walletAddress: wallet, creditLimit: '1000' }));
      expect(opened.status).toBe(201);
      expect(opened.body.data).toMatchObject({ creditLimit: '1000.0000000', interestRateBps: 1200, riskScore: 30, rateUpdatedAt: null });
      const lineId = opened.body.data.id as string;
      expect((await call('get', RISK_HISTORY, { walletAddress: wallet }, (r) => r.set(client))).body.data.items).toHaveLength(2);

      // --- what applying refuses -------------------------------------------------------------------------------------
      const refreshedId = refreshed.body.data.id as string;
      expect((await call('post', APPLY, { id: refreshedId }, (r) => r.set(client))).body.error.code).toBe('admin_required');
      expect((await call('post', APPLY, { id: refreshedId })).status).toBe(401);
      expect((await call('post', APPLY, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      const unknownApply = await call('post', APPLY, { id: UNKNOWN_LINE }, (r) => r.set(admin));
      expect(unknownApply.status).toBe(404);
      expect(unknownApply.body.error.details).toEqual({ resource: 'Risk evaluation' });
      const superseded = await call('post', APPLY, { id: first.body.data.id }, (r) => r.set(admin));
      expect(superseded.status).toBe(409);
      expect(superseded.body.error).toMatchObject({ code: 'evaluation_superseded', details: { latestEvaluationId: refreshedId } });
      // The route reads no body, but the app still parses one that is sent.
      expect((await call('post', APPLY, { id: refreshedId }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', APPLY, { id: refreshedId }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);
      expect((await call('post', APPLY, { id: refreshedId }, (r) => r.set(admin).set('content-type', 'application/json').send('{"x":'))).body.error.code).toBe('malformed_json');

      // --- applying: the limit rises to the evaluation's, the rate stays (it is the evaluation's already) ------------
      const applied = await call('post', APPLY, { id: refreshedId }, (r) => r.set(admin).set('idempotency-key', `apply-${refreshedId}`));
      expect(applied.status).toBe(200);
      expect(applied.body.data.creditLine).toMatchObject({ id: lineId, creditLimit: '5000.0000000', interestRateBps: 1200, riskScore: 30, status: 'active', rateUpdatedAt: null });
      expect(applied.body.data.evaluation).toMatchObject({
        id: refreshedId,
        application: {
          appliedAt: applied.body.data.creditLine.updatedAt,
          appliedBy: expect.stringMatching(/^admin:[0-9a-f]{12}$/),
          creditLineId: lineId,
          creditLimit: '5000.0000000',
          interestRateBps: 1200,
          rateConstraint: 'none',
        },
      });
      const applyReplayed = await call('post', APPLY, { id: refreshedId }, (r) => r.set(admin).set('idempotency-key', `apply-${refreshedId}`));
      expect(applyReplayed.headers['idempotency-replayed']).toBe('true');
      expect(applyReplayed.body).toEqual(applied.body);
      // A body the route does not read still counts in the request's fingerprint.
      const applyReused = await call('post', APPLY, { id: refreshedId }, (r) => r.set(admin).set('idempotency-key', `apply-${refreshedId}`).send({ note: 'again' }));
      expect(applyReused.status).toBe(422);
      expect(applyReused.body.error.code).toBe('idempotency_key_reused');
      const twice = await call('post', APPLY, { id: refreshedId }, (r) => r.set(admin));
      expect(twice.status).toBe(409);
      expect(twice.body.error).toMatchObject({ code: 'evaluation_already_applied', details: { creditLineId: lineId, appliedAt: applied.body.data.creditLine.updatedAt } });
      expect((await call('get', EVALUATION, { id: refreshedId }, (r) => r.set(client))).body.data).toEqual(applied.body.data.evaluation);
      // The cache keeps serving the applied evaluation; a forced refresh gives one that can be applied.
      expect((await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: wallet }))).body.data).toMatchObject({ id: refreshedId, cached: true });

      // --- an expired evaluation, and a wallet without a line --------------------------------------------------------------
      const staleWallet = Keypair.random().publicKey();
      const now = Date.now();
      const stale = await t.container.store.repos.riskEvaluations.insert({
        id: randomUUID(),
        walletAddress: staleWallet,
        provider: 'static',
        modelVersion: 'static',
        score: 70,
        band: 'B',
        decision: 'approve',
        creditLimit: 50_000_000_000n,
        interestRateBps: 1200,
        signals: [],
        inputs: { staticScore: 70 },
        evaluatedAt: new Date(now - 25 * 3_600_000),
        expiresAt: new Date(now - 3_600_000),
        application: null,
      });
      const expired = await call('post', APPLY, { id: stale.id }, (r) => r.set(admin));
      expect(expired.status).toBe(409);
      expect(expired.body.error).toMatchObject({ code: 'evaluation_expired', details: { expiredAt: stale.expiresAt.toISOString() } });
      const rescored = await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: staleWallet }));
      expect(rescored.status).toBe(201);
      expect(rescored.body.data.id).not.toBe(stale.id);
      const noLine = await call('post', APPLY, { id: rescored.body.data.id }, (r) => r.set(admin));
      expect(noLine.status).toBe(409);
      expect(noLine.body.error.code).toBe('no_open_line');

      // --- a retry while the first apply with its key is running ------------------------------------------------------------
      const again = await call('post', EVALUATE, {}, (r) => r.set(admin).send({ walletAddress: wallet, forceRefresh: true }));
      expect(again.status).toBe(201);
      const service = t.container.services.creditLines;
      const apply = service.applyEvaluation.bind(service);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const started = new Promise<void>((resolve) => (entered = resolve));
      vi.spyOn(service, 'applyEvaluation').mockImplementationOnce(async (...args) => {
        entered();
        await gate;
        return apply(...args);
      });
      const slow = call('post', APPLY, { id: again.body.data.id }, (r) => r.set(admin).set('idempotency-key', `apply-${again.body.data.id}`));
      await started;
      const inFlight = await call('post', APPLY, { id: again.body.data.id }, (r) => r.set(admin).set('idempotency-key', `apply-${again.body.data.id}`));
      expect(inFlight.status).toBe(409);
      expect(inFlight.body.error.code).toBe('idempotency_request_in_flight');
      release();
      const sameTerms = await slow;
      expect(sameTerms.status).toBe(200);
      expect(sameTerms.body.data.creditLine).toMatchObject({ creditLimit: '5000.0000000', interestRateBps: 1200 });

      // --- the audit log and the events subscribers received ------------------------------------------------------------------
      const audit = await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'credit_line', targetId: lineId }));
      expect(audit.body.data.items.map((e: { action: string }) => e.action)).toEqual(['risk.evaluation.apply', 'risk.evaluation.apply']);

      while ((await webhooks.fanOut()) > 0);
      while ((await webhooks.dispatch('spec-worker')) > 0);
      for (const received of receiver.received) expectMatchesWebhook(received.body.type.startsWith('risk.') ? 'riskEvent' : 'creditLineEvent', received);
      const about = (type: string, id: string) => receiver.received.filter((w) => w.body.type === type && JSON.stringify(w.body.data).includes(id)).map((w) => w.body.data);
      // (A retried delivery may arrive late, so nothing here depends on the order of arrival.)
      const evaluated = about('risk.evaluated', wallet);
      expect(evaluated.map((data) => data.evaluationId).sort()).toEqual([first.body.data.id, refreshedId, again.body.data.id].sort());
      expect(evaluated).toContainEqual({
        evaluationId: first.body.data.id,
        walletAddress: wallet,
        provider: 'static',
        modelVersion: 'static',
        score: 70,
        band: 'B',
        decision: 'approve',
        creditLimit: '5000.0000000',
        interestRateBps: 1200,
      });
      expect(about('credit_line.created', lineId)).toEqual([expect.objectContaining({ creditLine: opened.body.data, evaluationId: refreshedId })]);
      const updates = about('credit_line.updated', lineId);
      expect(updates).toHaveLength(2);
      expect(updates).toContainEqual(
        expect.objectContaining({ previous: { creditLimit: '1000.0000000', interestRateBps: 1200 }, evaluationId: refreshedId, targetInterestRateBps: 1200, rateConstraint: 'none' }),
      );
      expect(updates).toContainEqual(
        expect.objectContaining({ previous: { creditLimit: '5000.0000000', interestRateBps: 1200 }, evaluationId: again.body.data.id, rateConstraint: 'none' }),
      );
      // Only the apply that moved the limit announces it.
      expect(about('risk.limit_changed', lineId)).toEqual([
        { creditLine: applied.body.data.creditLine, evaluationId: refreshedId, score: 70, previousCreditLimit: '1000.0000000' },
      ]);
      expect((await call('delete', WEBHOOK, { id: endpoint.body.data.id }, (r) => r.set(admin))).status).toBe(200);
    } finally {
      await receiver.close();
    }
  });

  it('answers 502 and 504 when the external risk provider fails or stalls, declines, and moves rates under the guard', async () => {
    const scoring = await startScoringService();
    const external = await createTestApp(kind, {
      WALLET_AUTH: 'required',
      RISK_PROVIDER: 'external',
      RISK_PROVIDER_URL: scoring.url,
      RISK_PROVIDER_TIMEOUT_MS: '250',
      // Below band A's 20,000: the offered limit is clamped to the product cap.
      CREDIT_LIMIT_MAX: '10000',
    });
    try {
      const { call } = apiFor(external.app, api.seen);
      const evaluate = (walletAddress: string, build: (req: Test) => Test = (r) => r.set(client)) => call('post', EVALUATE, {}, (r) => build(r).send({ walletAddress }));

      // --- the provider fails: 502, nothing stored, the Idempotency-Key released ------------------------------------
      const flaky = Keypair.random().publicKey();
      scoring.answer(flaky, { status: 500, body: { error: 'boom' } });
      const failed = await evaluate(flaky, (r) => r.set(client).set('idempotency-key', `flaky-${flaky}`));
      expect(failed.status).toBe(502);
      expect(failed.body.error).toMatchObject({ code: 'risk_provider_error', details: { providerStatus: 500 } });
      scoring.answer(flaky, { body: { score: 70 } });
      const recovered = await evaluate(flaky, (r) => r.set(client).set('idempotency-key', `flaky-${flaky}`));
      expect(recovered.status).toBe(201);
      expect(recovered.body.data).toMatchObject({ provider: 'external', modelVersion: 'external', score: 70, signals: [], inputs: { external: { score: 70, modelVersion: null } } });
      const garbled = Keypair.random().publicKey();
      scoring.answer(garbled, { raw: 'this is not JSON' });
      expect((await evaluate(garbled)).body.error).toMatchObject({ code: 'risk_provider_invalid_response', details: null });
      scoring.answer(garbled, { body: { score: 101 } });
      const outOfRange = await evaluate(garbled);
      expect(outOfRange.status).toBe(502);
      expect(outOfRange.body.error).toMatchObject({ code: 'risk_provider_invalid_response', details: [expect.objectContaining({ field: 'score' })] });
      scoring.answer(garbled, 'hang up');
      expect((await evaluate(garbled)).body.error.code).toBe('risk_provider_unreachable');
      const broken = Keypair.random().publicKey();
      scoring.answer(broken, { status: 503 });
      const notOpened = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: broken }));
      expect(notOpened.status).toBe(502);
      expect(notOpened.body.error.code).toBe('risk_provider_error');

      // --- the provider stalls: 504; a retry meanwhile is 409 in flight ----------------------------------------------
      const stalled = Keypair.random().publicKey();
      scoring.answer(stalled, 'stall');
      const arrived = scoring.arrival(stalled);
      const slow = evaluate(stalled, (r) => r.set(client).set('idempotency-key', `stalled-${stalled}`));
      await arrived;
      const inFlight = await evaluate(stalled, (r) => r.set(client).set('idempotency-key', `stalled-${stalled}`));
      expect(inFlight.status).toBe(409);
      expect(inFlight.body.error.code).toBe('idempotency_request_in_flight');
      const timedOut = await slow;
      expect(timedOut.status).toBe(504);
      expect(timedOut.body.error).toMatchObject({ code: 'risk_provider_timeout', details: null });
      const openTimedOut = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: stalled }));
      expect(openTimedOut.status).toBe(504);
      expect(openTimedOut.body.error.code).toBe('risk_provider_timeout');
      expect((await call('get', RISK_HISTORY, { walletAddress: stalled }, (r) => r.set(client))).body.data).toEqual({ items: [], nextCursor: null });

      // --- a declining score: no line, and nothing to apply -------------------------------------------------------------
      const declinedWallet = Keypair.random().publicKey();
      scoring.answer(declinedWallet, {
        body: { score: 20, modelVersion: 'acme-2', factors: [{ name: 'missedPayments', value: 3, points: -30, description: 'Three missed payments elsewhere' }] },
      });
      const declined = await evaluate(declinedWallet);
      expect(declined.status).toBe(201);
      expect(declined.body.data).toMatchObject({
        provider: 'external',
        modelVersion: 'acme-2',
        score: 20,
        contractRiskScore: 80,
        band: 'E',
        decision: 'decline',
        creditLimit: '0.0000000',
        interestRateBps: 0,
        signals: [{ name: 'missedPayments', kind: 'penalty', value: 3, transform: 'provided by the external provider', normalised: 0, weight: 0, points: -30, why: 'Three missed payments elsewhere' }],
        inputs: { external: { score: 20, modelVersion: 'acme-2' } },
      });
      const declinedApply = await call('post', APPLY, { id: declined.body.data.id }, (r) => r.set(admin));
      expect(declinedApply.status).toBe(422);
      expect(declinedApply.body.error).toMatchObject({ code: 'evaluation_declined', details: { score: 20 } });
      const declinedOpen = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: declinedWallet }));
      expect(declinedOpen.status).toBe(422);
      expect(declinedOpen.body.error).toMatchObject({ code: 'credit_declined', details: { evaluationId: declined.body.data.id, score: 20 } });

      // --- a top score: band A's limit, clamped to the product cap ---------------------------------------------------------
      const strong = Keypair.random().publicKey();
      scoring.answer(strong, { body: { score: 85, factors: [{ name: 'income', value: 0.9, points: 50 }] } });
      const topOffer = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: strong }));
      expect(topOffer.status).toBe(201);
      expect(topOffer.body.data).toMatchObject({ creditLimit: '10000.0000000', interestRateBps: 800, riskScore: 15 });
      expect((await evaluate(strong)).body.data).toMatchObject({ cached: true, band: 'A', creditLimit: '10000.0000000', signals: [expect.objectContaining({ kind: 'positive', points: 50 })] });

      // --- a lower score applied to a drawn line: restricted, and the rate moves one step, then waits ------------------------
      const riskyKeys = Keypair.random();
      const risky = riskyKeys.publicKey();
      const manual = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: risky, creditLimit: '1000', interestRateBps: 1200 }));
      expect(manual.status).toBe(201);
      expect(manual.body.data).toMatchObject({ riskScore: null, rateUpdatedAt: null });
      const { headers: asRisky } = await signIn(call, riskyKeys);
      expect((await call('post', DRAW, { id: manual.body.data.id }, (r) => r.set(asRisky).send({ amount: '500' }))).status).toBe(200);
      scoring.answer(risky, { body: { score: 40 } });
      const lower = await evaluate(risky, (r) => r.set(asRisky));
      expect(lower.body.data).toMatchObject({ band: 'D', creditLimit: '300.0000000', interestRateBps: 2600, contractRiskScore: 60 });
      const stepped = await call('post', APPLY, { id: lower.body.data.id }, (r) => r.set(admin));
      expect(stepped.status).toBe(200);
      expect(stepped.body.data.creditLine).toMatchObject({
        creditLimit: '300.0000000',
        interestRateBps: 1700,
        riskScore: 60,
        status: 'restricted',
        availableCredit: '0.0000000',
        rateUpdatedAt: stepped.body.data.creditLine.updatedAt,
      });
      expect(stepped.body.data.evaluation.application).toMatchObject({ creditLimit: '300.0000000', interestRateBps: 1700, rateConstraint: 'max_step' });
      expect((await call('post', DRAW, { id: manual.body.data.id }, (r) => r.set(asRisky).send({ amount: '1' }))).body.error.code).toBe('invalid_status');
      const next = await call('post', EVALUATE, {}, (r) => r.set(asRisky).send({ walletAddress: risky, forceRefresh: true }));
      expect(next.status).toBe(201);
      const held = await call('post', APPLY, { id: next.body.data.id }, (r) => r.set(admin));
      expect(held.status).toBe(200);
      expect(held.body.data.creditLine).toMatchObject({ creditLimit: '300.0000000', interestRateBps: 1700, rateUpdatedAt: stepped.body.data.creditLine.rateUpdatedAt });
      expect(held.body.data.evaluation.application).toMatchObject({ interestRateBps: 1700, rateConstraint: 'min_interval' });
    } finally {
      await external.close();
      await scoring.close();
    }
  });

  it('explains a signals-model score from Horizon activity, and answers 502 and 504 when Horizon fails', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const unix = (ms: number) => Math.floor(ms / 1000);
    const day = 86_400_000;
    const devnet = await startDevnet({ startTime: unix(now.getTime()) });
    const signalsApp = await createTestApp(
      kind,
      { RISK_PROVIDER: 'signals', HORIZON_URL: devnet.horizonUrl, HORIZON_TIMEOUT_MS: '300', RISK_SIGNAL_CACHE_SECONDS: '0' },
      { clock: () => now },
    );
    try {
      const { call } = apiFor(signalsApp.app, api.seen);
      // A year-old account with steady income from several payers, one large payment out, and one failed transaction.
      const wallet = Keypair.random().publicKey();
      devnet.seedHorizon.account({ id: wallet, createdAt: unix(now.getTime() - 400 * day), balances: [{ asset: 'native', amount: '2500' }] });
      const payers = Array.from({ length: 6 }, () => Keypair.random().publicKey());
      for (let back = 85; back >= 5; back -= 10) {
        devnet.seedHorizon.payment({ from: payers[back % payers.length]!, to: wallet, amount: '400', createdAt: unix(now.getTime() - back * day) });
      }
      devnet.seedHorizon.payment({ from: wallet, to: payers[0]!, amount: '2000', createdAt: unix(now.getTime() - 3 * day) });
      devnet.seedHorizon.payment({ from: wallet, to: payers[1]!, amount: '99999', successful: false, createdAt: unix(now.getTime() - 2 * day) });

      const scored = await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: wallet }));
      expect(scored.status).toBe(201);
      const evaluation = scored.body.data as {
        provider: string;
        modelVersion: string;
        score: number;
        contractRiskScore: number;
        signals: Array<{ name: string; kind: string; value: number | null; normalised: number; weight: number; points: number }>;
        inputs: { chain: Record<string, unknown>; creditHistory: Record<string, unknown> };
      };
      expect(evaluation).toMatchObject({ provider: 'signals', modelVersion: 'signals-v1', contractRiskScore: 100 - evaluation.score });
      expect(evaluation.signals).toHaveLength(18);
      const positive = evaluation.signals.filter((s) => s.kind === 'positive');
      expect(positive.reduce((sum, s) => sum + s.weight, 0)).toBe(100);
      // The score is the signals' points, rounded and clamped.
      const total = evaluation.signals.reduce((sum, s) => sum + s.points, 0);
      expect(Math.abs(evaluation.score - Math.min(100, Math.max(0, total)))).toBeLessThanOrEqual(1);
      expect(evaluation.signals.find((s) => s.name === 'accountAgeDays')).toMatchObject({ kind: 'positive', value: 400 });
      expect(evaluation.signals.find((s) => s.name === 'failedTxRatio90d')!.points).toBeLessThan(0);
      expect(evaluation.signals.find((s) => s.name === 'utilization')).toMatchObject({ kind: 'penalty', value: null, points: 0 });
      expect(evaluation.inputs.chain).toMatchObject({ exists: true, windowComplete: true, balance: '2500.0000000', payments90d: 10 });
      expect(evaluation.inputs.creditHistory).toMatchObject({ repayments: 0, utilizationBps: null });

      // Horizon too slow, then failing: no score is made up, nothing is stored.
      const unlucky = Keypair.random().publicKey();
      devnet.faults.set({ scope: 'horizon', timeoutMs: 2_000 });
      const slow = await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: unlucky }));
      expect(slow.status).toBe(504);
      expect(slow.body.error).toMatchObject({ code: 'risk_signals_timeout', details: null });
      devnet.faults.set({ timeoutMs: 0, force5xx: true });
      const down = await call('post', EVALUATE, {}, (r) => r.set(client).send({ walletAddress: unlucky }));
      expect(down.status).toBe(502);
      expect(down.body.error.code).toBe('risk_signals_unavailable');
      devnet.faults.set({ force5xx: false });
      expect((await call('get', RISK_HISTORY, { walletAddress: unlucky }, (r) => r.set(client))).body.data.items).toEqual([]);
    } finally {
      devnet.faults.set({ scope: 'all', timeoutMs: 0, force5xx: false });
      await signalsApp.close();
      await devnet.stop();
    }
  });

  it('answers 503 chain_not_configured on the indexer and reconciliation routes when the contract is not followed', async () => {
    const { call } = api;
    expect(t.container.services.indexer).toBeUndefined();
    expect(t.container.services.reconciliation).toBeUndefined();
    const routes = [
      ['get', INDEXER_STATUS, {}],
      ['post', RECONCILE, {}],
      ['get', RUNS, {}],
      ['get', RUN, { id: UNKNOWN_LINE }],
    ] as const;
    for (const [method, route, params] of routes) {
      const res = await call(method, route, params, (r) => r.set(admin));
      expect(res.status, `${method} ${route}`).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'chain_not_configured', details: null });
      expect((await call(method, route, params, (r) => r.set(client))).body.error.code, `${method} ${route}`).toBe('admin_required');
      expect((await call(method, route, params)).status, `${method} ${route}`).toBe(401);
    }
    // The request is validated before the configuration is looked at.
    expect((await call('post', RECONCILE, {}, (r) => r.set(admin).send({ now: true }))).status).toBe(400);
    expect((await call('get', RUNS, {}, (r) => r.set(admin).query({ limit: 0 }))).status).toBe(400);
    expect((await call('get', RUN, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
    expect((await call('post', RECONCILE, {}, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
    expect((await call('post', RECONCILE, {}, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);
  });

  it('follows the Credit contract on a devnet: bound lines, the indexer status and reconciliation, every response as documented', async () => {
    const devnet = await startDevnet({ startTime: 1_750_000_000 });
    const chainApp = await createTestApp(
      kind,
      { STELLAR_RPC_URL: devnet.rpcUrl, CREDIT_CONTRACT_IDS: devnet.contractId, RPC_RETRIES: '0' },
      { clock: () => new Date(devnet.contract.now() * 1000) },
    );
    const receiver = await startReceiver();
    try {
      const { call } = apiFor(chainApp.app, api.seen);
      const indexer = chainApp.container.services.indexer!;
      const reconciliation = chainApp.container.services.reconciliation!;
      const webhooks = chainApp.container.services.webhooks;
      const catchUp = async () => {
        for (let ticks = 0; (await indexer.tick()) > 0; ticks++) if (ticks > 1_000) throw new Error('the indexer did not catch up');
      };
      const deliverAll = async () => {
        while ((await webhooks.fanOut()) > 0);
        while ((await webhooks.dispatch('spec-worker')) > 0);
      };
      const masked = (address: string) => `${address.slice(0, 4)}…${address.slice(-4)}`;

      // --- before the first page ---------------------------------------------------------------------------------
      const fresh = await call('get', INDEXER_STATUS, {}, (r) => r.set(admin));
      expect(fresh.status).toBe(200);
      expect(fresh.body.data).toMatchObject({
        contractIds: [devnet.contractId],
        cursor: null,
        lastLedger: null,
        node: { latestLedger: devnet.latestLedger, oldestLedger: devnet.oldestLedger },
        lagLedgers: null,
        events: { applied: 0, recorded: 0, unknown: 0, parked: 0 },
        gaps: [],
        lastTick: null,
        eventsPerSecond: 0,
      });
      const subscribed = await call('post', WEBHOOKS, {}, (r) =>
        r.set(admin).send({ url: receiver.url, eventTypes: ['credit_line.created', 'indexer.gap_detected', 'reconciliation.drift'] }),
      );
      expect(subscribed.status).toBe(201);

      // --- lines the contract opens appear bound to it ----------------------------------------------------------
      const borrowerKeys = Keypair.random();
      const borrower = borrowerKeys.publicKey();
      const restricted = Keypair.random().publicKey();
      devnet.contract.invoke('open_credit_line', { borrower, credit_limit: 10_000_000_000n, interest_rate_bps: 1500, risk_score: 40 });
      devnet.contract.invoke('open_credit_line', { borrower: restricted, credit_limit: 10_000_000_000n, interest_rate_bps: 900, risk_score: 20 });
      devnet.contract.invoke('draw_credit', { borrower: restricted, amount: 2_000_000_000n });
      // A limit below the balance: the contract makes the line Restricted (only risk_upd says so).
      devnet.contract.invoke('update_risk_parameters', { borrower: restricted, credit_limit: 1_000_000_000n, interest_rate_bps: 900, risk_score: 70 });
      devnet.closeLedger();
      await catchUp();

      const listed = await call('get', LINES, {}, (r) => r.set(admin).query({ walletAddress: borrower }));
      expect(listed.status).toBe(200);
      expect(listed.body.data.items).toEqual([
        expect.objectContaining({ walletAddress: borrower, contractId: devnet.contractId, riskScore: 40, status: 'active', creditLimit: '1000.0000000', utilized: '0.0000000' }),
      ]);
      const id = listed.body.data.items[0].id as string;
      const bound = await call('get', LINE, { id }, (r) => r.set(client));
      expect(bound.status).toBe(200);
      expect(bound.body.data).toMatchObject({ id, contractId: devnet.contractId, riskScore: 40, interestRateBps: 1500 });
      const restrictedLines = await call('get', LINES, {}, (r) => r.set(client).query({ status: 'restricted' }));
      expect(restrictedLines.status).toBe(200);
      expect(restrictedLines.body.data.items).toEqual([
        expect.objectContaining({
          walletAddress: restricted,
          status: 'restricted',
          contractId: devnet.contractId,
          riskScore: 70,
          creditLimit: '100.0000000',
          utilized: '200.0000000',
          availableCredit: '0.0000000',
        }),
      ]);
      expect((await call('get', WALLET_LINES, { walletAddress: restricted }, (r) => r.set(client))).body.data.items[0].status).toBe('restricted');

      // the domain events of the projection reach subscribers like any other
      await deliverAll();
      const created = receiver.received.filter((w) => w.body.type === 'credit_line.created');
      expect(created.map((w) => w.body.data.creditLine).map((line) => (line as { walletAddress: string }).walletAddress).sort()).toEqual([borrower, restricted].sort());
      for (const delivery of created) {
        expectMatchesWebhook('creditLineEvent', delivery);
        expect(delivery.body.data).toMatchObject({ source: 'chain', reopened: false, ledger: expect.any(Number), txHash: expect.any(String), chainEventId: expect.any(String) });
      }

      // --- a bound line changes through the contract; this app has no operator key and the wallet no account ----
      // Borrower actions are answered only for the borrower's own token; admin actions with the admin key.
      const owner = await signIn(call, borrowerKeys);
      for (const route of [DRAW, REPAY]) {
        const unfunded = await call('post', route, { id }, (r) => r.set(owner.headers).send({ amount: '1' }));
        expect(unfunded.status, route).toBe(422);
        expect(unfunded.body.error.code, route).toBe('account_not_found');
      }
      for (const route of [SUSPEND, DEFAULT, CLOSE]) {
        const unsigned = await call('post', route, { id }, (r) => r.set(admin).send({}));
        expect(unsigned.status, route).toBe(503);
        expect(unsigned.body.error.code, route).toBe('chain_operator_unconfigured');
      }
      // The state machine and the rate guard answer first, as for any line.
      expect((await call('post', REINSTATE, { id }, (r) => r.set(admin).send({}))).body.error.code).toBe('invalid_transition');
      expect((await call('patch', LINE, { id }, (r) => r.set(admin).send({ interestRateBps: 1 }))).body.error.code).toBe('rate_change_too_large');
      // Nor is it repaid by card: refused before any payment provider is asked.
      const boundRepayment = await call('post', INITIATE, {}, (r) => r.set(owner.headers).send({ lineId: id, amount: '1.00', currency: 'usd' }));
      expect(boundRepayment.status).toBe(409);
      expect(boundRepayment.body.error).toMatchObject({ code: 'chain_bound', details: { contractId: devnet.contractId } });
      // An evaluation of the borrower is carried by update_risk_parameters, which needs the operator key.
      const boundEvaluation = await call('post', EVALUATE, {}, (r) => r.set(admin).send({ walletAddress: borrower }));
      expect(boundEvaluation.status).toBe(201);
      const boundApply = await call('post', APPLY, { id: boundEvaluation.body.data.id }, (r) => r.set(admin));
      expect(boundApply.status).toBe(503);
      expect(boundApply.body.error.code).toBe('chain_operator_unconfigured');
      const draw = await call('post', DRAW, { id }, (r) => r.set(client).send({ amount: '1' }));
      expect(draw.status).toBe(401);
      expect(draw.body.error.code).toBe('wallet_auth_required');

      // --- the indexer's status --------------------------------------------------------------------------------
      const status = await call('get', INDEXER_STATUS, {}, (r) => r.set(admin));
      expect(status.status).toBe(200);
      expect(status.body.data).toMatchObject({
        contractIds: [devnet.contractId],
        cursor: expect.any(String),
        lastLedger: devnet.latestLedger,
        node: { latestLedger: devnet.latestLedger, oldestLedger: devnet.oldestLedger },
        lagLedgers: 0,
        gaps: [],
        lastTick: { at: new Date(devnet.contract.now() * 1000).toISOString(), events: 0 },
      });
      expect(status.body.data.events.applied).toBeGreaterThanOrEqual(4);
      expect((await call('get', INDEXER_STATUS, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', INDEXER_STATUS)).status).toBe(401);

      // --- reconciliation: clean, then drift once the chain is tampered with -------------------------------------
      const clean = await call('post', RECONCILE, {}, (r) => r.set(admin));
      expect(clean.status).toBe(200);
      expect(clean.body.data).toMatchObject({
        trigger: 'admin',
        status: 'clean',
        contractId: devnet.contractId,
        linesChecked: 2,
        driftCount: 0,
        error: null,
        finishedAt: expect.any(String),
        drifts: [],
      });

      devnet.contract.tamper(borrower, { credit_limit: 5n });
      devnet.closeLedger();
      const drifted = await call('post', RECONCILE, {}, (r) => r.set(admin).send({}));
      expect(drifted.status).toBe(200);
      expect(drifted.body.data).toMatchObject({ trigger: 'admin', status: 'drift_found', linesChecked: 2, driftCount: 2, error: null });
      expect(drifted.body.data.drifts).toEqual([
        { id: expect.any(String), creditLineId: id, wallet: masked(borrower), field: 'creditLimit', dbValue: '1000.0000000', chainValue: '0.0000005', severity: 'critical' },
        { id: expect.any(String), creditLineId: id, wallet: masked(borrower), field: 'availableCredit', dbValue: '1000.0000000', chainValue: '0.0000005', severity: 'warning' },
      ]);
      await deliverAll();
      const driftEvent = receiver.received.find((w) => w.body.type === 'reconciliation.drift')!;
      expectMatchesWebhook('chainEvent', driftEvent);
      expect(driftEvent.body.data).toMatchObject({ runId: drifted.body.data.id, contractId: devnet.contractId, linesChecked: 2, critical: 1, warning: 1 });

      // the RPC node down: the status says why, and a run fails instead of passing silently
      devnet.faults.force5xx = true;
      const unreachable = await call('get', INDEXER_STATUS, {}, (r) => r.set(admin));
      expect(unreachable.status).toBe(200);
      expect(unreachable.body.data.node).toEqual({ error: expect.any(String) });
      expect(unreachable.body.data.lagLedgers).toEqual(expect.any(Number));
      const failed = await call('post', RECONCILE, {}, (r) => r.set(admin));
      expect(failed.status).toBe(200);
      expect(failed.body.data).toMatchObject({ status: 'failed', error: expect.any(String), drifts: [] });
      devnet.faults.clear();

      // --- a history gap: recorded, announced and reconciled ------------------------------------------------------
      for (let i = 0; i < 3; i++) devnet.closeLedger();
      devnet.faults.reset(); // the node forgets everything before its latest ledger
      await catchUp();
      expect(await reconciliation.runDue('spec-worker', 3_600_000)).toBe(1);
      const afterGap = await call('get', INDEXER_STATUS, {}, (r) => r.set(admin));
      expect(afterGap.body.data.gaps).toEqual([
        {
          id: expect.any(String),
          source: indexer.cursorName,
          fromLedger: status.body.data.lastLedger + 1,
          toLedger: expect.any(Number),
          detectedAt: expect.any(String),
          reconciliationRunId: expect.any(String),
        },
      ]);
      await deliverAll();
      const gapEvent = receiver.received.find((w) => w.body.type === 'indexer.gap_detected')!;
      expectMatchesWebhook('chainEvent', gapEvent);
      expect(gapEvent.body.data).toMatchObject({ fromLedger: status.body.data.lastLedger + 1, contractIds: [devnet.contractId] });

      // --- only one run at a time -----------------------------------------------------------------------------------
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const holding = new Promise<void>((resolve) => (entered = resolve));
      const holder = chainApp.container.store.tryExclusive('reconciliation', async () => {
        entered();
        await gate;
      });
      await holding;
      const busy = await call('post', RECONCILE, {}, (r) => r.set(admin));
      release();
      await holder;
      expect(busy.status).toBe(409);
      expect(busy.body.error.code).toBe('reconciliation_running');

      // --- what running refuses ---------------------------------------------------------------------------------------
      const extra = await call('post', RECONCILE, {}, (r) => r.set(admin).send({ trigger: 'admin' }));
      expect(extra.status).toBe(400);
      expect(extra.body.error.details).toEqual([expect.objectContaining({ field: 'trigger', rule: 'unknown_field' })]);
      expect((await call('post', RECONCILE, {}, (r) => r.set(admin).set('content-type', 'application/json').send('{"x":'))).body.error.code).toBe('malformed_json');
      expect((await call('post', RECONCILE, {}, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', RECONCILE, {}, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);
      expect((await call('post', RECONCILE, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('post', RECONCILE)).status).toBe(401);

      // --- the runs, newest first, paginated ------------------------------------------------------------------------
      const runIds = new Set<string>();
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page: Response = await call('get', RUNS, {}, (r) => r.set(admin).query({ limit: 2, ...(cursor ? { cursor } : {}) }));
        expect(page.status).toBe(200);
        expect(page.body.data.items.length).toBeLessThanOrEqual(2);
        for (const run of page.body.data.items as Array<{ id: string }>) {
          expect(runIds.has(run.id), 'a run on two pages').toBe(false);
          runIds.add(run.id);
        }
        cursor = page.body.data.nextCursor as string | null;
        if (!cursor) break;
      }
      expect(runIds.size).toBe(4); // clean, drift_found, failed and the gap-triggered one
      expect(runIds).toContain(drifted.body.data.id);
      const latest = await call('get', RUNS, {}, (r) => r.set(admin));
      expect(latest.body.data.items.map((run: { trigger: string }) => run.trigger).sort()).toEqual(['admin', 'admin', 'admin', 'gap']);
      expect(latest.body.data.items[0]).not.toHaveProperty('drifts');
      expect(latest.body.data.nextCursor).toBeNull();
      for (const query of [{ limit: 0 }, { limit: 101 }, { cursor: 'not-a-cursor' }, { status: 'clean' }]) {
        expect((await call('get', RUNS, {}, (r) => r.set(admin).query(query))).status, JSON.stringify(query)).toBe(400);
      }
      expect((await call('get', RUNS, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', RUNS)).status).toBe(401);

      // --- one run and its drifts --------------------------------------------------------------------------------------
      const run = await call('get', RUN, { id: drifted.body.data.id }, (r) => r.set(admin));
      expect(run.status).toBe(200);
      expect(run.body.data).toEqual(drifted.body.data);
      const unknownRun = await call('get', RUN, { id: UNKNOWN_LINE }, (r) => r.set(admin));
      expect(unknownRun.status).toBe(404);
      expect(unknownRun.body.error).toMatchObject({ code: 'not_found', details: { resource: 'Reconciliation run' } });
      expect((await call('get', RUN, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('get', RUN, { id: drifted.body.data.id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', RUN, { id: drifted.body.data.id })).status).toBe(401);

      // the gap's reconciliation was queued as a job of queue `reconciliation`
      const jobs = await call('get', JOBS, {}, (r) => r.set(admin).query({ status: 'done', queue: 'reconciliation' }));
      expect(jobs.status).toBe(200);
      expect(jobs.body.data.items).toEqual([expect.objectContaining({ queue: 'reconciliation', status: 'done' })]);
    } finally {
      await receiver.close();
      await chainApp.close();
      await devnet.stop();
    }
  });

  it('acts on the Credit contract for bound lines: transactions to sign, operator calls, outages, every response as documented', async () => {
    const devnet = await startDevnet({ startTime: 1_750_000_000 });
    const chainEnv = {
      STELLAR_RPC_URL: devnet.rpcUrl,
      CREDIT_CONTRACT_IDS: devnet.contractId,
      STELLAR_NETWORK_PASSPHRASE: devnet.networkPassphrase,
      STELLAR_OPERATOR_SECRET: devnet.adminKeypair.secret(),
      RPC_RETRIES: '0',
      RPC_TIMEOUT_MS: '300',
      CHAIN_TX_RETRY_DELAY_MS: '5',
      WALLET_AUTH: 'required',
    };
    const chainApp = await createTestApp(kind, chainEnv, { clock: () => new Date(devnet.contract.now() * 1000) });
    // Terms from an external scorer that cannot be reached: opening on its evaluation is a 502.
    const unscored = await createTestApp(kind, { ...chainEnv, RISK_PROVIDER: 'external', RISK_PROVIDER_URL: 'http://127.0.0.1:9/score' }, { clock: () => new Date(devnet.contract.now() * 1000) });
    try {
      const { call } = apiFor(chainApp.app, api.seen);
      const indexer = chainApp.container.services.indexer!;
      const tracker = chainApp.container.services.chainTransactions!;
      const catchUp = async () => {
        for (let ticks = 0; (await indexer.tick()) > 0; ticks++) if (ticks > 1_000) throw new Error('the indexer did not catch up');
      };
      const settle = async () => {
        devnet.closeLedger();
        await tracker.track();
      };
      /** Runs `request` while the RPC node stalls (504) and while it fails (503), then healthy. */
      const duringOutages = async (route: string, send: () => Promise<Response>) => {
        devnet.faults.set({ scope: 'rpc', timeoutMs: 1_000 });
        const stalled = await send();
        devnet.faults.set({ timeoutMs: 0, force5xx: true });
        const down = await send();
        devnet.faults.set({ force5xx: false });
        expect([stalled.status, stalled.body.error?.code], route).toEqual([504, 'chain_timeout']);
        expect([down.status, down.body.error?.code], route).toEqual([503, 'chain_unreachable']);
      };
      const signed = (xdr: string, keys: Keypair) => {
        const tx = new Transaction(xdr, devnet.networkPassphrase);
        tx.sign(keys);
        return tx.toXDR();
      };

      // --- an admin opens a line on chain --------------------------------------------------------------------------
      const borrowerKeys = Keypair.random();
      const borrower = borrowerKeys.publicKey();
      devnet.seedHorizon.account({ id: borrower, balances: [{ asset: 'native', amount: '100' }] });
      const openBody = { walletAddress: borrower, creditLimit: '1000', interestRateBps: 1_100 };
      await duringOutages(OPEN_ON_CHAIN, () => call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).send(openBody)));
      const opening = await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).set('idempotency-key', `open-${borrower}`).send(openBody));
      expect(opening.status).toBe(202);
      expect(opening.body.data).toMatchObject({ action: 'open', signer: 'operator', status: 'pending', creditLineId: null, transactionXdr: null, resubmissions: 0 });
      const replayed = await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).set('idempotency-key', `open-${borrower}`).send(openBody));
      expect(replayed.headers['idempotency-replayed']).toBe('true');
      expect(replayed.body.data.id).toBe(opening.body.data.id);
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).send({ ...openBody, creditLimit: '1000000000' }))).body.error.code).toBe('credit_limit_above_cap');
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).send({ walletAddress: 'nope' }))).status).toBe(400);
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).send({ walletAddress: borrower, contractId: randomContract() }))).body.error.details).toEqual([
        expect.objectContaining({ field: 'contractId', rule: 'followed_contract' }),
      ]);
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(client).send(openBody))).status).toBe(403);
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.send(openBody))).status).toBe(401);
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);
      const unscoredOpen = await apiFor(unscored.app, api.seen).call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).send({ walletAddress: Keypair.random().publicKey() }));
      expect(unscoredOpen.status).toBe(502);

      await settle();
      const opened = (await call('get', CHAIN_TRANSACTION, { id: opening.body.data.id }, (r) => r.set(admin))).body.data;
      expect(opened).toMatchObject({ status: 'confirmed', creditLineId: expect.any(String), ledger: devnet.latestLedger });
      const id = opened.creditLineId as string;
      await catchUp(); // the indexer reads the same opened event: applied once already
      expect((await call('post', OPEN_ON_CHAIN, {}, (r) => r.set(admin).send(openBody))).body.error.code).toBe('duplicate_open_line');

      // --- the borrower draws: a transaction to sign, submitted, tracked -------------------------------------------
      const owner = await signIn(call, borrowerKeys);
      const stranger = await signIn(call, Keypair.random());
      for (const route of [DRAW, REPAY]) await duringOutages(route, () => call('post', route, { id }, (r) => r.set(owner.headers).send({ amount: '10' })));
      const draw = await call('post', DRAW, { id }, (r) => r.set(owner.headers).send({ amount: '300' }));
      expect(draw.status).toBe(202);
      const toSign = draw.body.data.chainTransaction;
      expect(toSign).toMatchObject({ action: 'draw', signer: 'borrower', status: 'awaiting_signature', networkPassphrase: devnet.networkPassphrase });
      const other = (await call('post', DRAW, { id }, (r) => r.set(owner.headers).send({ amount: '1' }))).body.data.chainTransaction;

      const submit = (txId: string, body: unknown, headers: Record<string, string> = owner.headers) => call('post', SUBMIT, { id: txId }, (r) => r.set(headers).send(body as object));
      expect((await submit(toSign.id, { signedXdr: signed(other.transactionXdr, borrowerKeys) })).body.error.code).toBe('transaction_mismatch');
      expect((await submit(toSign.id, {})).status).toBe(400);
      expect((await submit(toSign.id, { signedXdr: signed(toSign.transactionXdr, borrowerKeys) }, stranger.headers)).status).toBe(403);
      expect((await submit(toSign.id, { signedXdr: 'x' }, client)).status).toBe(401);
      expect((await submit(randomUUID(), { signedXdr: 'x' })).status).toBe(404);
      expect((await call('post', SUBMIT, { id: toSign.id }, (r) => r.set(owner.headers).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', SUBMIT, { id: toSign.id }, (r) => r.set(owner.headers).send({ signedXdr: TOO_BIG }))).status).toBe(413);
      devnet.faults.set({ scope: 'rpc', timeoutMs: 1_000 });
      const stalledSubmit = await submit(other.id, { signedXdr: signed(other.transactionXdr, borrowerKeys) });
      devnet.faults.set({ timeoutMs: 0 });
      expect([stalledSubmit.status, stalledSubmit.body.error.code]).toEqual([504, 'chain_timeout']);
      const submitted = await submit(toSign.id, { signedXdr: signed(toSign.transactionXdr, borrowerKeys) });
      expect(submitted.status).toBe(202);
      expect(submitted.body.data).toMatchObject({ status: 'pending', transactionXdr: null, txHash: toSign.txHash });
      expect((await submit(opening.body.data.id, { signedXdr: signed(toSign.transactionXdr, borrowerKeys) }, admin)).body.error.code).toBe('not_wallet_signed');

      const pending = await call('get', CHAIN_TRANSACTION, { id: toSign.id }, (r) => r.set(owner.headers));
      expect(pending.status).toBe(200);
      expect(pending.body.data.status).toBe('pending');
      expect((await call('get', CHAIN_TRANSACTION, { id: toSign.id }, (r) => r.set(stranger.headers))).status).toBe(403);
      expect((await call('get', CHAIN_TRANSACTION, { id: toSign.id })).status).toBe(401);
      expect((await call('get', CHAIN_TRANSACTION, { id: randomUUID() }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('get', CHAIN_TRANSACTION, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      await settle();
      const line = await call('get', LINE, { id }, (r) => r.set(owner.headers));
      expect(line.body.data).toMatchObject({ utilized: '300.0000000', contractId: devnet.contractId });
      const listed = await call('get', LINE_CHAIN_TRANSACTIONS, { id }, (r) => r.set(owner.headers).query({ limit: 1 }));
      expect(listed.status).toBe(200);
      expect(listed.body.data.items).toHaveLength(1);
      expect(listed.body.data.nextCursor).toEqual(expect.any(String));
      expect((await call('get', LINE_CHAIN_TRANSACTIONS, { id }, (r) => r.set(stranger.headers))).status).toBe(403);
      expect((await call('get', LINE_CHAIN_TRANSACTIONS, { id })).status).toBe(401);
      expect((await call('get', LINE_CHAIN_TRANSACTIONS, { id: randomUUID() }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('get', LINE_CHAIN_TRANSACTIONS, { id }, (r) => r.set(admin).query({ limit: 0 }))).status).toBe(400);

      const repay = await call('post', REPAY, { id }, (r) => r.set(owner.headers).send({ amount: '300' }));
      expect(repay.status).toBe(202);
      expect((await submit(repay.body.data.chainTransaction.id, { signedXdr: signed(repay.body.data.chainTransaction.transactionXdr, borrowerKeys) })).status).toBe(202);
      await settle();
      expect((await call('get', LINE, { id }, (r) => r.set(owner.headers))).body.data.utilized).toBe('0.0000000');

      // --- admin actions, signed by the operator -------------------------------------------------------------------
      const evaluation = await call('post', EVALUATE, {}, (r) => r.set(admin).send({ walletAddress: borrower }));
      expect(evaluation.status).toBe(201);
      await duringOutages(APPLY, () => call('post', APPLY, { id: evaluation.body.data.id }, (r) => r.set(admin)));
      const applied = await call('post', APPLY, { id: evaluation.body.data.id }, (r) => r.set(admin));
      expect(applied.status).toBe(202);
      expect(applied.body.data.chainTransaction).toMatchObject({ action: 'update_terms', status: 'pending' });
      await settle();
      await duringOutages(LINE, () => call('patch', LINE, { id }, (r) => r.set(admin).send({ creditLimit: '900' })));
      expect((await call('patch', LINE, { id }, (r) => r.set(admin).send({ creditLimit: '900' }))).status).toBe(202);
      for (const route of [SUSPEND, DEFAULT, REINSTATE, CLOSE]) {
        await duringOutages(route, () => call('post', route, { id }, (r) => r.set(admin).send({})));
        const answered = await call('post', route, { id }, (r) => r.set(admin).send({}));
        expect(answered.status, route).toBe(202);
        await settle();
      }
      expect((await call('get', LINE, { id }, (r) => r.set(admin))).body.data).toMatchObject({ status: 'closed', creditLimit: '900.0000000' });

      // --- binding a database line to the wallet's line on chain -----------------------------------------------------
      const dbWallet = Keypair.random().publicKey();
      const dbLine = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: dbWallet, creditLimit: '100', interestRateBps: 700 }));
      expect(dbLine.status).toBe(201);
      const lineId = dbLine.body.data.id as string;
      const notOnChain = await call('post', BIND, { id: lineId }, (r) => r.set(admin).set('idempotency-key', `bind-${lineId}`).send({}));
      expect(notOnChain.body.error.code).toBe('not_on_chain');
      expect((await call('post', BIND, { id: lineId }, (r) => r.set(admin).set('idempotency-key', `bind-${lineId}`).send({ contractId: devnet.contractId }))).status).toBe(422);
      devnet.contract.invoke('open_credit_line', { borrower: dbWallet, credit_limit: 2_000_000_000n, interest_rate_bps: 650, risk_score: 20 });
      devnet.closeLedger();
      await duringOutages(BIND, () => call('post', BIND, { id: lineId }, (r) => r.set(admin).send({})));
      const bound = await call('post', BIND, { id: lineId }, (r) => r.set(admin).send({ contractId: devnet.contractId }));
      expect(bound.status).toBe(200);
      expect(bound.body.data).toMatchObject({ contractId: devnet.contractId, creditLimit: '200.0000000', interestRateBps: 650 });
      expect((await call('post', BIND, { id: lineId }, (r) => r.set(admin).send({}))).body.error.code).toBe('already_bound');
      expect((await call('post', BIND, { id: randomUUID() }, (r) => r.set(admin).send({}))).status).toBe(404);
      expect((await call('post', BIND, { id: lineId }, (r) => r.set(admin).send({ contractId: 'C-nope' }))).status).toBe(400);
      expect((await call('post', BIND, { id: lineId }, (r) => r.set(client).send({}))).status).toBe(403);
      expect((await call('post', BIND, { id: lineId }, (r) => r.send({}))).status).toBe(401);
      expect((await call('post', BIND, { id: lineId }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', BIND, { id: lineId }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);

      // --- a deployment that does not follow the contract ---------------------------------------------------------------
      const plain = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '100', interestRateBps: 700 }));
      const { call: callPlain } = apiFor(t.app, api.seen);
      expect((await callPlain('get', LINE_CHAIN_TRANSACTIONS, { id: plain.body.data.id }, (r) => r.set(admin))).status).toBe(404);
      const plainLine = await callPlain('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '100', interestRateBps: 700 }));
      expect((await callPlain('get', LINE_CHAIN_TRANSACTIONS, { id: plainLine.body.data.id }, (r) => r.set(admin))).body.error.code).toBe('chain_unavailable');
      expect((await callPlain('get', CHAIN_TRANSACTION, { id: randomUUID() }, (r) => r.set(admin))).status).toBe(503);
      expect((await callPlain('post', SUBMIT, { id: randomUUID() }, (r) => r.set(admin).send({ signedXdr: 'x' }))).status).toBe(503);
      expect((await callPlain('post', BIND, { id: plainLine.body.data.id }, (r) => r.set(admin).send({}))).body.error.code).toBe('chain_unavailable');
    } finally {
      devnet.faults.set({ scope: 'all', timeoutMs: 0, force5xx: false });
      await unscored.close();
      await chainApp.close();
      await devnet.stop();
    }
  });

  it('keeps collateral, issues card credit against it and runs the risk engine, every response as documented', async () => {
    const scoring = await startScoringService();
    const receiver = await startReceiver();
    // Whole seconds near the real time (SEP-10 challenges carry real-time bounds); the app reads only this clock.
    let now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const tick = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));
    // The external provider scores 70 (band B: 5,000 at 1,200 bps) unless told otherwise, and can fail or stall.
    const collateralApp = await createTestApp(
      kind,
      { WALLET_AUTH: 'required', RISK_PROVIDER: 'external', RISK_PROVIDER_URL: scoring.url, RISK_PROVIDER_TIMEOUT_MS: '250' },
      { clock: () => now },
    );
    try {
      const { call } = apiFor(collateralApp.app, api.seen);
      const { riskEngine, webhooks, collateral } = collateralApp.container.services;
      const monitor = async () => {
        while ((await riskEngine.runQueued('spec-monitor')) > 0);
      };
      const price = async (code: string, value: string) => {
        const posted = await call('post', PRICES, { code }, (r) => r.set(admin).send({ price: value }));
        expect(posted.status).toBe(201);
        // The observation queued one re-pricing run; the monitor worker takes it.
        await monitor();
      };
      const collateralEvents = ['collateral.deposited', 'collateral.withdrawn', 'risk.band_changed', 'stop_loss.executed', 'liquidation.executed', 'liquidation.bad_debt'];
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ url: receiver.url, eventTypes: collateralEvents }))).status).toBe(201);

      const sessions = async () => {
        const keys = Keypair.random();
        return { wallet: keys.publicKey(), headers: (await signIn(call, keys)).headers };
      };
      const owner = await sessions(); // stop-loss on: sells at -10 %, then bad debt
      const exposed = await sessions(); // no stop-loss: liquidated at -20 %
      const repaid = await sessions(); // repays and withdraws while its stop-loss order waits
      const btc = await sessions(); // holds the other asset: withdrawals against a limit and a health factor
      const other = await sessions(); // provider failures, a declined evaluation, a line that is not collateral-backed
      const { headers: asStranger } = await signIn(call, Keypair.random());

      // --- collateral assets (admin) -----------------------------------------------------------------------------
      // kBps 0: no volatility adjustment, so XLM lends at its static 75 % (the numbers of reference C.4).
      const xlm = { code: 'XLM', decimals: 7, priceSource: { kind: 'manual' }, params: { kBps: 0, closeFactorBps: 10_000 } };
      expect((await call('post', ASSETS, {}, (r) => r.send(xlm))).status).toBe(401);
      expect((await call('post', ASSETS, {}, (r) => r.set(client).send(xlm))).body.error.code).toBe('admin_required');
      const invalidAsset = await call('post', ASSETS, {}, (r) => r.set(admin).send({ code: 'xlm', decimals: 19, priceSource: { kind: 'manual' }, colour: 'blue' }));
      expect(invalidAsset.status).toBe(400);
      expect(invalidAsset.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['code', 'colour', 'decimals']);
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).send({ ...xlm, priceSource: { kind: 'oracle' } }))).status).toBe(400);
      const unsound = await call('post', ASSETS, {}, (r) => r.set(admin).send({ ...xlm, params: { baseLtvBps: 9_000 } }));
      expect(unsound.status).toBe(400);
      expect(unsound.body.error.details).toEqual([expect.objectContaining({ field: 'params.baseLtvBps', rule: 'below_liquidation_threshold' })]);
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).set('idempotency-key', 'has a space').send(xlm))).status).toBe(400);
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).set('content-type', 'text/plain').send('XLM'))).status).toBe(415);
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).send({ ...xlm, pad: TOO_BIG }))).status).toBe(413);
      const created = await call('post', ASSETS, {}, (r) => r.set(admin).set('idempotency-key', 'asset-xlm').send(xlm));
      expect(created.status).toBe(201);
      expect(created.body.data).toMatchObject({
        code: 'XLM',
        decimals: 7,
        priceSource: { kind: 'manual' },
        paramsVersion: 1,
        params: { baseLtvBps: 7_500, liquidationThresholdBps: 8_500, kBps: 0, closeFactorBps: 10_000, stopLossTriggerHfBps: 10_200, targetHfBps: 10_500, maxPriceAgeSeconds: 300 },
        paramsHistory: [{ version: 1, createdBy: expect.stringMatching(/^admin:/) }],
        price: null,
        volatility: { sigma7dBps: null, sigma30dBps: null, computedAt: null },
      });
      const createReplayed = await call('post', ASSETS, {}, (r) => r.set(admin).set('idempotency-key', 'asset-xlm').send(xlm));
      expect(createReplayed.headers['idempotency-replayed']).toBe('true');
      expect(createReplayed.body).toEqual(created.body);
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).set('idempotency-key', 'asset-xlm').send({ ...xlm, decimals: 6 }))).body.error.code).toBe('idempotency_key_reused');
      const taken = await call('post', ASSETS, {}, (r) => r.set(admin).send(xlm));
      expect(taken.status).toBe(409);
      expect(taken.body.error.code).toBe('asset_exists');
      // BTC lends at 80 % of an 85 % threshold: a withdrawal can keep the limit yet leave the account less than healthy.
      const btcAsset = { code: 'BTC', decimals: 8, priceSource: { kind: 'manual' }, params: { kBps: 0, baseLtvBps: 8_000, yieldAprBps: 300 } };
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).send(btcAsset))).status).toBe(201);
      const reflector = { kind: 'reflector', contractId: randomContract(), asset: { other: 'RFL' } };
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).send({ code: 'RFL', decimals: 7, priceSource: reflector }))).body.data.priceSource).toEqual(reflector);
      const horizon = { kind: 'horizon', base: 'native', counter: { code: 'USDC', issuer: Keypair.random().publicKey() } };
      expect((await call('post', ASSETS, {}, (r) => r.set(admin).send({ code: 'HZN', decimals: 7, priceSource: horizon }))).body.data.priceSource).toEqual(horizon);

      const assets = await call('get', ASSETS, {}, (r) => r.set(client));
      expect(assets.status).toBe(200);
      expect(assets.body.data.items.map((a: { code: string; paramsHistory: unknown[] }) => [a.code, a.paramsHistory.length])).toEqual([
        ['BTC', 0],
        ['HZN', 0],
        ['RFL', 0],
        ['XLM', 0],
      ]);
      expect((await call('get', ASSETS)).status).toBe(401);
      expect((await call('get', ASSET, { code: 'XLM' }, (r) => r.set(client))).body.data).toEqual(created.body.data);
      expect((await call('get', ASSET, { code: 'xlm' }, (r) => r.set(client))).status).toBe(400);
      const unknownAsset = await call('get', ASSET, { code: 'NOPE' }, (r) => r.set(client));
      expect(unknownAsset.status).toBe(404);
      expect(unknownAsset.body.error.details).toEqual({ resource: 'Collateral asset' });
      expect((await call('get', ASSET, { code: 'XLM' })).status).toBe(401);

      // --- versioned parameters ----------------------------------------------------------------------------------
      const patched = await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(admin).send({ protocolFeeShareBps: 2_500 }));
      expect(patched.status).toBe(200);
      expect(patched.body.data).toMatchObject({ paramsVersion: 2, params: { protocolFeeShareBps: 2_500, kBps: 0 } });
      expect(patched.body.data.paramsHistory.map((v: { version: number }) => v.version)).toEqual([2, 1]);
      expect((await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(admin).send({}))).body.error.details[0].rule).toBe('at_least_one');
      const unsoundChange = await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(admin).send({ targetHfBps: 10_100 }));
      expect(unsoundChange.status).toBe(400);
      expect(unsoundChange.body.error.details).toEqual([expect.objectContaining({ field: 'params.targetHfBps', rule: 'above_stop_loss_trigger' })]);
      for (const body of [{ kBps: -1 }, { maxSlippageBps: 5_001 }, { colour: 'blue' }, { horizonDays: '30' }]) {
        expect((await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(admin).send(body))).status, JSON.stringify(body)).toBe(400);
      }
      expect((await call('patch', ASSET_PARAMS, { code: 'xlm' }, (r) => r.set(admin).send({ kBps: 0 }))).status).toBe(400);
      expect((await call('patch', ASSET_PARAMS, { code: 'NOPE' }, (r) => r.set(admin).send({ kBps: 0 }))).status).toBe(404);
      expect((await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(client).send({ kBps: 0 }))).status).toBe(403);
      expect((await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.send({ kBps: 0 }))).status).toBe(401);
      expect((await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(admin).send({ pad: TOO_BIG }))).status).toBe(413);
      readParamsOneVersionBehind(collateralApp.container.store);
      const lostRace = await call('patch', ASSET_PARAMS, { code: 'XLM' }, (r) => r.set(admin).send({ maxSlippageBps: 100 }));
      expect(lostRace.status).toBe(409);
      expect(lostRace.body.error.code).toBe('params_version_conflict');
      expect((await call('get', ASSET, { code: 'XLM' }, (r) => r.set(admin))).body.data.paramsVersion).toBe(2);

      // --- prices -------------------------------------------------------------------------------------------------
      expect((await call('post', PRICES, { code: 'XLM' }, (r) => r.send({ price: '0.12' }))).status).toBe(401);
      expect((await call('post', PRICES, { code: 'XLM' }, (r) => r.set(client).send({ price: '0.12' }))).status).toBe(403);
      for (const body of [{ price: 0.12 }, { price: '0' }, { price: '0.123456789012345' }, { price: '1', observedAt: 'yesterday' }, { price: '1', source: 'me' }, {}]) {
        expect((await call('post', PRICES, { code: 'XLM' }, (r) => r.set(admin).send(body))).status, JSON.stringify(body)).toBe(400);
      }
      expect((await call('post', PRICES, { code: 'xlm' }, (r) => r.set(admin).send({ price: '1' }))).status).toBe(400);
      expect((await call('post', PRICES, { code: 'NOPE' }, (r) => r.set(admin).send({ price: '1' }))).body.error.details).toEqual({ resource: 'Collateral asset' });
      const fed = await call('post', PRICES, { code: 'RFL' }, (r) => r.set(admin).send({ price: '1' }));
      expect(fed.status).toBe(409);
      expect(fed.body.error.code).toBe('price_source_not_manual');
      const future = await call('post', PRICES, { code: 'XLM' }, (r) => r.set(admin).send({ price: '0.12', observedAt: new Date(now.getTime() + 60_000).toISOString() }));
      expect(future.status).toBe(422);
      expect(future.body.error.code).toBe('price_in_future');
      expect((await call('post', PRICES, { code: 'XLM' }, (r) => r.set(admin).set('content-type', 'text/plain').send('0.12'))).status).toBe(415);
      expect((await call('post', PRICES, { code: 'XLM' }, (r) => r.set(admin).send({ price: TOO_BIG }))).status).toBe(413);
      const posted = await call('post', PRICES, { code: 'XLM' }, (r) => r.set(admin).set('idempotency-key', 'price-xlm-1').send({ price: '0.12' }));
      expect(posted.status).toBe(201);
      expect(posted.body.data).toEqual({ assetCode: 'XLM', price: '0.12000000000000', source: 'manual', observedAt: now.toISOString(), recordedAt: now.toISOString() });
      const priceReplayed = await call('post', PRICES, { code: 'XLM' }, (r) => r.set(admin).set('idempotency-key', 'price-xlm-1').send({ price: '0.12' }));
      expect(priceReplayed.headers['idempotency-replayed']).toBe('true');
      expect((await call('post', PRICES, { code: 'XLM' }, (r) => r.set(admin).set('idempotency-key', 'price-xlm-1').send({ price: '0.13' }))).status).toBe(422);
      // A late observation is recorded as of when it was observed.
      const late = await call('post', PRICES, { code: 'BTC' }, (r) => r.set(admin).send({ price: '1000', observedAt: new Date(now.getTime() - 10_000).toISOString() }));
      expect(late.body.data).toMatchObject({ price: '1000.00000000000000', observedAt: new Date(now.getTime() - 10_000).toISOString(), recordedAt: now.toISOString() });
      await monitor();

      // --- deposits ---------------------------------------------------------------------------------------------------
      const move = (route: string, who: { wallet: string; headers: Record<string, string> }, asset: string, amount: string) =>
        call('post', route, {}, (r) => r.set(who.headers).send({ walletAddress: who.wallet, asset, amount }));
      const depositBody = { walletAddress: owner.wallet, asset: 'XLM', amount: '10000' };
      expect((await call('post', DEPOSIT, {}, (r) => r.send(depositBody))).status).toBe(401);
      expect((await call('post', DEPOSIT, {}, (r) => r.set(client).send(depositBody))).body.error.code).toBe('wallet_auth_required');
      expect((await call('post', DEPOSIT, {}, (r) => r.set(asStranger).send(depositBody))).body.error.code).toBe('wallet_forbidden');
      for (const body of [{ ...depositBody, amount: 10_000 }, { ...depositBody, walletAddress: 'GNOTAWALLET' }, { ...depositBody, asset: 'xlm' }, { ...depositBody, memo: 'x' }]) {
        expect((await call('post', DEPOSIT, {}, (r) => r.set(owner.headers).send(body))).status, JSON.stringify(body)).toBe(400);
      }
      const tooPrecise = await move(DEPOSIT, owner, 'XLM', '1.12345678');
      expect(tooPrecise.status).toBe(400);
      expect(tooPrecise.body.error.details).toEqual([expect.objectContaining({ field: 'amount', rule: 'max_decimals' })]);
      expect((await move(DEPOSIT, owner, 'XLM', '0')).body.error.details[0].rule).toBe('positive');
      expect((await move(DEPOSIT, owner, 'NOPE', '1')).body.error.details).toEqual({ resource: 'Collateral asset' });
      expect((await call('post', DEPOSIT, {}, (r) => r.set(owner.headers).set('content-type', 'text/plain').send('10000'))).status).toBe(415);
      expect((await call('post', DEPOSIT, {}, (r) => r.set(owner.headers).send({ ...depositBody, pad: TOO_BIG }))).status).toBe(413);
      const deposited = await call('post', DEPOSIT, {}, (r) => r.set(owner.headers).set('idempotency-key', `deposit-${owner.wallet}`).send(depositBody));
      expect(deposited.status).toBe(200);
      expect(deposited.body.data.position).toMatchObject({
        walletAddress: owner.wallet,
        assetCode: 'XLM',
        quantity: '10000.0000000',
        yieldEarned: '0.0000000',
        price: { price: '0.12000000000000', source: 'manual' },
        value: '1200.0000000',
        adjustedLtvBps: 7_500,
        borrowLimit: '900.0000000',
      });
      expect(deposited.body.data.collateral).toMatchObject({ totalValue: '1200.0000000', collateralLimit: '900.0000000', debt: '0.0000000', healthFactorBps: null, band: 'healthy', stalePrices: [] });
      const depositReplayed = await call('post', DEPOSIT, {}, (r) => r.set(owner.headers).set('idempotency-key', `deposit-${owner.wallet}`).send(depositBody));
      expect(depositReplayed.headers['idempotency-replayed']).toBe('true');
      expect(depositReplayed.body).toEqual(deposited.body);
      expect((await call('post', DEPOSIT, {}, (r) => r.set(owner.headers).set('idempotency-key', `deposit-${owner.wallet}`).send({ ...depositBody, amount: '1' }))).status).toBe(422);
      const slowDeposit = await retriedWhileRunning(collateral, 'deposit', () =>
        call('post', DEPOSIT, {}, (r) => r.set(exposed.headers).set('idempotency-key', 'slow-deposit').send({ walletAddress: exposed.wallet, asset: 'XLM', amount: '10000' })),
      );
      expect(slowDeposit.retry.status).toBe(409);
      expect(slowDeposit.retry.body.error.code).toBe('idempotency_request_in_flight');
      expect(slowDeposit.first.status).toBe(200);
      expect((await move(DEPOSIT, repaid, 'XLM', '10000')).status).toBe(200);
      expect((await move(DEPOSIT, other, 'XLM', '1000')).status).toBe(200);
      expect((await move(DEPOSIT, btc, 'BTC', '1')).body.data.position).toMatchObject({ quantity: '1.00000000', yieldAprBps: 300, value: '1000.0000000', borrowLimit: '800.0000000' });

      // --- reading collateral ---------------------------------------------------------------------------------------------
      const ownCollateral = await call('get', WALLET_COLLATERAL, { walletAddress: owner.wallet }, (r) => r.set(owner.headers));
      expect(ownCollateral.status).toBe(200);
      expect(ownCollateral.body.data).toEqual(deposited.body.data.collateral);
      expect((await call('get', WALLET_COLLATERAL, { walletAddress: Keypair.random().publicKey() }, (r) => r.set(client))).body.data).toMatchObject({
        positions: [],
        totalValue: '0.0000000',
        band: 'healthy',
      });
      expect((await call('get', WALLET_COLLATERAL, { walletAddress: owner.wallet }, (r) => r.set(asStranger))).status).toBe(403);
      expect((await call('get', WALLET_COLLATERAL, { walletAddress: 'GNOTAWALLET' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', WALLET_COLLATERAL, { walletAddress: owner.wallet })).status).toBe(401);
      const positionId = deposited.body.data.position.id as string;
      const position = await call('get', POSITION, { id: positionId }, (r) => r.set(owner.headers));
      expect(position.status).toBe(200);
      expect(position.body.data).toEqual(deposited.body.data);
      expect((await call('get', POSITION, { id: positionId }, (r) => r.set(asStranger))).status).toBe(403);
      const unknownPosition = await call('get', POSITION, { id: UNKNOWN_LINE }, (r) => r.set(client));
      expect(unknownPosition.status).toBe(404);
      expect(unknownPosition.body.error.details).toEqual({ resource: 'Collateral position' });
      expect((await call('get', POSITION, { id: 'nope' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', POSITION, { id: positionId })).status).toBe(401);

      // --- issuing card credit ----------------------------------------------------------------------------------------------
      expect((await call('post', ISSUE, {}, (r) => r.send({ walletAddress: owner.wallet }))).status).toBe(401);
      expect((await call('post', ISSUE, {}, (r) => r.set(client).send({ walletAddress: owner.wallet }))).body.error.code).toBe('wallet_auth_required');
      expect((await call('post', ISSUE, {}, (r) => r.set(asStranger).send({ walletAddress: owner.wallet }))).body.error.code).toBe('wallet_forbidden');
      for (const body of [{ walletAddress: 'GNOTAWALLET' }, { walletAddress: owner.wallet, creditLimit: 1000 }, { walletAddress: owner.wallet, creditLimit: '0' }, { walletAddress: owner.wallet, card: 'gold' }]) {
        expect((await call('post', ISSUE, {}, (r) => r.set(owner.headers).send(body))).status, JSON.stringify(body)).toBe(400);
      }
      const nothing = await call('post', ISSUE, {}, (r) => r.set(client).send({ walletAddress: Keypair.random().publicKey() }));
      expect(nothing.status).toBe(422);
      expect(nothing.body.error.code).toBe('no_collateral');
      const aboveOffer = await call('post', ISSUE, {}, (r) => r.set(owner.headers).send({ walletAddress: owner.wallet, creditLimit: '5000.0000001' }));
      expect(aboveOffer.status).toBe(422);
      expect(aboveOffer.body.error).toMatchObject({ code: 'credit_limit_above_offer', details: { offeredCreditLimit: '5000.0000000' } });
      expect((await call('post', ISSUE, {}, (r) => r.set(owner.headers).set('content-type', 'text/plain').send(owner.wallet))).status).toBe(415);
      expect((await call('post', ISSUE, {}, (r) => r.set(owner.headers).send({ walletAddress: owner.wallet, pad: TOO_BIG }))).status).toBe(413);
      const issueBody = { walletAddress: owner.wallet, creditLimit: '1000' };
      const issued = await call('post', ISSUE, {}, (r) => r.set(owner.headers).set('idempotency-key', `issue-${owner.wallet}`).send(issueBody));
      expect(issued.status).toBe(201);
      expect(issued.body.data).toMatchObject({
        opened: true,
        creditLine: { walletAddress: owner.wallet, collateralBacked: true, creditLimit: '1000.0000000', interestRateBps: 1_200, riskScore: 30, status: 'active' },
        limits: { creditLimit: '1000.0000000', collateralLimit: '900.0000000', productCap: '100000.0000000', effectiveLimit: '900.0000000', available: '900.0000000' },
        collateral: { walletAddress: owner.wallet, collateralLimit: '900.0000000' },
      });
      const ownerLine = issued.body.data.creditLine.id as string;
      const issueReplayed = await call('post', ISSUE, {}, (r) => r.set(owner.headers).set('idempotency-key', `issue-${owner.wallet}`).send(issueBody));
      expect(issueReplayed.status).toBe(201);
      expect(issueReplayed.headers['idempotency-replayed']).toBe('true');
      expect((await call('post', ISSUE, {}, (r) => r.set(owner.headers).set('idempotency-key', `issue-${owner.wallet}`).send({ ...issueBody, creditLimit: '999' }))).body.error.code).toBe(
        'idempotency_key_reused',
      );
      // Issuing again raises the line to the evaluation's offer; the collateral still limits what can be drawn.
      const raised = await call('post', ISSUE, {}, (r) => r.set(owner.headers).send({ walletAddress: owner.wallet }));
      expect(raised.status).toBe(200);
      expect(raised.body.data).toMatchObject({ opened: false, creditLine: { id: ownerLine, creditLimit: '5000.0000000' }, limits: { effectiveLimit: '900.0000000' } });
      // Nothing to raise: an API key alone gets the line as it is.
      expect((await call('post', ISSUE, {}, (r) => r.set(client).send({ walletAddress: owner.wallet }))).body.data).toMatchObject({ opened: false, creditLine: { creditLimit: '5000.0000000' } });
      for (const who of [exposed, repaid]) expect((await call('post', ISSUE, {}, (r) => r.set(who.headers).send({ walletAddress: who.wallet }))).status).toBe(201);
      const btcIssued = await call('post', ISSUE, {}, (r) => r.set(btc.headers).send({ walletAddress: btc.wallet }));
      expect(btcIssued.body.data.limits).toMatchObject({ collateralLimit: '800.0000000', effectiveLimit: '800.0000000' });

      // the provider fails, stalls, then declines; a line that is not collateral-backed is in the way
      scoring.answer(other.wallet, { status: 500 });
      const failed = await call('post', ISSUE, {}, (r) => r.set(other.headers).send({ walletAddress: other.wallet }));
      expect(failed.status).toBe(502);
      expect(failed.body.error.code).toBe('risk_provider_error');
      scoring.answer(other.wallet, 'stall');
      const stalled = await call('post', ISSUE, {}, (r) => r.set(other.headers).send({ walletAddress: other.wallet }));
      expect(stalled.status).toBe(504);
      expect(stalled.body.error.code).toBe('risk_provider_timeout');
      scoring.answer(other.wallet, { body: { score: 20 } });
      const declined = await call('post', ISSUE, {}, (r) => r.set(other.headers).send({ walletAddress: other.wallet }));
      expect(declined.status).toBe(422);
      expect(declined.body.error).toMatchObject({ code: 'credit_declined', details: { score: 20 } });
      const plain = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: other.wallet, creditLimit: '100', interestRateBps: 500 }));
      expect(plain.body.data.collateralBacked).toBe(false);
      const notCard = await call('post', ISSUE, {}, (r) => r.set(client).send({ walletAddress: other.wallet }));
      expect(notCard.status).toBe(409);
      expect(notCard.body.error).toMatchObject({ code: 'line_not_collateral_backed', details: { creditLineId: plain.body.data.id } });

      // --- reading card credit ------------------------------------------------------------------------------------------------
      const card = await call('get', CARD_CREDIT, { id: ownerLine }, (r) => r.set(owner.headers));
      expect(card.status).toBe(200);
      expect(card.body.data).toEqual({ creditLine: raised.body.data.creditLine, limits: raised.body.data.limits, collateral: raised.body.data.collateral });
      expect((await call('get', CARD_CREDIT, { id: ownerLine }, (r) => r.set(asStranger))).status).toBe(403);
      expect((await call('get', CARD_CREDIT, { id: UNKNOWN_LINE }, (r) => r.set(client))).body.error.details).toEqual({ resource: 'Credit line' });
      const plainCard = await call('get', CARD_CREDIT, { id: plain.body.data.id }, (r) => r.set(client));
      expect(plainCard.status).toBe(404);
      expect(plainCard.body.error.details).toEqual({ resource: 'Card credit line' });
      expect((await call('get', CARD_CREDIT, { id: 'nope' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', CARD_CREDIT, { id: ownerLine })).status).toBe(401);
      const cards = await call('get', USER_CARD_CREDIT, { userId: owner.wallet }, (r) => r.set(owner.headers));
      expect(cards.status).toBe(200);
      expect(cards.body.data.items).toEqual([card.body.data]);
      expect((await call('get', USER_CARD_CREDIT, { userId: other.wallet }, (r) => r.set(client))).body.data).toEqual({ items: [] });
      expect((await call('get', USER_CARD_CREDIT, { userId: owner.wallet }, (r) => r.set(asStranger))).status).toBe(403);
      expect((await call('get', USER_CARD_CREDIT, { userId: 'GNOTAWALLET' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', USER_CARD_CREDIT, { userId: owner.wallet })).status).toBe(401);

      // --- drawing against collateral --------------------------------------------------------------------------------------------
      const lineOf = async (wallet: string) => (await call('get', USER_CARD_CREDIT, { userId: wallet }, (r) => r.set(client))).body.data.items[0].creditLine.id as string;
      const beyond = await call('post', DRAW, { id: ownerLine }, (r) => r.set(owner.headers).send({ amount: '900.0000001' }));
      expect(beyond.status).toBe(422);
      expect(beyond.body.error).toMatchObject({ code: 'insufficient_credit', details: { available: '900.0000000', collateralLimited: true } });
      for (const who of [owner, exposed, repaid]) expect((await call('post', DRAW, { id: await lineOf(who.wallet) }, (r) => r.set(who.headers).send({ amount: '900' }))).status).toBe(200);
      const btcLine = btcIssued.body.data.creditLine.id as string;
      expect((await call('post', DRAW, { id: btcLine }, (r) => r.set(btc.headers).send({ amount: '700' }))).status).toBe(200);

      // --- stop-loss settings ----------------------------------------------------------------------------------------------------
      const stopLossBody = { walletAddress: owner.wallet, enabled: true };
      expect((await call('put', STOP_LOSS, {}, (r) => r.send(stopLossBody))).status).toBe(401);
      expect((await call('put', STOP_LOSS, {}, (r) => r.set(client).send(stopLossBody))).body.error.code).toBe('wallet_auth_required');
      expect((await call('put', STOP_LOSS, {}, (r) => r.set(asStranger).send(stopLossBody))).status).toBe(403);
      const duplicated = await call('put', STOP_LOSS, {}, (r) => r.set(owner.headers).send({ ...stopLossBody, assetPriority: ['XLM', 'XLM'] }));
      expect(duplicated.status).toBe(400);
      expect(duplicated.body.error.details).toEqual([expect.objectContaining({ field: 'assetPriority', rule: 'unique' })]);
      for (const body of [{ ...stopLossBody, enabled: 'yes' }, { walletAddress: owner.wallet }, { ...stopLossBody, maxSlippageBps: 5_001 }, { ...stopLossBody, trigger: 1 }]) {
        expect((await call('put', STOP_LOSS, {}, (r) => r.set(owner.headers).send(body))).status, JSON.stringify(body)).toBe(400);
      }
      expect((await call('put', STOP_LOSS, {}, (r) => r.set(owner.headers).set('content-type', 'text/plain').send('on'))).status).toBe(415);
      expect((await call('put', STOP_LOSS, {}, (r) => r.set(owner.headers).send({ ...stopLossBody, pad: TOO_BIG }))).status).toBe(413);
      const stopLoss = await call('put', STOP_LOSS, {}, (r) => r.set(owner.headers).send(stopLossBody));
      expect(stopLoss.status).toBe(200);
      expect(stopLoss.body.data).toEqual({ walletAddress: owner.wallet, enabled: true, assetPriority: [], maxSlippageBps: null, updatedAt: now.toISOString() });
      expect((await call('put', STOP_LOSS, {}, (r) => r.set(repaid.headers).send({ walletAddress: repaid.wallet, enabled: true, assetPriority: ['XLM'], maxSlippageBps: 100 }))).status).toBe(200);
      expect((await call('get', WALLET_STOP_LOSS, { walletAddress: owner.wallet }, (r) => r.set(owner.headers))).body.data).toEqual(stopLoss.body.data);
      expect((await call('get', WALLET_STOP_LOSS, { walletAddress: exposed.wallet }, (r) => r.set(client))).body.data).toEqual({
        walletAddress: exposed.wallet,
        enabled: false,
        assetPriority: [],
        maxSlippageBps: null,
        updatedAt: null,
      });
      expect((await call('get', WALLET_STOP_LOSS, { walletAddress: owner.wallet }, (r) => r.set(asStranger))).status).toBe(403);
      expect((await call('get', WALLET_STOP_LOSS, { walletAddress: 'GNOTAWALLET' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', WALLET_STOP_LOSS, { walletAddress: owner.wallet })).status).toBe(401);

      // --- assessment ---------------------------------------------------------------------------------------------------------------
      const assess = async (wallet: string) => {
        const res = await call('get', ASSESSMENT, { accountId: wallet }, (r) => r.set(client));
        expect(res.status).toBe(200);
        return res.body.data;
      };
      const healthy = await call('get', ASSESSMENT, { accountId: owner.wallet }, (r) => r.set(owner.headers));
      expect(healthy.body.data).toMatchObject({
        walletAddress: owner.wallet,
        creditLineId: ownerLine,
        healthFactorBps: 11_333,
        band: 'healthy',
        thresholds: { healthyFromHfBps: 11_000, stopLossTriggerHfBps: 10_200, liquidationBelowHfBps: 10_000, targetHfBps: 10_500 },
        debt: '900.0000000',
        totalValue: '1200.0000000',
        collateralLimit: '900.0000000',
        assets: [
          {
            assetCode: 'XLM',
            quantity: '10000.0000000',
            price: '0.12000000000000',
            ltvBps: 7_500,
            adjustedLtvBps: 7_500,
            volatilityBps: 10_000,
            liquidationThresholdBps: 8_500,
            stopLossPrice: '0.10800000000000',
            yield: { aprBps: 0, earned: '0.0000000' },
          },
        ],
        interestRateBps: 1_200,
        effectiveRateBps: 1_200,
        stopLoss: { enabled: true },
        pendingExecution: null,
        stalePrices: [],
      });
      // The yield cushion: 3 % on 1,000 of BTC against 700 at 12 % is a net (840,000 - 300,000) / 700 = 771 bps.
      expect(await assess(btc.wallet)).toMatchObject({ interestRateBps: 1_200, effectiveRateBps: 771, assets: [{ assetCode: 'BTC', yield: { aprBps: 300 } }] });
      expect(await assess(Keypair.random().publicKey())).toMatchObject({ creditLineId: null, healthFactorBps: null, band: 'healthy', assets: [], effectiveRateBps: null, stopLoss: null });
      expect((await call('get', ASSESSMENT, { accountId: owner.wallet }, (r) => r.set(asStranger))).status).toBe(403);
      expect((await call('get', ASSESSMENT, { accountId: 'GNOTAWALLET' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', ASSESSMENT, { accountId: owner.wallet })).status).toBe(401);

      // --- withdrawals against the limit and the health factor ------------------------------------------------------------------------
      const withdrawBody = { walletAddress: btc.wallet, asset: 'BTC', amount: '0.01' };
      expect((await call('post', WITHDRAW, {}, (r) => r.send(withdrawBody))).status).toBe(401);
      expect((await call('post', WITHDRAW, {}, (r) => r.set(client).send(withdrawBody))).body.error.code).toBe('wallet_auth_required');
      expect((await call('post', WITHDRAW, {}, (r) => r.set(asStranger).send(withdrawBody))).status).toBe(403);
      for (const body of [{ ...withdrawBody, amount: 0.01 }, { ...withdrawBody, asset: '' }, { ...withdrawBody, to: 'G' }]) {
        expect((await call('post', WITHDRAW, {}, (r) => r.set(btc.headers).send(body))).status, JSON.stringify(body)).toBe(400);
      }
      expect((await move(WITHDRAW, btc, 'BTC', '0.123456789')).body.error.details[0].rule).toBe('max_decimals');
      expect((await move(WITHDRAW, btc, 'NOPE', '1')).body.error.details).toEqual({ resource: 'Collateral asset' });
      const noPosition = await move(WITHDRAW, btc, 'XLM', '1');
      expect(noPosition.status).toBe(404);
      expect(noPosition.body.error.details).toEqual({ resource: 'Collateral position' });
      expect((await call('post', WITHDRAW, {}, (r) => r.set(btc.headers).set('content-type', 'text/plain').send('0.01'))).status).toBe(415);
      expect((await call('post', WITHDRAW, {}, (r) => r.set(btc.headers).send({ ...withdrawBody, pad: TOO_BIG }))).status).toBe(413);
      expect((await move(WITHDRAW, btc, 'BTC', '2')).body.error.code).toBe('insufficient_collateral');
      // 1 BTC at 1,000 lends 800 against a debt of 700: 0.2 out leaves a limit of 640, 0.1 out a health factor of 1.09.
      const breaksLimit = await move(WITHDRAW, btc, 'BTC', '0.2');
      expect(breaksLimit.status).toBe(422);
      expect(breaksLimit.body.error).toMatchObject({ code: 'withdrawal_breaks_limit', details: { balance: '700.0000000', limitAfter: expect.any(String) } });
      const breaksHealth = await move(WITHDRAW, btc, 'BTC', '0.1');
      expect(breaksHealth.status).toBe(422);
      expect(breaksHealth.body.error).toMatchObject({ code: 'withdrawal_breaks_health', details: { healthFactorBpsAfter: 10_928 } });
      const withdrawn = await call('post', WITHDRAW, {}, (r) => r.set(btc.headers).set('idempotency-key', `withdraw-${btc.wallet}`).send(withdrawBody));
      expect(withdrawn.status).toBe(200);
      expect(withdrawn.body.data.position.quantity).toMatch(/^0\.99\d{6}$/);
      expect(withdrawn.body.data.collateral).toMatchObject({ debt: '700.0000000', band: 'healthy' });
      const withdrawReplayed = await call('post', WITHDRAW, {}, (r) => r.set(btc.headers).set('idempotency-key', `withdraw-${btc.wallet}`).send(withdrawBody));
      expect(withdrawReplayed.headers['idempotency-replayed']).toBe('true');
      expect((await call('post', WITHDRAW, {}, (r) => r.set(btc.headers).set('idempotency-key', `withdraw-${btc.wallet}`).send({ ...withdrawBody, amount: '0.02' }))).status).toBe(422);
      const slowWithdrawal = await retriedWhileRunning(collateral, 'withdraw', () =>
        call('post', WITHDRAW, {}, (r) => r.set(btc.headers).set('idempotency-key', 'slow-withdrawal').send({ ...withdrawBody, amount: '0.001' })),
      );
      expect(slowWithdrawal.retry.body.error.code).toBe('idempotency_request_in_flight');
      expect(slowWithdrawal.first.status).toBe(200);

      // --- -10 %: the monitor orders stop-loss sales --------------------------------------------------------------------------------------
      tick(60);
      await price('XLM', '0.108');
      expect((await assess(exposed.wallet)).band).toBe('stop_loss'); // no stop-loss: no order
      const listExecutions = async (query: Record<string, string>) => {
        const res = await call('get', EXECUTIONS, {}, (r) => r.set(admin).query(query));
        expect(res.status).toBe(200);
        return res.body.data.items as Array<{ id: string; kind: string; status: string; plan: Record<string, string>; cancelReason: string | null }>;
      };
      expect(await listExecutions({ walletAddress: exposed.wallet })).toEqual([]);
      const [sale] = await listExecutions({ walletAddress: owner.wallet });
      expect(sale).toMatchObject({
        walletAddress: owner.wallet,
        creditLineId: ownerLine,
        kind: 'stop_loss',
        trigger: 'monitor',
        status: 'pending',
        // the debt is priced with the interest accrued since the draw, so the C.4 figures move by a few units
        plan: { kind: 'stop_loss', assetCode: 'XLM', price: '0.10800000000000', slippageBps: 100 },
        fill: null,
        paramsVersions: { XLM: 2 },
        createdBy: 'risk-monitor',
        settledAt: null,
        cancelReason: null,
      });
      expect((await assess(owner.wallet)).pendingExecution).toMatchObject({ id: sale!.id, status: 'pending' });
      const firstPage = await call('get', EXECUTIONS, {}, (r) => r.set(admin).query({ status: 'pending', limit: 1 }));
      expect(firstPage.body.data.items).toHaveLength(1);
      const secondPage = await call('get', EXECUTIONS, {}, (r) => r.set(admin).query({ status: 'pending', limit: 1, cursor: firstPage.body.data.nextCursor }));
      expect(secondPage.body.data.items[0].id).not.toBe(firstPage.body.data.items[0].id);
      for (const query of [{ status: 'open' }, { limit: 0 }, { cursor: 'not-a-cursor' }, { walletAddress: 'GABC' }, { kind: 'stop_loss' }]) {
        expect((await call('get', EXECUTIONS, {}, (r) => r.set(admin).query(query))).status, JSON.stringify(query)).toBe(400);
      }
      expect((await call('get', EXECUTIONS, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', EXECUTIONS)).status).toBe(401);
      expect((await call('get', EXECUTION, { id: sale!.id }, (r) => r.set(admin))).body.data).toEqual(sale);
      expect((await call('get', EXECUTION, { id: UNKNOWN_LINE }, (r) => r.set(admin))).body.error.details).toEqual({ resource: 'Risk execution' });
      expect((await call('get', EXECUTION, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('get', EXECUTION, { id: sale!.id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', EXECUTION, { id: sale!.id })).status).toBe(401);

      // --- the keeper fills the sale ------------------------------------------------------------------------------------------------------
      const saleFill = { collateralQuantity: sale!.plan.sellQuantity!, usdcAmount: '141.5', reference: 'sale-1' };
      expect((await call('post', FILL, { id: sale!.id }, (r) => r.send(saleFill))).status).toBe(401);
      expect((await call('post', FILL, { id: sale!.id }, (r) => r.set(client).send(saleFill))).status).toBe(403);
      for (const body of [{ ...saleFill, usdcAmount: 141.5 }, { collateralQuantity: saleFill.collateralQuantity }, { ...saleFill, collateralQuantity: '-1' }, { ...saleFill, price: '1' }]) {
        expect((await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).send(body))).status, JSON.stringify(body)).toBe(400);
      }
      expect((await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).send({ ...saleFill, collateralQuantity: '1.123456789' }))).body.error.details[0]).toMatchObject({
        field: 'collateralQuantity',
        rule: 'max_decimals',
      });
      expect((await call('post', FILL, { id: 'nope' }, (r) => r.set(admin).send(saleFill))).status).toBe(400);
      expect((await call('post', FILL, { id: UNKNOWN_LINE }, (r) => r.set(admin).send(saleFill))).status).toBe(404);
      expect((await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).send({ ...saleFill, reference: TOO_BIG }))).status).toBe(413);
      const oversold = await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).send({ ...saleFill, collateralQuantity: plusUnits(saleFill.collateralQuantity, 7, 1n) }));
      expect(oversold.status).toBe(422);
      expect(oversold.body.error.code).toBe('fill_exceeds_plan');
      const slipped = await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).send({ ...saleFill, usdcAmount: '140' }));
      expect(slipped.status).toBe(422);
      expect(slipped.body.error).toMatchObject({ code: 'fill_slippage_exceeded', details: { minimumProceeds: sale!.plan.minProceeds } });
      const sold = await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).set('idempotency-key', `fill-${sale!.id}`).send(saleFill));
      expect(sold.status).toBe(200);
      expect(sold.body.data).toMatchObject({
        status: 'filled',
        fill: { collateralQuantity: saleFill.collateralQuantity, usdcAmount: '141.5000000', repaid: '141.5000000', writtenOff: '0.0000000', surplus: '0.0000000', reference: 'sale-1' },
        settledAt: now.toISOString(),
      });
      const fillReplayed = await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).set('idempotency-key', `fill-${sale!.id}`).send(saleFill));
      expect(fillReplayed.headers['idempotency-replayed']).toBe('true');
      expect(fillReplayed.body).toEqual(sold.body);
      expect((await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).set('idempotency-key', `fill-${sale!.id}`).send({ ...saleFill, reference: 'x' }))).status).toBe(422);
      const twice = await call('post', FILL, { id: sale!.id }, (r) => r.set(admin).send(saleFill));
      expect(twice.status).toBe(409);
      expect(twice.body.error).toMatchObject({ code: 'execution_settled', details: { status: 'filled' } });
      const ledger = await call('get', TRANSACTIONS, { id: ownerLine }, (r) => r.set(client).query({ limit: 1 }));
      expect(ledger.body.data.items[0]).toMatchObject({ type: 'collateral_repay', amount: '141.5000000' });
      expect((await assess(owner.wallet)).healthFactorBps).toBeGreaterThanOrEqual(10_500);

      // --- the collateral changed under a waiting order: the borrower repaid and withdrew it ------------------------------------------------
      const [waiting] = await listExecutions({ walletAddress: repaid.wallet, status: 'pending' });
      const repaidLine = await lineOf(repaid.wallet);
      const owed = (await call('get', LINE, { id: repaidLine }, (r) => r.set(client))).body.data.utilized as string;
      expect((await call('post', REPAY, { id: repaidLine }, (r) => r.set(repaid.headers).send({ amount: owed }))).body.data.creditLine.utilized).toBe('0.0000000');
      expect((await move(WITHDRAW, repaid, 'XLM', '10000')).body.data.position.quantity).toBe('0.0000000');
      const changed = await call('post', FILL, { id: waiting!.id }, (r) => r.set(admin).send({ collateralQuantity: waiting!.plan.sellQuantity, usdcAmount: waiting!.plan.minProceeds }));
      expect(changed.status).toBe(409);
      expect(changed.body.error).toMatchObject({ code: 'collateral_changed', details: { held: '0.0000000' } });
      expect((await call('post', CANCEL, { id: waiting!.id })).status).toBe(401);
      expect((await call('post', CANCEL, { id: waiting!.id }, (r) => r.set(client))).status).toBe(403);
      expect((await call('post', CANCEL, { id: 'nope' }, (r) => r.set(admin))).status).toBe(400);
      expect((await call('post', CANCEL, { id: waiting!.id }, (r) => r.set(admin).send({ reason: 7 }))).status).toBe(400);
      expect((await call('post', CANCEL, { id: UNKNOWN_LINE }, (r) => r.set(admin))).status).toBe(404);
      expect((await call('post', CANCEL, { id: waiting!.id }, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', CANCEL, { id: waiting!.id }, (r) => r.set(admin).send({ reason: TOO_BIG }))).status).toBe(413);
      const cancelled = await call('post', CANCEL, { id: waiting!.id }, (r) => r.set(admin).send({ reason: 'the borrower repaid and withdrew' }));
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.data).toMatchObject({ status: 'cancelled', fill: null, cancelReason: 'the borrower repaid and withdrew', settledAt: now.toISOString() });
      const cancelledTwice = await call('post', CANCEL, { id: waiting!.id }, (r) => r.set(admin));
      expect(cancelledTwice.status).toBe(409);
      expect(cancelledTwice.body.error).toMatchObject({ code: 'execution_settled', details: { status: 'cancelled' } });

      // --- -20 %: liquidation, by the monitor and by an admin --------------------------------------------------------------------------------
      tick(60);
      await price('XLM', '0.096');
      const [ordered] = await listExecutions({ walletAddress: exposed.wallet, status: 'pending' });
      expect(ordered).toMatchObject({ kind: 'liquidation', trigger: 'monitor', plan: { capped: false } });
      expect(Number(ordered!.plan.repay)).toBeCloseTo(819.05, 1); // C.4, give or take the interest accrued since the draw
      const liquidate = (body: Record<string, unknown>, build: (req: Test) => Test = (r) => r.set(admin)) => call('post', LIQUIDATION, {}, (r) => build(r).send(body));
      expect((await liquidate({ walletAddress: exposed.wallet }, (r) => r)).status).toBe(401);
      expect((await liquidate({ walletAddress: exposed.wallet }, (r) => r.set(client))).status).toBe(403);
      for (const body of [{ walletAddress: 'GNOTAWALLET' }, { walletAddress: exposed.wallet, dryRun: 'yes' }, { walletAddress: exposed.wallet, force: true }, {}]) {
        expect((await liquidate(body)).status, JSON.stringify(body)).toBe(400);
      }
      expect((await call('post', LIQUIDATION, {}, (r) => r.set(admin).set('content-type', 'text/plain').send(exposed.wallet))).status).toBe(415);
      expect((await liquidate({ walletAddress: exposed.wallet, pad: TOO_BIG })).status).toBe(413);
      const noLine = await liquidate({ walletAddress: other.wallet });
      expect(noLine.status).toBe(409);
      expect(noLine.body.error).toMatchObject({ code: 'not_liquidatable', details: null });
      const solvent = await liquidate({ walletAddress: btc.wallet });
      expect(solvent.status).toBe(409);
      expect(solvent.body.error).toMatchObject({ code: 'not_liquidatable', details: { band: 'healthy' } });
      const pending = await liquidate({ walletAddress: exposed.wallet });
      expect(pending.status).toBe(409);
      expect(pending.body.error.code).toBe('execution_pending');
      const dryRun = await liquidate({ walletAddress: exposed.wallet, dryRun: true });
      expect(dryRun.status).toBe(200);
      expect(dryRun.body.data).toEqual({ dryRun: true, plan: ordered!.plan, execution: null });
      expect((await call('post', CANCEL, { id: ordered!.id }, (r) => r.set(admin))).body.data.cancelReason).toMatch(/^cancelled by admin:/);
      const liquidation = await liquidate({ walletAddress: exposed.wallet }, (r) => r.set(admin).set('idempotency-key', `liquidate-${exposed.wallet}`));
      expect(liquidation.status).toBe(201);
      expect(liquidation.body.data).toMatchObject({ dryRun: false, plan: ordered!.plan, execution: { kind: 'liquidation', trigger: 'admin', status: 'pending', createdBy: expect.stringMatching(/^admin:/) } });
      const liquidationReplayed = await liquidate({ walletAddress: exposed.wallet }, (r) => r.set(admin).set('idempotency-key', `liquidate-${exposed.wallet}`));
      expect(liquidationReplayed.status).toBe(201);
      expect(liquidationReplayed.headers['idempotency-replayed']).toBe('true');
      expect((await liquidate({ walletAddress: exposed.wallet, dryRun: false }, (r) => r.set(admin).set('idempotency-key', `liquidate-${exposed.wallet}`))).status).toBe(422);
      const order = liquidation.body.data.execution as { id: string; plan: { repay: string; seizeQuantity: string } };
      const overpaid = await call('post', FILL, { id: order.id }, (r) => r.set(admin).send({ collateralQuantity: order.plan.seizeQuantity, usdcAmount: plusUnits(order.plan.repay, 7, 1n) }));
      expect(overpaid.body.error.code).toBe('fill_exceeds_plan');
      const overseized = await call('post', FILL, { id: order.id }, (r) => r.set(admin).send({ collateralQuantity: order.plan.seizeQuantity, usdcAmount: plusUnits(order.plan.repay, 7, -1n) }));
      expect(overseized.body.error.code).toBe('fill_slippage_exceeded');
      const seized = await call('post', FILL, { id: order.id }, (r) => r.set(admin).send({ collateralQuantity: order.plan.seizeQuantity, usdcAmount: order.plan.repay }));
      expect(seized.status).toBe(200);
      expect(seized.body.data.fill).toMatchObject({ repaid: order.plan.repay, writtenOff: '0.0000000' });

      // --- a collapse: bad debt ---------------------------------------------------------------------------------------------------------------
      tick(60);
      await price('XLM', '0.04');
      const ownerOrders = await listExecutions({ walletAddress: owner.wallet });
      expect(ownerOrders.map((e) => [e.kind, e.status])).toEqual([
        ['bad_debt', 'pending'],
        ['liquidation', 'cancelled'],
        ['stop_loss', 'filled'],
      ]);
      expect(ownerOrders[1]!.cancelReason).toBe('superseded by a bad_debt plan at the new price');
      const badDebt = ownerOrders[0]! as unknown as { id: string; plan: { repay: string; writeOff: string; seizures: unknown[] } };
      expect(badDebt.plan.seizures).toEqual([expect.objectContaining({ assetCode: 'XLM', price: '0.04000000000000' })]);
      const writtenOff = await call('post', FILL, { id: badDebt.id }, (r) => r.set(admin).send({ collateralQuantity: '0', usdcAmount: badDebt.plan.repay }));
      expect(writtenOff.status).toBe(200);
      expect(writtenOff.body.data.fill).toMatchObject({ collateralQuantity: null, repaid: badDebt.plan.repay });
      expect(writtenOff.body.data.fill.writtenOff).not.toBe('0.0000000');
      expect((await call('get', LINE, { id: ownerLine }, (r) => r.set(client))).body.data).toMatchObject({ status: 'defaulted', utilized: '0.0000000' });
      const afterBadDebt = await call('get', TRANSACTIONS, { id: ownerLine }, (r) => r.set(client).query({ limit: 2 }));
      expect(afterBadDebt.body.data.items.map((e: { type: string }) => e.type)).toEqual(['write_off', 'collateral_repay']);
      expect((await call('get', WALLET_COLLATERAL, { walletAddress: owner.wallet }, (r) => r.set(client))).body.data.positions[0].quantity).toBe('0.0000000');

      // --- stale prices refuse what depends on them ------------------------------------------------------------------------------------------------
      tick(301); // the assets' maximum price age is 300 s
      const staleDraw = await call('post', DRAW, { id: btcLine }, (r) => r.set(btc.headers).send({ amount: '1' }));
      expect(staleDraw.status).toBe(503);
      expect(staleDraw.body.error).toMatchObject({ code: 'price_stale', details: { stale: [expect.objectContaining({ assetCode: 'BTC', maxAgeSeconds: 300 })] } });
      expect((await move(WITHDRAW, btc, 'BTC', '0.001')).body.error.code).toBe('price_stale');
      expect((await call('post', ISSUE, {}, (r) => r.set(btc.headers).send({ walletAddress: btc.wallet }))).status).toBe(503);
      expect((await liquidate({ walletAddress: exposed.wallet, dryRun: true })).status).toBe(503);
      // ... but not deposits, reads or repayments; readiness reports the stale assets without failing
      const staleDeposit = await move(DEPOSIT, other, 'XLM', '1');
      expect(staleDeposit.status).toBe(200);
      expect(staleDeposit.body.data.collateral.stalePrices).toEqual([{ assetCode: 'XLM', observedAt: expect.any(String), maxAgeSeconds: 300 }]);
      expect((await call('post', REPAY, { id: btcLine }, (r) => r.set(btc.headers).send({ amount: '10' }))).status).toBe(200);
      const ready = await call('get', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.data.ready).toBe(true);
      expect(ready.body.data.checks.prices).toMatchObject({ status: 'down', critical: false });
      expect(ready.body.data.checks.prices.error).toMatch(/BTC.*XLM/);

      // --- the audit log and the events subscribers received -----------------------------------------------------------------------------------------
      const assetAudit = await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'collateral_asset', targetId: 'XLM' }));
      expect(new Set(assetAudit.body.data.items.map((e: { action: string }) => e.action))).toEqual(new Set(['collateral_asset.create', 'collateral_asset.update_params', 'collateral_asset.post_price']));
      const lineAudit = async (id: string) => (await call('get', AUDIT, {}, (r) => r.set(admin).query({ targetType: 'credit_line', targetId: id }))).body.data.items.map((e: { action: string }) => e.action);
      expect(await lineAudit(ownerLine)).toEqual(['liquidation.bad_debt', 'stop_loss.executed']);
      expect(await lineAudit(await lineOf(exposed.wallet))).toEqual(['liquidation.executed']);

      while ((await webhooks.fanOut()) > 0);
      while ((await webhooks.dispatch('spec-worker')) > 0);
      for (const received of receiver.received) expectMatchesWebhook('collateralEvent', received);
      expect(new Set(receiver.received.map((w) => w.body.type))).toEqual(new Set(collateralEvents));
      const bands = receiver.received.filter((w) => w.body.type === 'risk.band_changed' && w.body.data.walletAddress === exposed.wallet).map((w) => w.body.data);
      expect(bands.map((data) => data.band).sort()).toEqual(['liquidatable', 'stop_loss']);
      const executed = receiver.received.find((w) => w.body.type === 'stop_loss.executed')!.body.data;
      expect(executed).toMatchObject({ executionId: sale!.id, repaid: '141.5000000', usdcReceived: '141.5000000', plan: { kind: 'stop_loss', price: '0.10800000000000' } });
    } finally {
      await receiver.close();
      await collateralApp.close();
      await scoring.close();
    }
  });

  it('takes card and anchor repayments, applies the provider\'s signed webhooks once and reconciles settlements, every response as documented', async () => {
    const fake = await startFakeStripe();
    const receiver = await startReceiver();
    const repaymentAccount = Keypair.random().publicKey();
    const payments = await createTestApp(kind, {
      WALLET_AUTH: 'required',
      PAYMENT_PROVIDER_API_KEY: fake.apiKey,
      PAYMENT_WEBHOOK_SECRET: fake.webhookSecret,
      PAYMENT_PROVIDER_API_BASE: fake.url,
      PAYMENT_FX_RATES: 'usd=1,eur=1.08,jpy=0.0067',
      // The anchor path: USDC paid into this account with the repayment's memo. The Horizon listener is not run
      // here; the test records the incoming payment as it would.
      REPAYMENT_ACCOUNT: repaymentAccount,
      HORIZON_URL: 'http://127.0.0.1:1',
    });
    try {
      const { call } = apiFor(payments.app, api.seen);
      const { repayments, webhooks } = payments.container.services;
      const session = async () => {
        const keys = Keypair.random();
        return { wallet: keys.publicKey(), headers: (await signIn(call, keys)).headers };
      };
      const borrower = await session();
      const closing = await session(); // its line closes before its card payment arrives
      const { headers: asStranger } = await signIn(call, Keypair.random());
      const openLine = async (walletAddress: string) => {
        const opened = await call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress, creditLimit: '1000', interestRateBps: 0 }));
        expect(opened.status).toBe(201);
        return opened.body.data.id as string;
      };
      const lineId = await openLine(borrower.wallet);
      expect((await call('post', DRAW, { id: lineId }, (r) => r.set(borrower.headers).send({ amount: '500' }))).status).toBe(200);
      const repaymentEvents = ['credit_line.repaid', 'repayment.reversed', 'repayment.failed', 'repayment.parked', 'repayment.reconciliation_mismatch'];
      expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ url: receiver.url, eventTypes: repaymentEvents }))).status).toBe(201);

      type Pending = { id: string; providerRef: string };
      const initiate = async (body: Record<string, unknown>, headers = borrower.headers) => {
        const res = await call('post', INITIATE, {}, (r) => r.set(headers).send(body));
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.data.repayment as Pending;
      };
      type Delivery = ReturnType<typeof fake.control.signedDelivery>;
      const deliver = (delivery: Delivery, build: (req: Test) => Test = (r) => r) => call('post', PROVIDER_WEBHOOK, {}, (r) => build(r.set(delivery.headers)).send(delivery.payload));
      const paid = (intentId: string) => fake.control.signedDelivery(fake.control.succeed(intentId));
      const chargeOf = (intentId: string) => [...fake.state.charges.all()].find((c) => c.payment_intent === intentId && c.status === 'succeeded')!;
      const utilized = async (id: string) => (await call('get', LINE, { id }, (r) => r.set(client))).body.data.utilized as string;
      const repaymentOf = async (id: string) => (await call('get', REPAYMENT, { id }, (r) => r.set(admin))).body.data;

      // --- what initiating refuses ------------------------------------------------------------------------------
      const body = { lineId, amount: '100.00', currency: 'usd' };
      expect((await call('post', INITIATE, {}, (r) => r.send(body))).status).toBe(401);
      expect((await call('post', INITIATE, {}, (r) => r.set(client).send(body))).body.error.code).toBe('wallet_auth_required');
      expect((await call('post', INITIATE, {}, (r) => r.set(asStranger).send(body))).body.error.code).toBe('wallet_forbidden');
      const invalid = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).send({ lineId: 'nope', amount: 100, currency: 'u$d', colour: 'blue' }));
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['amount', 'colour', 'currency', 'lineId']);
      const unsupported = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).send({ ...body, currency: 'gbp' }));
      expect(unsupported.status).toBe(400);
      expect(unsupported.body.error.details).toEqual([expect.objectContaining({ field: 'currency', rule: 'supported_currency' })]);
      for (const [amount, currency] of [['100.001', 'usd'], ['0.00', 'usd'], ['1.5', 'jpy'], ['1.12345678', 'USDC']] as const) {
        const refused = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).send({ lineId, amount, currency }));
        expect(refused.status, `${amount} ${currency}`).toBe(400);
        expect(refused.body.error.details, `${amount} ${currency}`).toEqual([expect.objectContaining({ field: 'amount', rule: 'decimal_amount' })]);
      }
      expect((await call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('content-type', 'application/json').send('{"lineId":'))).body.error.code).toBe('malformed_json');
      expect((await call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('idempotency-key', 'has a space').send(body))).status).toBe(400);
      const unknownLine = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).send({ ...body, lineId: UNKNOWN_LINE }));
      expect(unknownLine.status).toBe(404);
      expect(unknownLine.body.error.details).toEqual({ resource: 'Credit line' });
      expect((await call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('content-type', 'text/plain').send('100'))).status).toBe(415);
      expect((await call('post', INITIATE, {}, (r) => r.set(borrower.headers).send({ ...body, pad: TOO_BIG }))).status).toBe(413);

      // --- initiating, idempotently: a PaymentIntent at the provider and its client secret ----------------------------
      const created = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('idempotency-key', `card-${lineId}`).send(body));
      expect(created.status).toBe(201);
      expect(created.body.data).toEqual({
        repayment: {
          id: expect.any(String),
          creditLineId: lineId,
          walletAddress: borrower.wallet,
          provider: 'stripe',
          providerRef: expect.stringMatching(/^pi_/),
          status: 'pending',
          currency: 'usd',
          paymentAmount: '100.00',
          fxRate: '1.00000000000000',
          amount: '100.0000000',
          appliedAmount: '0.0000000',
          creditBalance: '0.0000000',
          reversedAmount: '0.0000000',
          failureReason: null,
          parkedReason: null,
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
        instructions: { provider: 'stripe', clientSecret: expect.stringMatching(/^pi_.+_secret_/), destination: null, memo: null },
      });
      const card = created.body.data.repayment as Pending;
      expect(fake.state.paymentIntents.get(card.providerRef)).toMatchObject({ amount: 10_000, currency: 'usd', metadata: { repaymentId: card.id, creditLineId: lineId } });
      const replayed = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('idempotency-key', `card-${lineId}`).send(body));
      expect(replayed.headers['idempotency-replayed']).toBe('true');
      expect(replayed.body).toEqual(created.body);
      expect((await call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('idempotency-key', `card-${lineId}`).send({ ...body, amount: '99.00' }))).body.error.code).toBe(
        'idempotency_key_reused',
      );
      const slow = await retriedWhileRunning(repayments, 'initiate', () =>
        call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('idempotency-key', 'slow-card').send({ ...body, amount: '1.00' })),
      );
      expect(slow.retry.status).toBe(409);
      expect(slow.retry.body.error.code).toBe('idempotency_request_in_flight');
      expect(slow.first.status).toBe(201);
      // Other currencies at the recorded rate: EUR with 2 decimals, JPY with none.
      const euros = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).send({ ...body, currency: 'EUR' }));
      expect(euros.body.data.repayment).toMatchObject({ currency: 'eur', paymentAmount: '100.00', fxRate: '1.08000000000000', amount: '108.0000000' });
      const yen = await initiate({ lineId, amount: '1500', currency: 'jpy' });
      expect(yen).toMatchObject({ paymentAmount: '1500', fxRate: '0.00670000000000', amount: '10.0500000' });

      // --- the provider refuses (502; the key is released, a retry goes through), or does not answer in time (504) ----
      fake.control.faults.failNext(1, 429);
      const flaky = () => call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('idempotency-key', `flaky-${lineId}`).send({ ...body, amount: '5.00' }));
      const refused = await flaky();
      expect(refused.status).toBe(502);
      expect(refused.body.error).toMatchObject({ code: 'payment_provider_error', details: { providerCode: 'rate_limit' } });
      const recovered = await flaky();
      expect(recovered.status).toBe(201);
      // What the provider reports when Stripe does not answer within PAYMENT_PROVIDER_TIMEOUT_MS (10 s here, too long to
      // wait for; the real timeout is driven end to end in tests/integration/repayment/stripe.test.ts).
      vi.spyOn(StripePaymentProvider.prototype, 'createPayment').mockRejectedValueOnce(
        new GatewayTimeoutError('payment_provider_timeout', 'The payment provider did not answer within 10000 ms'),
      );
      const timedOut = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).send(body));
      expect(timedOut.status).toBe(504);
      expect(timedOut.body.error).toMatchObject({ code: 'payment_provider_timeout', details: null });

      // --- the provider's webhook applies a succeeded payment once, however often and concurrently it arrives ------------
      // Stripe signs each delivery anew: three deliveries of one event, each with its own timestamp, at once.
      const succeededEvent = fake.control.succeed(card.providerRef);
      const signedAt = Math.floor(Date.now() / 1000);
      const answers = await Promise.all([0, 1, 2].map((i) => deliver(fake.control.signedDelivery(succeededEvent, { timestamp: signedAt - i }))));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers.map((a) => a.body.data.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
      expect(answers.find((a) => a.body.data.outcome === 'applied')!.body.data).toEqual({
        eventId: expect.stringMatching(/^evt_/),
        type: 'payment_intent.succeeded',
        outcome: 'applied',
        repaymentId: card.id,
      });
      expect(answers.find((a) => a.body.data.outcome === 'duplicate')!.body.data.repaymentId).toBeNull();
      expect(await utilized(lineId)).toBe('400.0000000');
      expect(await repaymentOf(card.id)).toMatchObject({ status: 'succeeded', appliedAmount: '100.0000000', creditBalance: '0.0000000' });

      // a declined card: failed, with the provider's reason
      const declined = await initiate({ ...body, amount: '50.00' });
      const failed = await deliver(fake.control.signedDelivery(fake.control.fail(declined.providerRef, 'Your card was declined.')));
      expect(failed.body.data).toMatchObject({ type: 'payment_intent.payment_failed', outcome: 'failed', repaymentId: declined.id });
      expect(await repaymentOf(declined.id)).toMatchObject({ status: 'failed', failureReason: 'Your card was declined.', appliedAmount: '0.0000000' });

      // a partial refund goes back on the balance
      const { event: partialRefund } = fake.control.refund(chargeOf(card.providerRef).id, 3_000);
      expect((await deliver(fake.control.signedDelivery(partialRefund))).body.data).toMatchObject({ type: 'charge.refunded', outcome: 'reversed', repaymentId: card.id });
      expect(await utilized(lineId)).toBe('430.0000000');
      const reversal = await call('get', TRANSACTIONS, { id: lineId }, (r) => r.set(client).query({ limit: 1 }));
      expect(reversal.body.data.items[0]).toMatchObject({ type: 'repay_reversal', amount: '30.0000000', principalAmount: '30.0000000', utilizedAfter: '430.0000000' });

      // an over-payment is held as credit balance; a dispute takes that back first, then the rest from the line
      const over = await initiate({ ...body, amount: '500.00' });
      expect((await deliver(paid(over.providerRef))).body.data.outcome).toBe('applied');
      expect(await utilized(lineId)).toBe('0.0000000');
      expect(await repaymentOf(over.id)).toMatchObject({ status: 'succeeded', appliedAmount: '430.0000000', creditBalance: '70.0000000' });
      const disputed = await deliver(fake.control.signedDelivery(fake.control.dispute(chargeOf(over.providerRef).id, 10_000)));
      expect(disputed.body.data).toMatchObject({ type: 'charge.dispute.created', outcome: 'reversed', repaymentId: over.id });
      expect(await utilized(lineId)).toBe('30.0000000');
      expect(await repaymentOf(over.id)).toMatchObject({ status: 'succeeded', creditBalance: '0.0000000', reversedAmount: '100.0000000' });
      // the rest of the first payment refunded: given back in full
      const { event: fullRefund } = fake.control.refund(chargeOf(card.providerRef).id);
      expect((await deliver(fake.control.signedDelivery(fullRefund))).body.data.outcome).toBe('reversed');
      expect(await utilized(lineId)).toBe('100.0000000');
      expect(await repaymentOf(card.id)).toMatchObject({ status: 'refunded', appliedAmount: '100.0000000', reversedAmount: '100.0000000' });

      // a payment for a line closed meanwhile is parked; a closed line takes no new one
      const closingLine = await openLine(closing.wallet);
      const late = await initiate({ lineId: closingLine, amount: '25.00', currency: 'usd' }, closing.headers);
      expect((await call('post', CLOSE, { id: closingLine }, (r) => r.set(admin))).status).toBe(200);
      const closedLine = await call('post', INITIATE, {}, (r) => r.set(closing.headers).send({ lineId: closingLine, amount: '25.00', currency: 'usd' }));
      expect(closedLine.status).toBe(409);
      expect(closedLine.body.error).toMatchObject({ code: 'invalid_status', details: { currentStatus: 'closed' } });
      expect((await deliver(paid(late.providerRef))).body.data).toMatchObject({ outcome: 'parked', repaymentId: late.id });
      expect(await repaymentOf(late.id)).toMatchObject({ status: 'parked', parkedReason: 'the line is closed', appliedAmount: '0.0000000' });
      // the operator's review list: parked repayments across lines
      const parked = await call('get', REPAYMENTS, {}, (r) => r.set(admin).query({ status: 'parked' }));
      expect(parked.status).toBe(200);
      expect(parked.body.data.items.map((x: { id: string }) => x.id)).toEqual([late.id]);
      const everyOne = await call('get', REPAYMENTS, {}, (r) => r.set(admin).query({ limit: 2 }));
      expect(everyOne.body.data.items).toHaveLength(2);
      expect(everyOne.body.data.nextCursor).toEqual(expect.any(String));
      const badStatus = await call('get', REPAYMENTS, {}, (r) => r.set(admin).query({ status: 'lost' }));
      expect(badStatus.status).toBe(400);
      expect(badStatus.body.error.details[0]).toMatchObject({ field: 'status', rule: 'enum' });
      expect((await call('get', REPAYMENTS, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', REPAYMENTS)).status).toBe(401);

      // events that move no repayment of ours
      const chargeEvent = fake.control.events('charge.succeeded')[0]!;
      expect((await deliver(fake.control.signedDelivery(chargeEvent))).body.data).toMatchObject({ type: 'charge.succeeded', outcome: 'ignored', repaymentId: null });
      const foreign = { id: `evt_${randomUUID().replace(/-/g, '')}`, object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_notours', object: 'payment_intent', amount_received: 100, currency: 'usd' } } };
      expect((await deliver(fake.control.signedDelivery(foreign))).body.data).toMatchObject({ outcome: 'unmatched', repaymentId: null });

      // --- what the webhook refuses: a forged, stale, missing or tampered signature; too large; undecodable ---------------
      const yenPaid = fake.control.succeed(yen.providerRef);
      const good = fake.control.signedDelivery(yenPaid);
      const tampered = { ...good, payload: good.payload.replace(/"amount_received": \d+/, '"amount_received": 999999') };
      expect(tampered.payload).not.toBe(good.payload);
      const forged = fake.control.signedDelivery(yenPaid, { secret: `whsec_${randomBytes(24).toString('base64')}` });
      const stale = fake.control.signedDelivery(yenPaid, { timestamp: Math.floor(Date.now() / 1000) - 301 });
      for (const [name, bad] of Object.entries({ forged, stale, tampered })) {
        const res = await deliver(bad);
        expect(res.status, name).toBe(400);
        expect(res.body.error, name).toMatchObject({ code: 'validation_failed', details: [{ field: 'Stripe-Signature', rule: 'valid_signature' }] });
      }
      expect((await call('post', PROVIDER_WEBHOOK, {}, (r) => r.set('content-type', 'application/json').send(good.payload))).status).toBe(400);
      expect((await deliver(good, (r) => r.set('content-type', 'text/plain'))).status).toBe(200); // the signature is over bytes, whatever the type
      const replayedDelivery = await deliver(good);
      expect(replayedDelivery.status).toBe(400);
      expect(replayedDelivery.body.error).toMatchObject({ code: 'validation_failed', details: [{ field: 'Stripe-Signature', rule: 'not_replayed' }] });
      expect((await call('post', PROVIDER_WEBHOOK, {}, (r) => r.set(good.headers).send(TOO_BIG))).status).toBe(413);
      expect((await deliver(good, (r) => r.set('content-encoding', 'x-unknown'))).status).toBe(415);
      expect(await repaymentOf(yen.id)).toMatchObject({ status: 'succeeded', appliedAmount: '10.0500000' });
      expect(await utilized(lineId)).toBe('89.9500000');

      // --- the anchor path: USDC to the repayment account with the memo ---------------------------------------------------
      const anchored = await call('post', INITIATE, {}, (r) => r.set(borrower.headers).set('idempotency-key', `anchor-${lineId}`).send({ lineId, amount: '25.5', currency: 'USDC' }));
      expect(anchored.status).toBe(201);
      const memo = anchored.body.data.repayment.providerRef as string;
      expect(anchored.body.data).toMatchObject({
        repayment: { provider: 'anchor', providerRef: expect.stringMatching(/^rp-[0-9a-f]{24}$/), status: 'pending', currency: 'usdc', paymentAmount: '25.5000000', fxRate: '1.00000000000000', amount: '25.5000000' },
        instructions: { provider: 'anchor', clientSecret: null, destination: repaymentAccount, memo },
      });
      const anchor = anchored.body.data.repayment as Pending;
      const now = new Date();
      await payments.container.store.repos.incomingPayments.insert([
        { id: `${Date.now()}-1`, pagingToken: `${Date.now()}`, txHash: randomBytes(32).toString('hex'), fromAccount: borrower.wallet, toAccount: repaymentAccount, assetCode: 'USDC', assetIssuer: null, amount: 255_000_000n, memo, memoType: 'text', createdAt: now, status: 'received', recordedAt: now },
      ]);
      expect(await repayments.applyAnchorPayments()).toBe(1);
      expect(await repaymentOf(anchor.id)).toMatchObject({ status: 'succeeded', appliedAmount: '25.5000000' });
      expect(await utilized(lineId)).toBe('64.4500000');

      // --- reading a repayment, and a line's -------------------------------------------------------------------------------
      const read = await call('get', REPAYMENT, { id: over.id }, (r) => r.set(borrower.headers));
      expect(read.status).toBe(200);
      expect(read.body.data).toMatchObject({ id: over.id, creditLineId: lineId, provider: 'stripe', providerRef: over.providerRef, status: 'succeeded', paymentAmount: '500.00' });
      expect((await call('get', REPAYMENT, { id: over.id }, (r) => r.set(client))).body.data).toEqual(read.body.data);
      expect((await call('get', REPAYMENT, { id: over.id }, (r) => r.set(asStranger))).body.error.code).toBe('wallet_forbidden');
      const unknownRepayment = await call('get', REPAYMENT, { id: UNKNOWN_LINE }, (r) => r.set(client));
      expect(unknownRepayment.status).toBe(404);
      expect(unknownRepayment.body.error.details).toEqual({ resource: 'Repayment' });
      expect((await call('get', REPAYMENT, { id: 'nope' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', REPAYMENT, { id: over.id })).status).toBe(401);

      const listed: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page: Response = await call('get', LINE_REPAYMENTS, { id: lineId }, (r) => r.set(borrower.headers).query({ limit: 3, ...(cursor ? { cursor } : {}) }));
        expect(page.status).toBe(200);
        listed.push(...page.body.data.items.map((item: { id: string }) => item.id));
        cursor = page.body.data.nextCursor as string | null;
        if (!cursor) break;
      }
      // every one once, whatever became of it (the refused and timed-out initiations left none)
      const initiated = [card, slow.first.body.data.repayment, euros.body.data.repayment, yen, recovered.body.data.repayment, declined, over, anchor].map((r: Pending) => r.id);
      expect([...listed].sort()).toEqual(initiated.sort());
      expect((await call('get', LINE_REPAYMENTS, { id: closingLine }, (r) => r.set(admin))).body.data).toEqual({ items: [expect.objectContaining({ id: late.id, status: 'parked' })], nextCursor: null });
      for (const query of [{ limit: 0 }, { cursor: 'not-a-cursor' }, { status: 'parked' }]) {
        expect((await call('get', LINE_REPAYMENTS, { id: lineId }, (r) => r.set(client).query(query))).status, JSON.stringify(query)).toBe(400);
      }
      expect((await call('get', LINE_REPAYMENTS, { id: 'nope' }, (r) => r.set(client))).status).toBe(400);
      expect((await call('get', LINE_REPAYMENTS, { id: UNKNOWN_LINE }, (r) => r.set(client))).body.error.details).toEqual({ resource: 'Credit line' });
      expect((await call('get', LINE_REPAYMENTS, { id: lineId }, (r) => r.set(asStranger))).status).toBe(403);
      expect((await call('get', LINE_REPAYMENTS, { id: lineId })).status).toBe(401);

      // --- settlement reconciliation: a tampered amount, a charge none of ours made, a parked payment --------------------
      fake.control.tamperCharge(chargeOf(over.providerRef).id, { amount: 49_999 });
      const stray = fake.control.injectCharge({ amount: 777, currency: 'usd' });
      const window = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
      expect((await call('post', SETTLE, {}, (r) => r.send(window))).status).toBe(401);
      expect((await call('post', SETTLE, {}, (r) => r.set(client).send(window))).body.error.code).toBe('admin_required');
      for (const bad of [{ from: window.from }, { from: window.to, to: window.from }]) {
        const refusedWindow = await call('post', SETTLE, {}, (r) => r.set(admin).send(bad));
        expect(refusedWindow.status, JSON.stringify(bad)).toBe(400);
        expect(refusedWindow.body.error.details, JSON.stringify(bad)).toEqual([expect.objectContaining({ rule: 'window' })]);
      }
      for (const bad of [{ ...window, from: 'yesterday' }, { ...window, from: '2026-01-01T00:00:00' }, { ...window, provider: 'stripe' }]) {
        expect((await call('post', SETTLE, {}, (r) => r.set(admin).send(bad))).status, JSON.stringify(bad)).toBe(400);
      }
      expect((await call('post', SETTLE, {}, (r) => r.set(admin).set('content-type', 'application/json').send('{"from":'))).body.error.code).toBe('malformed_json');
      expect((await call('post', SETTLE, {}, (r) => r.set(admin).set('content-type', 'text/plain').send('x'))).status).toBe(415);
      expect((await call('post', SETTLE, {}, (r) => r.set(admin).send({ ...window, pad: TOO_BIG }))).status).toBe(413);
      const run = await call('post', SETTLE, {}, (r) => r.set(admin).send(window));
      expect(run.status).toBe(201);
      expect(run.body.data).toMatchObject({ windowFrom: window.from, windowTo: window.to, status: 'mismatch_found', chargesChecked: 5, error: null, finishedAt: expect.any(String) });
      const findings = run.body.data.findings as Array<{ kind: string; severity: string; providerRef: string | null; repaymentId: string | null; expected: string | null; actual: string | null }>;
      expect(run.body.data.findingCount).toBe(findings.length);
      expect(findings).toHaveLength(3);
      expect(findings).toContainEqual(expect.objectContaining({ kind: 'amount_mismatch', severity: 'critical', providerRef: over.providerRef, repaymentId: over.id, expected: '50000 usd', actual: '49999 usd' }));
      expect(findings).toContainEqual(expect.objectContaining({ kind: 'missing_in_ledger', providerRef: stray.id, repaymentId: null, expected: '777 usd', actual: null }));
      expect(findings).toContainEqual(expect.objectContaining({ kind: 'missing_in_ledger', providerRef: late.providerRef, repaymentId: late.id, actual: 'parked' }));
      // Yesterday (the default window): nothing to match.
      const clean = await call('post', SETTLE, {}, (r) => r.set(admin));
      expect(clean.status).toBe(201);
      expect(clean.body.data).toMatchObject({ status: 'clean', chargesChecked: 0, payoutsChecked: 0, findingCount: 0, findings: [] });
      expect(Date.parse(clean.body.data.windowTo) - Date.parse(clean.body.data.windowFrom)).toBe(86_400_000);
      // The provider refuses, or does not answer in time: the call fails and the run is stored as failed.
      fake.control.faults.failNext(2, 429);
      const unreadable = await call('post', SETTLE, {}, (r) => r.set(admin).send(window));
      expect(unreadable.status).toBe(502);
      expect(unreadable.body.error).toMatchObject({ code: 'payment_provider_error', details: { providerCode: 'rate_limit' } });
      // (The timeout stubbed, as for initiating above.)
      vi.spyOn(StripePaymentProvider.prototype, 'listCharges').mockRejectedValueOnce(new GatewayTimeoutError('payment_provider_timeout', 'The payment provider did not answer within 10000 ms'));
      const stalled = await call('post', SETTLE, {}, (r) => r.set(admin).send(window));
      expect(stalled.status).toBe(504);
      expect(stalled.body.error).toMatchObject({ code: 'payment_provider_timeout', details: null });

      const newest = await call('get', SETTLEMENTS, {}, (r) => r.set(admin).query({ limit: 2 }));
      expect(newest.status).toBe(200);
      expect(newest.body.data.items).toEqual([
        expect.objectContaining({ status: 'failed', error: expect.any(String), findings: [], finishedAt: expect.any(String) }),
        expect.objectContaining({ status: 'failed', error: expect.any(String), findings: [] }),
      ]);
      const older = await call('get', SETTLEMENTS, {}, (r) => r.set(admin).query({ limit: 2, cursor: newest.body.data.nextCursor }));
      expect(older.body.data.items.map((item: { id: string; findingCount: number }) => [item.id, item.findingCount])).toEqual([
        [clean.body.data.id, 0],
        [run.body.data.id, 3],
      ]);
      expect(older.body.data.nextCursor).toBeNull();
      for (const query of [{ limit: 0 }, { cursor: 'not-a-cursor' }, { status: 'failed' }]) {
        expect((await call('get', SETTLEMENTS, {}, (r) => r.set(admin).query(query))).status, JSON.stringify(query)).toBe(400);
      }
      expect((await call('get', SETTLEMENTS, {}, (r) => r.set(client))).status).toBe(403);
      expect((await call('get', SETTLEMENTS)).status).toBe(401);

      // --- an instance without a payment provider: 503 once the request is valid; no anchor path either ---------------------
      const elsewhere = await api.call('post', LINES, {}, (r) => r.set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '100', interestRateBps: 0 }));
      const unconfigured = await api.call('post', INITIATE, {}, (r) => r.set(admin).send({ lineId: elsewhere.body.data.id, amount: '10.00', currency: 'usd' }));
      expect(unconfigured.status).toBe(503);
      expect(unconfigured.body.error).toMatchObject({ code: 'payment_provider_not_configured', details: null });
      expect((await api.call('post', INITIATE, {}, (r) => r.set(admin).send({ lineId: elsewhere.body.data.id, amount: '10', currency: 'USDC' }))).body.error.details).toEqual([
        expect.objectContaining({ field: 'currency', rule: 'supported_currency' }),
      ]);
      expect((await api.call('post', PROVIDER_WEBHOOK, {}, (r) => r.set(good.headers).send(good.payload))).body.error.code).toBe('payment_provider_not_configured');
      expect((await api.call('post', SETTLE, {}, (r) => r.set(admin))).status).toBe(503);
      expect((await api.call('post', SETTLE, {}, (r) => r.set(admin).send({ from: window.from }))).status).toBe(400);
      expect((await api.call('get', SETTLEMENTS, {}, (r) => r.set(admin))).status).toBe(200);

      // --- the events subscribers received ------------------------------------------------------------------------------------
      while ((await webhooks.fanOut()) > 0);
      while ((await webhooks.dispatch('spec-worker')) > 0);
      for (const received of receiver.received) expectMatchesWebhook(received.body.type === 'credit_line.repaid' || received.body.type === 'repayment.reversed' ? 'creditLineEvent' : 'repaymentEvent', received);
      const of = (type: string) => receiver.received.filter((w) => w.body.type === type).map((w) => w.body.data);
      const repaid = of('credit_line.repaid');
      expect(repaid).toHaveLength(4); // card, over, yen and anchor
      expect(repaid).toContainEqual(
        expect.objectContaining({ source: 'stripe', repaymentId: card.id, amount: '100.0000000', interestPaid: '0.0000000', principalPaid: '100.0000000', transactionId: expect.any(String) }),
      );
      expect(repaid).toContainEqual(expect.objectContaining({ source: 'stripe', repaymentId: over.id, amount: '430.0000000' }));
      expect(repaid).toContainEqual(expect.objectContaining({ source: 'anchor', repaymentId: anchor.id, amount: '25.5000000' }));
      expect(of('repayment.reversed').map(({ repaymentId, cause, amount }) => [repaymentId, cause, amount])).toEqual(
        expect.arrayContaining([
          [card.id, 'refund', '30.0000000'],
          [over.id, 'dispute', '30.0000000'],
          [card.id, 'refund', '70.0000000'],
        ]),
      );
      expect(of('repayment.failed')).toEqual([{ repaymentId: declined.id, creditLineId: lineId, walletAddress: borrower.wallet, provider: 'stripe', reason: 'Your card was declined.' }]);
      expect(of('repayment.parked')).toEqual([{ repaymentId: late.id, creditLineId: closingLine, walletAddress: closing.wallet, provider: 'stripe', reason: 'the line is closed' }]);
      expect(of('repayment.reconciliation_mismatch')).toEqual([
        { runId: run.body.data.id, windowFrom: window.from, windowTo: window.to, findingCount: 3, kinds: expect.arrayContaining(['amount_mismatch', 'missing_in_ledger']) },
      ]);
    } finally {
      await receiver.close();
      await payments.close();
      await fake.stop();
    }
  });

  it('refuses webhook URLs into the private network unless they are allowed', async () => {
    const strict = await createTestApp('memory', { WEBHOOK_ALLOW_PRIVATE_URLS: 'false' });
    try {
      const { call } = apiFor(strict.app, api.seen);
      for (const url of [
        'http://127.0.0.1:8080/hooks',
        'http://localhost/hooks',
        'http://169.254.169.254/latest/meta-data',
        'http://10.1.2.3/hooks',
        'http://[::1]/hooks',
        'http://[::ffff:127.0.0.1]/hooks',
        'http://[::ffff:a00:1]/hooks',
        'http://user:secret@93.184.215.14/hooks',
      ]) {
        const refused = await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ url }));
        expect(refused.status, url).toBe(422);
        expect(refused.body.error).toMatchObject({ code: 'unsafe_webhook_url', details: { field: 'url' } });
      }
      // Public address literals need no DNS lookup.
      for (const url of ['http://[2606:4700:4700::1111]/hooks', 'http://[::ffff:93.184.215.14]/hooks']) {
        expect((await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ url }))).status, url).toBe(201);
      }
      const created = await call('post', WEBHOOKS, {}, (r) => r.set(admin).send({ url: 'http://93.184.215.14/hooks' }));
      expect(created.status).toBe(201);
      const moved = await call('patch', WEBHOOK, { id: created.body.data.id }, (r) => r.set(admin).send({ url: 'http://192.168.1.10/hooks' }));
      expect(moved.status).toBe(422);
      expect(moved.body.error.code).toBe('unsafe_webhook_url');
    } finally {
      await strict.close();
    }
  });

  it('produced, for every operation, a success and every documented status but 429 and 500', () => {
    const neverSucceeded = specOperations()
      .map(({ method, path }) => key(method, path))
      .filter((op) => ![...(api.seen.get(op) ?? [])].some((status) => status >= 200 && status < 400));
    expect(neverSucceeded, 'operations never called successfully').toEqual([]);
    // 429 is checked in its own suite below; 500 once, above.
    const missing = specOperations().flatMap(({ method, path, operation }) =>
      Object.keys(operation.responses)
        .filter((status) => !['429', '500', 'default'].includes(status))
        .filter((status) => !api.seen.get(key(method, path))?.has(Number(status)))
        .map((status) => `${key(method, path)} ${status}`),
    );
    expect(missing, 'documented statuses the scenario never produced').toEqual([]);
    const statuses = new Set([...api.seen.values()].flatMap((s) => [...s]));
    for (const status of [200, 201, 202, 301, 400, 401, 403, 404, 409, 413, 415, 422, 500, 503]) expect(statuses, String(status)).toContain(status);
  });
});

describe('rate limits as documented', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp('memory', { RATE_LIMIT_PER_MIN: '2' });
  });
  afterEach(() => t.close());

  it.each([
    ['get', LINES, client],
    ['get', AUDIT, admin],
    ['post', LINES, admin],
    ['get', CHALLENGE, client],
    ['get', WEBHOOKS, admin],
    ['get', JOBS, admin],
    ['post', EVALUATE, client],
  ] as const)('%s %s answers 429 with Retry-After once the bucket is empty', async (method, path, headers) => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      let req = request(t.app)[method](path).set(headers);
      const walletAddress = Keypair.random().publicKey();
      if (method === 'post') req = req.send(path === EVALUATE ? { walletAddress } : { walletAddress, creditLimit: '1', interestRateBps: 1 });
      if (path === CHALLENGE) req = req.query({ account: Keypair.random().publicKey() });
      const res = await req;
      expectMatchesSpec(method, path, res);
      statuses.push(res.status);
      expect(res.headers['x-ratelimit-limit']).toBe('2');
      if (res.status === 429) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(res.body.error.code).toBe('rate_limited');
      }
    }
    expect(statuses).toEqual([method === 'post' ? 201 : 200, method === 'post' ? 201 : 200, 429]);
  });

  it('never limits the public routes', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await request(t.app).get('/health');
      expectMatchesSpec('get', '/health', res);
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });
});

describe('Swagger UI', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('memory');
  });
  afterAll(() => t.close());

  it('serves its page at /docs/ (GET /docs/ must not redirect to itself)', async () => {
    const page = await request(t.app).get('/docs/');
    expect({ status: page.status, location: page.headers.location }).toEqual({ status: 200, location: undefined });
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('swagger-ui');
    const assets = [...page.text.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    expect(assets.filter((src) => /^(https?:)?\/\//.test(src)), 'assets loaded from another origin').toEqual([]);
  });

  it('serves its assets from node_modules, pointed at /docs.json', async () => {
    const bundle = await request(t.app).get('/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    expect(bundle.text.length).toBeGreaterThan(100_000);

    const init = await request(t.app).get('/docs/swagger-ui-init.js');
    expect(init.status).toBe(200);
    expect(init.text).toContain('/docs.json');
  });
});
