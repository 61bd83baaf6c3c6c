import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { admin, client, createTestApp, randomWallet, type TestApp } from '../support/app.js';
import { STORAGE_KINDS } from '../support/databases.js';
import { signIn, type WalletSession } from '../support/wallets.js';

describe.each(STORAGE_KINDS)('credit lines over HTTP on %s', (kind) => {
  let t: TestApp;
  let now = new Date('2026-03-01T00:00:00Z');
  beforeAll(async () => {
    t = await createTestApp(kind, { CREDIT_LIMIT_MAX: '50000' }, { clock: () => now });
  });
  afterAll(() => t.close());

  /** Wallet sessions by wallet and by line: borrower actions carry the owner's SEP-10 token, as in production. */
  const sessions = new Map<string, WalletSession>();
  const owners = new Map<string, WalletSession>();
  const sessionFor = async (wallet?: string) => {
    if (wallet && sessions.has(wallet)) return sessions.get(wallet)!;
    const session = await signIn(t.app);
    sessions.set(session.wallet, session);
    return session;
  };
  const open = async (body: Record<string, unknown> = {}) => {
    const owner = await sessionFor();
    // Manual terms (an admin's) so interest can be checked against the reference at a known rate.
    const res = await request(t.app)
      .post('/api/credit/lines')
      .set(admin)
      .send({ walletAddress: owner.wallet, creditLimit: '1000', interestRateBps: 1500, ...body });
    expect(res.status).toBe(201);
    owners.set(res.body.data.id, owner);
    return res.body.data as { id: string; walletAddress: string };
  };
  /** POSTs as the line's owner (draw, repay) or, for opening, as the wallet in the body, unless headers are given. */
  const post = async (path: string, body?: Record<string, unknown>, headers?: Record<string, string>) => {
    const lineId = /^\/api\/credit\/lines\/([^/]+)\/(draw|repay)$/.exec(path)?.[1];
    const opener = path === '/api/credit/lines' && typeof body?.walletAddress === 'string' ? await sessionFor(body.walletAddress) : undefined;
    const as = headers ?? (lineId ? owners.get(lineId)?.headers : opener?.headers) ?? client;
    const req = request(t.app).post(path).set(as);
    return body ? req.send(body) : req;
  };

  it('opens a line with the field names frontends use and 7-decimal amounts', async () => {
    const { wallet } = await sessionFor();
    const res = await post('/api/credit/lines', { walletAddress: wallet, creditLimit: '125.5' });
    expect(res.status).toBe(201);
    expect(res.body.error).toBeNull();
    expect(res.body.data).toMatchObject({
      walletAddress: wallet,
      creditLimit: '125.5000000',
      interestRateBps: 1200, // the static provider's score 70 falls in band B
      riskScore: 30,
      utilized: '0.0000000',
      accruedInterest: '0.0000000',
      availableCredit: '125.5000000',
      status: 'active',
    });
    expect(new Date(res.body.data.createdAt).toISOString()).toBe(now.toISOString());
  });

  it.each([
    [{ creditLimit: 1000 }, 'creditLimit', 'type'],
    [{ creditLimit: '1.12345678' }, 'creditLimit', 'max_decimals'],
    [{ creditLimit: '0' }, 'creditLimit', 'positive'],
    [{ creditLimit: '-5' }, 'creditLimit', 'decimal_string'],
    [{ creditLimit: '170141183460469231731687303715884105728' }, 'creditLimit', 'i128_range'],
    [{ interestRateBps: 10001 }, 'interestRateBps', 'max'],
    [{ interestRateBps: 1.5 }, 'interestRateBps', 'type'],
    [{ walletAddress: `G${'A'.repeat(55)}` }, 'walletAddress', 'stellar_address'],
    [{ walletAddress: 'not-an-address' }, 'walletAddress', 'stellar_address'],
    [{ surprise: true }, 'surprise', 'unknown_field'],
  ])('refuses %j with a 400 naming %s and the rule %s', async (override, field, rule) => {
    const res = await post('/api/credit/lines', { walletAddress: randomWallet(), creditLimit: '10', ...override });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeNull();
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toContainEqual(expect.objectContaining({ field, rule }));
    expect(res.body.error.message).toContain(field);
  });

  it('refuses a limit above the product cap with 422, even from an admin', async () => {
    const res = await post('/api/credit/lines', { walletAddress: randomWallet(), creditLimit: '50000.0000001', interestRateBps: 100 }, admin);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'credit_limit_above_cap', details: { cap: '50000.0000000' } });
  });

  it('refuses a borrower a limit above what the risk evaluation offers, and refuses to let it choose its rate', async () => {
    const { wallet } = await sessionFor();
    const above = await post('/api/credit/lines', { walletAddress: wallet, creditLimit: '5000.0000001' });
    expect(above.status).toBe(422);
    expect(above.body.error).toMatchObject({ code: 'credit_limit_above_offer', details: { offeredCreditLimit: '5000.0000000' } });
    const rate = await post('/api/credit/lines', { walletAddress: wallet, creditLimit: '10', interestRateBps: 1 });
    expect(rate.status).toBe(400);
    expect(rate.body.error.details).toContainEqual(expect.objectContaining({ field: 'interestRateBps', rule: 'admin_only' }));
  });

  it('allows one open line per wallet, and a new one once the old one is closed', async () => {
    const line = await open();
    const second = await post('/api/credit/lines', { walletAddress: line.walletAddress, creditLimit: '5' });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('duplicate_open_line');
    expect((await post(`/api/credit/lines/${line.id}/close`, undefined, admin)).status).toBe(200);
    expect((await post('/api/credit/lines', { walletAddress: line.walletAddress, creditLimit: '5' })).status).toBe(201);
  });

  it('draws within the limit, refuses beyond it with the available amount, and refuses over-repayment', async () => {
    const line = await open({ creditLimit: '100' });
    expect((await post(`/api/credit/lines/${line.id}/draw`, { amount: '60' })).body.data.creditLine.availableCredit).toBe('40.0000000');
    const refused = await post(`/api/credit/lines/${line.id}/draw`, { amount: '40.0000001' });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'insufficient_credit', details: { available: '40.0000000' } });
    const over = await post(`/api/credit/lines/${line.id}/repay`, { amount: '60.0000001' });
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({ code: 'over_repayment', details: { outstanding: '60.0000000' } });
    const repaid = await post(`/api/credit/lines/${line.id}/repay`, { amount: '60' });
    expect(repaid.body.data.creditLine.utilized).toBe('0.0000000');
  });

  it('accrues interest per second as the contract does, capitalises it, and repays interest first', async () => {
    const line = await open({ creditLimit: '2000', interestRateBps: 1500 });
    await post(`/api/credit/lines/${line.id}/draw`, { amount: '1000' });
    now = new Date(now.getTime() + 30 * 86_400_000);
    // Thirty days later the wallet token has long expired: the owner signs a new challenge.
    owners.set(line.id, await signIn(t.app, owners.get(line.id)!.keypair));

    const read = await request(t.app).get(`/api/credit/lines/${line.id}`).set(client);
    expect(read.body.data).toMatchObject({ utilized: '1012.3203285', accruedInterest: '12.3203285' });

    const repaid = await post(`/api/credit/lines/${line.id}/repay`, { amount: '100' });
    expect(repaid.body.data.transaction).toMatchObject({ type: 'repay', amount: '100.0000000', interestAmount: '12.3203285', principalAmount: '87.6796715' });
    expect(repaid.body.data.creditLine).toMatchObject({ utilized: '912.3203285', accruedInterest: '0.0000000' });

    const history = await request(t.app).get(`/api/credit/lines/${line.id}/transactions`).set(client);
    expect(history.body.data.items.map((e: { type: string }) => e.type)).toEqual(['repay', 'interest', 'draw']);
    expect(history.body.data.items[1]).toMatchObject({ amount: '12.3203285', utilizedAfter: '1012.3203285' });
  });

  it('suspends, refuses draws while suspended, reinstates, and reports illegal transitions with the current status', async () => {
    const line = await open();
    expect((await post(`/api/credit/lines/${line.id}/suspend`, { reason: 'kyc review' }, admin)).body.data.status).toBe('suspended');
    const draw = await post(`/api/credit/lines/${line.id}/draw`, { amount: '1' });
    expect(draw.status).toBe(409);
    expect(draw.body.error.details).toMatchObject({ currentStatus: 'suspended' });
    const again = await post(`/api/credit/lines/${line.id}/suspend`, undefined, admin);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'invalid_transition', details: { currentStatus: 'suspended', action: 'suspend' } });
    expect((await post(`/api/credit/lines/${line.id}/reinstate`, undefined, admin)).body.data.status).toBe('active');
    expect((await post(`/api/credit/lines/${line.id}/draw`, { amount: '1' })).status).toBe(200);
  });

  it('refuses to close a line with a balance unless it is defaulted, when the remainder is written off', async () => {
    const line = await open();
    await post(`/api/credit/lines/${line.id}/draw`, { amount: '10' });
    const refused = await post(`/api/credit/lines/${line.id}/close`, undefined, admin);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'outstanding_balance', details: { outstanding: '10.0000000' } });
    expect((await post(`/api/credit/lines/${line.id}/default`, undefined, admin)).body.data.status).toBe('defaulted');
    const closed = await post(`/api/credit/lines/${line.id}/close`, undefined, admin);
    expect(closed.body.data).toMatchObject({ status: 'closed', utilized: '0.0000000' });
    const history = await request(t.app).get(`/api/credit/lines/${line.id}/transactions`).set(client);
    expect(history.body.data.items[0]).toMatchObject({ type: 'write_off', amount: '10.0000000' });
    expect((await post(`/api/credit/lines/${line.id}/repay`, { amount: '1' })).status).toBe(409);
  });

  it('updates limit and rate as admin only; a limit below the balance restricts the line, as on the contract', async () => {
    const line = await open();
    await post(`/api/credit/lines/${line.id}/draw`, { amount: '300' });
    const asClient = await request(t.app).patch(`/api/credit/lines/${line.id}`).set(client).send({ creditLimit: '5000' });
    expect(asClient.status).toBe(403);
    const updated = await request(t.app).patch(`/api/credit/lines/${line.id}`).set(admin).send({ creditLimit: '200', interestRateBps: 1100 });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ creditLimit: '200.0000000', interestRateBps: 1100, availableCredit: '0.0000000', status: 'restricted' });
    expect(updated.body.data.rateUpdatedAt).toBe(now.toISOString());
    expect((await post(`/api/credit/lines/${line.id}/draw`, { amount: '1' })).body.error).toMatchObject({ code: 'invalid_status' });
    expect((await post(`/api/credit/lines/${line.id}/suspend`, undefined, admin)).body.data.status).toBe('suspended');
    expect((await post(`/api/credit/lines/${line.id}/reinstate`, undefined, admin)).body.data.status).toBe('restricted');
    const cured = await request(t.app).patch(`/api/credit/lines/${line.id}`).set(admin).send({ creditLimit: '400' });
    expect(cured.body.data).toMatchObject({ status: 'active', availableCredit: '100.0000000' });
    const empty = await request(t.app).patch(`/api/credit/lines/${line.id}`).set(admin).send({});
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0]).toMatchObject({ rule: 'at_least_one' });
  });

  it('keeps a rate change within the contract guard: at most 500 bps per change, one change per day', async () => {
    const line = await open();
    const patch = (body: Record<string, unknown>) => request(t.app).patch(`/api/credit/lines/${line.id}`).set(admin).send(body);
    const tooLarge = await patch({ interestRateBps: 2001 });
    expect(tooLarge.status).toBe(422);
    expect(tooLarge.body.error).toMatchObject({ code: 'rate_change_too_large', details: { currentInterestRateBps: 1500, maxStepBps: 500 } });
    expect((await patch({ interestRateBps: 2000 })).status).toBe(200);
    const tooSoon = await patch({ interestRateBps: 1900 });
    expect(tooSoon.status).toBe(422);
    expect(tooSoon.body.error).toMatchObject({ code: 'rate_change_too_soon', details: { nextChangeAt: new Date(now.getTime() + 86_400_000).toISOString() } });
    expect((await patch({ creditLimit: '900' })).status).toBe(200); // the limit is not rate-limited
    now = new Date(now.getTime() + 86_400_000);
    expect((await patch({ interestRateBps: 1900 })).body.data.interestRateBps).toBe(1900);
  });

  it('writes a domain event for every change and an audit entry for every admin action', async () => {
    const line = await open();
    await post(`/api/credit/lines/${line.id}/draw`, { amount: '5' });
    await post(`/api/credit/lines/${line.id}/repay`, { amount: '5' });
    await request(t.app).patch(`/api/credit/lines/${line.id}`).set(admin).send({ interestRateBps: 1400 });
    await post(`/api/credit/lines/${line.id}/suspend`, undefined, admin);
    await post(`/api/credit/lines/${line.id}/reinstate`, undefined, admin);
    await post(`/api/credit/lines/${line.id}/default`, undefined, admin);
    await post(`/api/credit/lines/${line.id}/close`, undefined, admin);
    const events = await t.container.store.repos.events.listByAggregate('credit_line', line.id);
    expect(events.map((e) => e.type)).toEqual([
      'credit_line.created',
      'credit_line.drawn',
      'credit_line.repaid',
      'credit_line.updated',
      'credit_line.suspended',
      'credit_line.reinstated',
      'credit_line.defaulted',
      'credit_line.closed',
    ]);
    expect(events[1]!.payload).toMatchObject({ amount: '5.0000000', creditLine: { utilized: '5.0000000' } });

    const audit = await request(t.app).get('/api/admin/audit-log').query({ targetId: line.id }).set(admin);
    expect(audit.body.data.items.map((e: { action: string }) => e.action)).toEqual([
      'credit_line.close',
      'credit_line.default',
      'credit_line.reinstate',
      'credit_line.suspend',
      'credit_line.update',
      'credit_line.open', // manual terms are an admin's decision, so the opening is audited too
    ]);
    const suspend = audit.body.data.items[3];
    expect(suspend.actor).toMatch(/^admin:[0-9a-f]{12}$/);
    expect(suspend.before.status).toBe('active');
    expect(suspend.after.status).toBe('suspended');
    expect(JSON.stringify(audit.body)).not.toContain(line.walletAddress);
  });

  it('pages lines newest first with an opaque cursor and filters by status and wallet', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      now = new Date(now.getTime() + 1000);
      ids.push((await open()).id);
    }
    await post(`/api/credit/lines/${ids[1]}/suspend`, undefined, admin);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await request(t.app).get('/api/credit/lines').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(client);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.items.map((l: { id: string }) => l.id));
      cursor = page.body.data.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);

    const suspended = await request(t.app).get('/api/credit/lines').query({ status: 'suspended' }).set(client);
    expect(suspended.body.data.items.map((l: { id: string }) => l.id)).toContain(ids[1]);
    expect(suspended.body.data.items.every((l: { status: string }) => l.status === 'suspended')).toBe(true);

    const target = (await request(t.app).get(`/api/credit/lines/${ids[2]}`).set(client)).body.data;
    const byWallet = await request(t.app).get(`/api/credit/wallet/${target.walletAddress}/lines`).set(client);
    expect(byWallet.body.data.items.map((l: { id: string }) => l.id)).toEqual([ids[2]]);
    const filtered = await request(t.app).get('/api/credit/lines').query({ walletAddress: target.walletAddress }).set(client);
    expect(filtered.body.data.items).toHaveLength(1);

    expect((await request(t.app).get('/api/credit/lines').query({ cursor: 'garbage' }).set(client)).body.error.details[0]).toMatchObject({ field: 'cursor' });
    expect((await request(t.app).get('/api/credit/lines').query({ limit: 101 }).set(client)).status).toBe(400);
    expect((await request(t.app).get('/api/credit/wallet/not-a-wallet/lines').set(client)).status).toBe(400);
  });

  it('answers 404 in the envelope for an unknown line and 400 for a malformed id', async () => {
    const missing = await request(t.app).get('/api/credit/lines/00000000-0000-4000-8000-000000000000').set(client);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect((await request(t.app).get('/api/credit/lines/abc').set(client)).status).toBe(400);
  });

  describe('Idempotency-Key', () => {
    it('replays the stored response for the same key and body, without moving money twice', async () => {
      const line = await open();
      const headers = { ...owners.get(line.id)!.headers, 'Idempotency-Key': `draw-${line.id}` };
      const first = await post(`/api/credit/lines/${line.id}/draw`, { amount: '7' }, headers);
      const second = await post(`/api/credit/lines/${line.id}/draw`, { amount: '7' }, headers);
      expect(second.status).toBe(first.status);
      expect(second.body).toEqual(first.body);
      expect(second.headers['idempotency-replayed']).toBe('true');
      expect((await request(t.app).get(`/api/credit/lines/${line.id}`).set(client)).body.data.utilized).toBe('7.0000000');
    });

    it('answers 422 when the key is reused with another body, and scopes keys per API key', async () => {
      const line = await open();
      const headers = { ...owners.get(line.id)!.headers, 'Idempotency-Key': `k-${line.id}` };
      await post(`/api/credit/lines/${line.id}/draw`, { amount: '1' }, headers);
      const reused = await post(`/api/credit/lines/${line.id}/draw`, { amount: '2' }, headers);
      expect(reused.status).toBe(422);
      expect(reused.body.error.code).toBe('idempotency_key_reused');
      // The same key under the admin key is another principal: it executes.
      const asAdmin = await post(`/api/credit/lines/${line.id}/draw`, { amount: '2' }, { ...owners.get(line.id)!.headers, ...admin, 'Idempotency-Key': `k-${line.id}` });
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.headers['idempotency-replayed']).toBeUndefined();
    });

    it('replays a refused request too, so a retry gets the same answer', async () => {
      const line = await open({ creditLimit: '1' });
      const headers = { ...owners.get(line.id)!.headers, 'Idempotency-Key': `big-${line.id}` };
      const first = await post(`/api/credit/lines/${line.id}/draw`, { amount: '2' }, headers);
      expect(first.status).toBe(422);
      const again = await post(`/api/credit/lines/${line.id}/draw`, { amount: '2' }, headers);
      expect(again.status).toBe(422);
      expect(again.headers['idempotency-replayed']).toBe('true');
    });

    it('stores a draw\'s answer in the draw\'s own transaction: nothing after the commit can leave the key in flight', async () => {
      const line = await open();
      const headers = { ...owners.get(line.id)!.headers, 'Idempotency-Key': `atomic-${line.id}` };
      // The bookkeeping that runs once the response is ready fails: the draw's stored answer must not depend on it.
      const finish = vi.spyOn(t.container.services.idempotency, 'finish').mockRejectedValue(new Error('database went away'));
      try {
        const first = await post(`/api/credit/lines/${line.id}/draw`, { amount: '4' }, headers);
        expect(first.status).toBe(200);
        expect(finish).not.toHaveBeenCalled();
      } finally {
        finish.mockRestore();
      }
      const retry = await post(`/api/credit/lines/${line.id}/draw`, { amount: '4' }, headers);
      expect(retry.status).toBe(200);
      expect(retry.headers['idempotency-replayed']).toBe('true');
      expect((await request(t.app).get(`/api/credit/lines/${line.id}`).set(client)).body.data.utilized).toBe('4.0000000');
    });

    it('refuses a malformed key', async () => {
      const res = await post('/api/credit/lines', { walletAddress: randomWallet(), creditLimit: '1' }, { ...client, 'Idempotency-Key': 'x'.repeat(256) });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0]).toMatchObject({ field: 'Idempotency-Key' });
    });
  });
});
