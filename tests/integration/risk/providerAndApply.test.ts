import { Keypair } from '@stellar/stellar-sdk';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, client, createTestApp, type TestApp } from '../../support/app.js';
import { SQL_STORAGE_KINDS, STORAGE_KINDS } from '../../support/databases.js';
import { signIn } from '../../support/wallets.js';

/**
 * A scoring service over HTTP whose answers the test sets per wallet: the external provider's contract (bearer
 * token, validation, timeouts) and, through it, controllable scores to apply to lines.
 */
class FakeScoringService {
  readonly received: Array<{ authorization?: string; body: unknown }> = [];
  readonly answers = new Map<string, { status?: number; body?: unknown; delayMs?: number; raw?: string }>();
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { walletAddress: string };
      this.received.push({ authorization: req.headers.authorization, body });
      const answer = this.answers.get(body.walletAddress) ?? { body: { score: 70 } };
      if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      if (res.destroyed) return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(answer.raw ?? JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/score`;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const TOKEN = 'provider-token-never-logged-0123456789';
const T0 = new Date('2026-06-01T00:00:00Z');

describe.each(STORAGE_KINDS)('external provider and applying evaluations on %s', (kind) => {
  const provider = new FakeScoringService();
  let t: TestApp;
  let now = T0;
  beforeAll(async () => {
    const url = await provider.start();
    t = await createTestApp(
      kind,
      { RISK_PROVIDER: 'external', RISK_PROVIDER_URL: url, RISK_PROVIDER_TOKEN: TOKEN, RISK_PROVIDER_TIMEOUT_MS: '300', WALLET_AUTH: 'optional' },
      { clock: () => now },
    );
  });
  afterAll(async () => {
    await t.close();
    await provider.stop();
  });

  const scoreFor = (wallet: string, score: number) => provider.answers.set(wallet, { body: { score, modelVersion: 'ext-7', factors: [{ name: 'cashflow', value: 0.8, points: score }] } });
  const evaluate = (walletAddress: string, forceRefresh = true) => request(t.app).post('/api/risk/evaluate').set(client).send({ walletAddress, forceRefresh });
  const apply = (id: string) => request(t.app).post(`/api/risk/evaluations/${id}/apply`).set(admin);

  it('sends the wallet with the bearer token and keeps the provider\'s explanation', async () => {
    const wallet = Keypair.random().publicKey();
    scoreFor(wallet, 83);
    const res = await evaluate(wallet);
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ provider: 'external', modelVersion: 'ext-7', score: 83, band: 'A', creditLimit: '20000.0000000', interestRateBps: 800, contractRiskScore: 17 });
    expect(res.body.data.signals).toEqual([expect.objectContaining({ name: 'cashflow', value: 0.8, points: 83 })]);
    expect(provider.received.at(-1)).toEqual({ authorization: `Bearer ${TOKEN}`, body: { walletAddress: wallet } });
    expect(t.logs.text).not.toContain(TOKEN);
  });

  it.each([
    ['a timeout', { delayMs: 1_000, body: { score: 50 } }, 504, 'risk_provider_timeout'],
    ['a 500', { status: 500, body: { error: 'boom' } }, 502, 'risk_provider_error'],
    ['a score out of range', { body: { score: 101 } }, 502, 'risk_provider_invalid_response'],
    ['a score that is not a number', { body: { score: 'high' } }, 502, 'risk_provider_invalid_response'],
    ['a body that is not JSON', { raw: '<html>' }, 502, 'risk_provider_invalid_response'],
  ])('answers %s with a clear %i and stores nothing', async (_name, answer, status, code) => {
    const wallet = Keypair.random().publicKey();
    provider.answers.set(wallet, answer);
    const res = await evaluate(wallet);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect((await request(t.app).get(`/api/risk/wallet/${wallet}/history`).set(client)).body.data.items).toEqual([]);
    const opened = await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: wallet });
    expect(opened.status).toBe(status);
  });

  it('opens a line on the evaluation\'s terms, and moves them by applying later evaluations within the rate guard', async () => {
    now = T0;
    const wallet = Keypair.random().publicKey();
    scoreFor(wallet, 70); // band B: 5,000 at 1,200 bps
    const opened = await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: wallet });
    expect(opened.status).toBe(201);
    expect(opened.body.data).toMatchObject({ creditLimit: '5000.0000000', interestRateBps: 1200, riskScore: 30, rateUpdatedAt: null });
    const lineId = opened.body.data.id as string;
    await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(client).send({ amount: '1000' });

    scoreFor(wallet, 90); // band A: 20,000 at 800 bps, a 400 bps step
    const better = await evaluate(wallet);
    const applied = await apply(better.body.data.id);
    expect(applied.status).toBe(200);
    expect(applied.body.data.creditLine).toMatchObject({ creditLimit: '20000.0000000', interestRateBps: 800, riskScore: 10, rateUpdatedAt: T0.toISOString() });
    expect(applied.body.data.evaluation.application).toMatchObject({ creditLineId: lineId, creditLimit: '20000.0000000', interestRateBps: 800, rateConstraint: 'none' });
    expect(applied.body.data.evaluation.application.appliedBy).toMatch(/^admin:/);

    now = new Date(T0.getTime() + 3_600_000);
    scoreFor(wallet, 40); // band D: 300 at 2,600 bps, but the rate changed an hour ago
    const worse = await apply((await evaluate(wallet)).body.data.id);
    expect(worse.body.data.creditLine).toMatchObject({ creditLimit: '300.0000000', interestRateBps: 800, status: 'restricted' });
    expect(worse.body.data.evaluation.application.rateConstraint).toBe('min_interval');

    now = new Date(T0.getTime() + 25 * 3_600_000);
    const nextDay = await apply((await evaluate(wallet)).body.data.id);
    expect(nextDay.body.data.creditLine).toMatchObject({ interestRateBps: 1300, status: 'restricted' });
    expect(nextDay.body.data.evaluation.application.rateConstraint).toBe('max_step');

    const events = await t.container.store.repos.events.listByAggregate('credit_line', lineId);
    expect(events.map((e) => e.type)).toEqual([
      'credit_line.created',
      'credit_line.drawn',
      'credit_line.updated',
      'risk.limit_changed',
      'credit_line.updated',
      'risk.limit_changed',
      'credit_line.updated',
    ]);
    expect(events[3]!.payload).toMatchObject({ evaluationId: better.body.data.id, score: 90, previousCreditLimit: '5000.0000000' });
    const audit = await request(t.app).get('/api/admin/audit-log').query({ targetId: lineId }).set(admin);
    expect(audit.body.data.items.map((e: { action: string }) => e.action)).toEqual(['risk.evaluation.apply', 'risk.evaluation.apply', 'risk.evaluation.apply']);
  });

  it('refuses to apply an evaluation that is superseded, expired, declining, already applied, or has no line', async () => {
    now = T0;
    const wallet = Keypair.random().publicKey();
    scoreFor(wallet, 70);
    const noLine = await evaluate(wallet);
    expect((await apply(noLine.body.data.id)).body.error.code).toBe('no_open_line');
    await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: wallet });

    const older = await evaluate(wallet);
    const newer = await evaluate(wallet);
    const superseded = await apply(older.body.data.id);
    expect(superseded.status).toBe(409);
    expect(superseded.body.error).toMatchObject({ code: 'evaluation_superseded', details: { latestEvaluationId: newer.body.data.id } });
    expect((await apply(newer.body.data.id)).status).toBe(200);
    const again = await apply(newer.body.data.id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('evaluation_already_applied');

    const stale = await evaluate(wallet);
    now = new Date(T0.getTime() + 24 * 3_600_000 + 1);
    expect((await apply(stale.body.data.id)).body.error.code).toBe('evaluation_expired');

    scoreFor(wallet, 10);
    const declined = await apply((await evaluate(wallet)).body.data.id);
    expect(declined.status).toBe(422);
    expect(declined.body.error.code).toBe('evaluation_declined');
    expect((await request(t.app).post(`/api/risk/evaluations/${crypto.randomUUID()}/apply`).set(admin)).status).toBe(404);
    expect((await request(t.app).post(`/api/risk/evaluations/${newer.body.data.id}/apply`).set(client)).status).toBe(403);
  });
});

describe.each(SQL_STORAGE_KINDS)('applying one evaluation concurrently on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { WALLET_AUTH: 'optional', RATE_CHANGE_MIN_INTERVAL_SECONDS: '0' });
  });
  afterAll(() => t.close());

  it('when 10 admins apply the same evaluation at once, it is applied exactly once', async () => {
    const wallet = Keypair.random().publicKey();
    await request(t.app).post('/api/credit/lines').set(admin).send({ walletAddress: wallet, creditLimit: '100', interestRateBps: 1500 });
    const evaluation = await request(t.app).post('/api/risk/evaluate').set(client).send({ walletAddress: wallet });
    const responses = await Promise.all(Array.from({ length: 10 }, () => request(t.app).post(`/api/risk/evaluations/${evaluation.body.data.id}/apply`).set(admin)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.error.code === 'evaluation_already_applied')).toBe(true);
    const line = (await request(t.app).get(`/api/credit/wallet/${wallet}/lines`).set(client)).body.data.items[0];
    expect(line).toMatchObject({ creditLimit: '5000.0000000', interestRateBps: 1200 });
    const events = await t.container.store.repos.events.listByAggregate('credit_line', line.id);
    expect(events.filter((e) => e.type === 'credit_line.updated')).toHaveLength(1);
  });
});

describe('forcing a refresh needs the wallet (or an admin)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('memory');
  });
  afterAll(() => t.close());

  it('answers 401 to a client key alone, and scores anew for the wallet\'s own token or an admin key', async () => {
    const owner = await signIn(t.app);
    const evaluate = (headers: Record<string, string>, forceRefresh?: boolean) =>
      request(t.app).post('/api/risk/evaluate').set(headers).send({ walletAddress: owner.wallet, ...(forceRefresh && { forceRefresh }) });
    expect((await evaluate(client)).status).toBe(201);
    expect((await evaluate(client)).status).toBe(200); // anyone with a key reads the cached one
    const stranger = await evaluate(client, true);
    expect(stranger.status).toBe(401);
    expect(stranger.body.error.code).toBe('wallet_auth_required');
    expect((await evaluate(owner.headers, true)).status).toBe(201);
    expect((await evaluate(admin, true)).status).toBe(201);
  });
});
