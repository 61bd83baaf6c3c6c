import { Keypair } from '@stellar/stellar-sdk';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Devnet } from '../../../scripts/devnet/index.js';
import type { IncomingPayment } from '../../../src/repositories/repositories.js';
import type { HorizonPaymentListener } from '../../../src/services/horizonListener.js';
import { admin, client, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { chainFixture } from '../chain/helpers.js';

interface RepaymentJson {
  id: string;
  creditLineId: string;
  provider: string;
  providerRef: string;
  status: string;
  currency: string;
  paymentAmount: string;
  amount: string;
  appliedAmount: string;
  creditBalance: string;
  parkedReason: string | null;
}

interface Instructions {
  provider: string;
  clientSecret: string | null;
  destination: string | null;
  memo: string | null;
}

/**
 * The anchor path end to end: a borrower initiates a USDC repayment and gets the repayment account and a memo;
 * the USDC payment carrying that memo reaches the account (the devnet's Horizon), the HorizonListener records it,
 * and the repayment service applies it to the line once, however often both run. A payment whose memo matches
 * nothing is marked unmatched; one for a line closed meanwhile parks its repayment.
 */
describe.each(STORAGE_KINDS)('anchor (USDC) repayments on %s', (kind) => {
  const fx = chainFixture(kind);
  const account = Keypair.random().publicKey();
  const issuer = Keypair.random().publicKey();
  const payer = Keypair.random().publicKey();
  const usdc = { code: 'USDC', issuer };

  const env = (devnet: Devnet) => ({ HORIZON_URL: devnet.horizonUrl, REPAYMENT_ACCOUNT: account, REPAYMENT_ASSET_CODE: 'USDC', REPAYMENT_ASSET_ISSUER: issuer });

  async function start(): Promise<{ devnet: Devnet; t: TestApp }> {
    const devnet = await fx.devnet();
    devnet.seedHorizon.account({ id: account, balances: [{ asset: 'native', amount: '100' }, { asset: `USDC:${issuer}`, amount: '0', limit: '1000000' }] });
    const t = await fx.app(devnet, env(devnet));
    return { devnet, t };
  }

  const listenerOf = (t: TestApp): HorizonPaymentListener => {
    const listener = t.container.services.horizonListener;
    if (!listener) throw new Error('the Horizon listener is not configured');
    return listener;
  };

  /** What the workers do: the listener reads Horizon to its tip (bounded), then the service applies what it recorded. */
  async function runWorkers(t: TestApp): Promise<{ read: number; processed: number }> {
    let read = 0;
    for (let i = 0; ; i++) {
      if (i >= 20) throw new Error('the listener did not catch up within 20 ticks');
      const n = await listenerOf(t).tick();
      if (n === 0) break;
      read += n;
    }
    const processed = await t.container.services.repayments.applyAnchorPayments();
    return { read, processed };
  }

  const lineOwing = async (t: TestApp, debt: string): Promise<string> => {
    const opened = await request(t.app).post('/api/credit/lines').set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '5000', interestRateBps: 0 });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const id = opened.body.data.id as string;
    if (debt !== '0') {
      const drawn = await request(t.app).post(`/api/credit/lines/${id}/draw`).set(client).send({ amount: debt });
      expect(drawn.status, JSON.stringify(drawn.body)).toBe(200);
    }
    return id;
  };

  const initiate = async (t: TestApp, lineId: string, amount: string) => {
    const res = await request(t.app).post('/api/repayment/initiate').set(client).send({ lineId, amount, currency: 'USDC' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.data as { repayment: RepaymentJson; instructions: Instructions };
  };

  const line = async (t: TestApp, lineId: string) => (await request(t.app).get(`/api/credit/lines/${lineId}`).set(client)).body.data as { utilized: string; status: string };
  const repayment = async (t: TestApp, id: string) => {
    const res = await request(t.app).get(`/api/repayment/${id}`).set(client);
    expect(res.status).toBe(200);
    return res.body.data as RepaymentJson;
  };
  const payments = async (t: TestApp): Promise<IncomingPayment[]> => t.container.store.repos.incomingPayments.list({}, 1_000);
  const paymentOf = async (t: TestApp, txHash: string) => (await payments(t)).find((p) => p.txHash === txHash);
  const lineEvents = async (t: TestApp, lineId: string) => (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).map((e) => e.type);
  const repayEntries = async (t: TestApp, lineId: string) => (await t.container.store.repos.ledger.listByLine(lineId, { limit: 100 })).filter((e) => e.type === 'repay');

  it('a USDC payment to the repayment account with the memo repays the line once, however often the workers run', async () => {
    const { devnet, t } = await start();
    const lineId = await lineOwing(t, '500');
    const { repayment: initiated, instructions } = await initiate(t, lineId, '100');
    expect(initiated).toMatchObject({ provider: 'anchor', status: 'pending', currency: 'usdc', paymentAmount: '100.0000000', amount: '100.0000000', appliedAmount: '0.0000000' });
    expect(instructions).toEqual({ provider: 'anchor', clientSecret: null, destination: account, memo: initiated.providerRef });
    // A Stellar text memo holds at most 28 bytes.
    expect(Buffer.byteLength(instructions.memo!, 'utf8')).toBeLessThanOrEqual(28);

    const paid = devnet.seedHorizon.payment({ from: payer, to: account, amount: '100', asset: usdc, memo: instructions.memo! });
    expect(await runWorkers(t)).toEqual({ read: 1, processed: 1 });

    expect((await line(t, lineId)).utilized).toBe('400.0000000');
    expect(await repayment(t, initiated.id)).toMatchObject({ status: 'succeeded', amount: '100.0000000', appliedAmount: '100.0000000', creditBalance: '0.0000000' });
    expect(await paymentOf(t, paid.tx.hash)).toMatchObject({ status: 'applied', memo: instructions.memo, amount: 1_000_000_000n });
    const repaid = (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).filter((e) => e.type === 'credit_line.repaid');
    expect(repaid).toHaveLength(1);
    expect(repaid[0]!.payload).toMatchObject({ source: 'anchor', repaymentId: initiated.id, amount: '100.0000000' });

    // Both workers again, twice: nothing is read, nothing applied.
    for (let i = 0; i < 2; i++) expect(await runWorkers(t)).toEqual({ read: 0, processed: 0 });
    expect((await line(t, lineId)).utilized).toBe('400.0000000');
    expect(await repayEntries(t, lineId)).toHaveLength(1);
    expect((await lineEvents(t, lineId)).filter((type) => type === 'credit_line.repaid')).toHaveLength(1);
    expect((await repayment(t, initiated.id)).status).toBe('succeeded');

    // The same memo paid again is not applied a second time: it waits for review as unmatched.
    const again = devnet.seedHorizon.payment({ from: payer, to: account, amount: '100', asset: usdc, memo: instructions.memo! });
    expect(await runWorkers(t)).toEqual({ read: 1, processed: 1 });
    expect((await paymentOf(t, again.tx.hash))?.status).toBe('unmatched');
    expect((await line(t, lineId)).utilized).toBe('400.0000000');
    expect(await repayEntries(t, lineId)).toHaveLength(1);
    expect(await repayment(t, initiated.id)).toMatchObject({ status: 'succeeded', appliedAmount: '100.0000000' });
  });

  it('what was actually paid is applied: beyond the balance it is held as a credit balance', async () => {
    const { devnet, t } = await start();
    const lineId = await lineOwing(t, '30');
    const { repayment: initiated, instructions } = await initiate(t, lineId, '25');
    devnet.seedHorizon.payment({ from: payer, to: account, amount: '42.5', asset: usdc, memo: instructions.memo! });
    await runWorkers(t);
    expect((await line(t, lineId)).utilized).toBe('0.0000000');
    expect(await repayment(t, initiated.id)).toMatchObject({ status: 'succeeded', amount: '42.5000000', appliedAmount: '30.0000000', creditBalance: '12.5000000' });
  });

  it('a payment with a memo that matches no repayment is marked unmatched and applies nothing', async () => {
    const { devnet, t } = await start();
    const lineId = await lineOwing(t, '200');
    const { repayment: initiated } = await initiate(t, lineId, '50');
    const unknown = devnet.seedHorizon.payment({ from: payer, to: account, amount: '50', asset: usdc, memo: 'rp-000000000000000000000000' });
    const noMemo = devnet.seedHorizon.payment({ from: payer, to: account, amount: '50', asset: usdc });

    expect(await runWorkers(t)).toEqual({ read: 2, processed: 2 });
    expect((await paymentOf(t, unknown.tx.hash))?.status).toBe('unmatched');
    expect((await paymentOf(t, noMemo.tx.hash))?.status).toBe('unmatched');
    expect((await line(t, lineId)).utilized).toBe('200.0000000');
    expect(await repayEntries(t, lineId)).toEqual([]);
    expect(await repayment(t, initiated.id)).toMatchObject({ status: 'pending', appliedAmount: '0.0000000' });

    // Unmatched payments are not picked up again.
    expect(await runWorkers(t)).toEqual({ read: 0, processed: 0 });
    expect((await payments(t)).map((p) => p.status)).toEqual(['unmatched', 'unmatched']);
  });

  it('a payment for a line closed meanwhile parks its repayment and applies nothing', async () => {
    const { devnet, t } = await start();
    const lineId = await lineOwing(t, '0');
    const { repayment: initiated, instructions } = await initiate(t, lineId, '25');
    const closed = await request(t.app).post(`/api/credit/lines/${lineId}/close`).set(admin);
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);

    const paid = devnet.seedHorizon.payment({ from: payer, to: account, amount: '25', asset: usdc, memo: instructions.memo! });
    expect(await runWorkers(t)).toEqual({ read: 1, processed: 1 });
    expect(await repayment(t, initiated.id)).toMatchObject({ status: 'parked', parkedReason: 'the line is closed', appliedAmount: '0.0000000' });
    expect(await line(t, lineId)).toMatchObject({ status: 'closed', utilized: '0.0000000' });
    expect(await repayEntries(t, lineId)).toEqual([]);
    expect((await lineEvents(t, lineId)).filter((type) => type === 'credit_line.repaid')).toEqual([]);
    expect((await t.container.store.repos.events.listByAggregate('repayment', initiated.id)).map((e) => e.type)).toEqual(['repayment.parked']);
    // The payment is no longer waiting to be applied (it is left for review with the parked repayment), and is not processed again.
    expect((await paymentOf(t, paid.tx.hash))?.status).toBe('unmatched');
    expect(await runWorkers(t)).toEqual({ read: 0, processed: 0 });
    expect((await repayment(t, initiated.id)).status).toBe('parked');
  });
});
