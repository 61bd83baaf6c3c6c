import { Keypair, TransactionBuilder, type Transaction } from '@stellar/stellar-sdk';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Devnet } from '../../../scripts/devnet/index.js';
import type { Env } from '../../../src/config.js';
import { admin, client, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { chainFixture, drain, USDC } from './helpers.js';

/**
 * Acting on the Credit contract for bound lines, against the devnet over HTTP, on every storage: admin calls
 * signed by the operator, borrower calls handed out to sign and submitted, tracked to their outcome, and applied
 * exactly once whether the tracker or the indexer sees the events first.
 */
describe.each(STORAGE_KINDS)('acting on the chain (%s)', (kind) => {
  const fx = chainFixture(kind);

  const operatorEnv = (devnet: Devnet, extra: Env = {}): Env => ({
    STELLAR_NETWORK_PASSPHRASE: devnet.networkPassphrase,
    STELLAR_OPERATOR_SECRET: devnet.adminKeypair.secret(),
    CHAIN_TX_RETRY_DELAY_MS: '5',
    ...extra,
  });

  async function setup(extra: Env = {}) {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, operatorEnv(devnet, extra));
    return { devnet, t };
  }

  const tracker = (t: TestApp) => {
    const service = t.container.services.chainTransactions;
    if (!service) throw new Error('chain transactions are not configured');
    return service;
  };

  /** A funded borrower with a line opened on chain and indexed (so the database holds the bound line). */
  async function boundLine(devnet: Devnet, t: TestApp, limit = 1_000n * USDC) {
    const keys = Keypair.random();
    devnet.seedHorizon.account({ id: keys.publicKey(), balances: [{ asset: 'native', amount: '100' }] });
    devnet.contract.invoke('open_credit_line', { borrower: keys.publicKey(), credit_limit: limit, interest_rate_bps: 1_200, risk_score: 30 });
    devnet.closeLedger();
    await drain(t);
    const lines = await request(t.app).get(`/api/credit/wallet/${keys.publicKey()}/lines`).set(client);
    const line = lines.body.data.items[0];
    expect(line).toMatchObject({ contractId: devnet.contractId, status: 'active' });
    return { keys, line: line as { id: string; walletAddress: string } };
  }

  const ledgerEntries = async (t: TestApp, lineId: string) => t.container.store.repos.ledger.listByLine(lineId, { limit: 100 });
  const domainEvents = async (t: TestApp, lineId: string) => (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).map((e) => e.type);
  const getTx = async (t: TestApp, id: string) => (await request(t.app).get(`/api/credit/transactions/${id}`).set(client)).body.data;
  const getLine = async (t: TestApp, id: string) => (await request(t.app).get(`/api/credit/lines/${id}`).set(client)).body.data;

  function sign(xdr: string, devnet: Devnet, keys: Keypair): string {
    const tx = TransactionBuilder.fromXDR(xdr, devnet.networkPassphrase) as Transaction;
    tx.sign(keys);
    return tx.toXDR();
  }

  it('an admin opens a line on chain: pending, then confirmed, and the line appears once from its opened event', async () => {
    const { devnet, t } = await setup();
    const wallet = Keypair.random().publicKey();
    const opened = await request(t.app).post('/api/credit/lines/chain').set(admin).send({ walletAddress: wallet, creditLimit: '500', interestRateBps: 900 });
    expect(opened.status).toBe(202);
    expect(opened.body.data).toMatchObject({ action: 'open', functionName: 'open_credit_line', signer: 'operator', status: 'pending', creditLineId: null, transactionXdr: null });
    expect(opened.body.data.arguments).toEqual({ borrower: wallet, creditLimit: '500.0000000', interestRateBps: 900, riskScore: 0 });
    expect((await request(t.app).get(`/api/credit/wallet/${wallet}/lines`).set(client)).body.data.items).toEqual([]);

    devnet.closeLedger();
    expect(await tracker(t).track()).toBe(1);
    const confirmed = await getTx(t, opened.body.data.id);
    expect(confirmed).toMatchObject({ status: 'confirmed', ledger: devnet.latestLedger, creditLineId: expect.any(String) });
    const line = await getLine(t, confirmed.creditLineId);
    expect(line).toMatchObject({ walletAddress: wallet, contractId: devnet.contractId, creditLimit: '500.0000000', interestRateBps: 900, status: 'active' });

    // The indexer then reads the same opened event: already applied, nothing happens twice.
    await drain(t);
    expect(await domainEvents(t, line.id)).toEqual(['credit_line.created']);
    expect(await tracker(t).track()).toBe(0);
  });

  it('a borrower draw returns XDR to sign; submitted, it goes pending -> confirmed, and the indexed event does not apply it twice', async () => {
    const { devnet, t } = await setup();
    const { keys, line } = await boundLine(devnet, t);

    const draw = await request(t.app).post(`/api/credit/lines/${line.id}/draw`).set(client).send({ amount: '250' });
    expect(draw.status).toBe(202);
    const prepared = draw.body.data.chainTransaction;
    expect(prepared).toMatchObject({ action: 'draw', signer: 'borrower', status: 'awaiting_signature', networkPassphrase: devnet.networkPassphrase, creditLineId: line.id });
    expect(prepared.transactionXdr).toEqual(expect.any(String));
    expect(draw.body.data.creditLine.utilized).toBe('0.0000000');

    // Only the prepared transaction, signed, is accepted.
    const other = await request(t.app).post(`/api/credit/lines/${line.id}/draw`).set(client).send({ amount: '1' });
    const mismatch = await request(t.app).post(`/api/credit/transactions/${prepared.id}/submit`).set(client).send({ signedXdr: sign(other.body.data.chainTransaction.transactionXdr, devnet, keys) });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.code).toBe('transaction_mismatch');

    const submitted = await request(t.app).post(`/api/credit/transactions/${prepared.id}/submit`).set(client).send({ signedXdr: sign(prepared.transactionXdr, devnet, keys) });
    expect(submitted.status).toBe(202);
    expect(submitted.body.data).toMatchObject({ status: 'pending', transactionXdr: null, txHash: prepared.txHash, submitAttempts: 1 });
    expect((await getLine(t, line.id)).utilized).toBe('0.0000000');

    devnet.closeLedger();
    // The indexer sees the drawn event first: it applies it and confirms our transaction.
    await drain(t);
    expect(await getTx(t, prepared.id)).toMatchObject({ status: 'confirmed', ledger: devnet.latestLedger });
    expect((await getLine(t, line.id)).utilized).toBe('250.0000000');
    expect(await tracker(t).track()).toBe(0);
    const draws = (await ledgerEntries(t, line.id)).filter((e) => e.type === 'draw');
    expect(draws.map((e) => e.amount)).toEqual([250n * USDC]);
    expect((await domainEvents(t, line.id)).filter((type) => type === 'credit_line.drawn')).toHaveLength(1);

    const listed = await request(t.app).get(`/api/credit/lines/${line.id}/chain-transactions`).set(client);
    // Both were prepared at the same (pinned) second: newest first ties break on id.
    expect(listed.body.data.items.map((tx: { id: string; status: string }) => [tx.id, tx.status]).sort()).toEqual(
      [
        [other.body.data.chainTransaction.id, 'awaiting_signature'],
        [prepared.id, 'confirmed'],
      ].sort(),
    );
  });

  it('the tracker sees a confirmed repay first; the indexer reading it later changes nothing', async () => {
    const { devnet, t } = await setup();
    const { keys, line } = await boundLine(devnet, t);
    devnet.contract.invoke('draw_credit', { borrower: keys.publicKey(), amount: 300n * USDC });
    devnet.closeLedger();
    await drain(t);

    const repay = await request(t.app).post(`/api/credit/lines/${line.id}/repay`).set(client).send({ amount: '100' });
    expect(repay.status).toBe(202);
    const tx = repay.body.data.chainTransaction;
    const submitted = await request(t.app).post(`/api/credit/transactions/${tx.id}/submit`).set(client).send({ signedXdr: sign(tx.transactionXdr, devnet, keys) });
    expect(submitted.status).toBe(202);
    // Submitting the same signature again answers the same transaction; it is sent once.
    const again = await request(t.app).post(`/api/credit/transactions/${tx.id}/submit`).set(client).send({ signedXdr: sign(tx.transactionXdr, devnet, keys) });
    expect(again.status).toBe(202);
    expect(again.body.data).toMatchObject({ status: 'pending', submitAttempts: 1 });

    devnet.closeLedger();
    expect(await tracker(t).track()).toBe(1);
    expect(await getTx(t, tx.id)).toMatchObject({ status: 'confirmed' });
    expect((await getLine(t, line.id)).utilized).toBe('200.0000000');
    await drain(t);
    expect((await getLine(t, line.id)).utilized).toBe('200.0000000');
    expect((await ledgerEntries(t, line.id)).filter((e) => e.type === 'repay').map((e) => e.amount)).toEqual([100n * USDC]);
  });

  it('a draw the contract refuses is reported with its error name and leaves nothing pending', async () => {
    const { devnet, t } = await setup();
    const { keys, line } = await boundLine(devnet, t, 100n * USDC);

    const over = await request(t.app).post(`/api/credit/lines/${line.id}/draw`).set(client).send({ amount: '150' });
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({ code: 'contract_error', details: { function: 'draw_credit', contractError: 'OverLimit', contractErrorCode: 6 } });

    devnet.contract.invoke('freeze_credit_line', { borrower: keys.publicKey(), reason: 1 });
    devnet.closeLedger();
    const frozen = await request(t.app).post(`/api/credit/lines/${line.id}/draw`).set(client).send({ amount: '10' });
    expect(frozen.status).toBe(422);
    expect(frozen.body.error.details).toMatchObject({ contractError: 'CreditLineFrozen', contractErrorCode: 46 });

    const listed = await request(t.app).get(`/api/credit/lines/${line.id}/chain-transactions`).set(client);
    expect(listed.body.data.items).toEqual([]);
  });

  it('a transaction that fails when applied is recorded failed with the contract error, and moves nothing', async () => {
    const { devnet, t } = await setup();
    const { keys, line } = await boundLine(devnet, t);
    const draw = await request(t.app).post(`/api/credit/lines/${line.id}/draw`).set(client).send({ amount: '50' });
    const tx = draw.body.data.chainTransaction;
    expect((await request(t.app).post(`/api/credit/transactions/${tx.id}/submit`).set(client).send({ signedXdr: sign(tx.transactionXdr, devnet, keys) })).status).toBe(202);
    // The admin freezes the line on chain before the ledger with our draw closes.
    devnet.contract.invoke('freeze_credit_line', { borrower: keys.publicKey(), reason: 1 });
    devnet.closeLedger();

    expect(await tracker(t).track()).toBe(1);
    expect(await getTx(t, tx.id)).toMatchObject({ status: 'failed', error: { code: 'contract', name: 'CreditLineFrozen' } });
    expect((await getLine(t, line.id)).utilized).toBe('0.0000000');
    const failedEvents = await t.container.store.repos.events.listByAggregate('chain_transaction', tx.id);
    expect(failedEvents.map((e) => e.type)).toEqual(['chain_transaction.submitted', 'chain_transaction.failed']);
  });

  it('an unsigned or wrongly signed envelope is refused by the network and recorded failed', async () => {
    const { devnet, t } = await setup();
    const { line } = await boundLine(devnet, t);
    const draw = await request(t.app).post(`/api/credit/lines/${line.id}/draw`).set(client).send({ amount: '5' });
    const tx = draw.body.data.chainTransaction;
    const refused = await request(t.app).post(`/api/credit/transactions/${tx.id}/submit`).set(client).send({ signedXdr: sign(tx.transactionXdr, devnet, Keypair.random()) });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'transaction_rejected', details: { resultCode: 'txBadAuth' } });
    expect(await getTx(t, tx.id)).toMatchObject({ status: 'failed', error: { code: 'txBadAuth' } });
    const garbage = await request(t.app).post(`/api/credit/transactions/${tx.id}/submit`).set(client).send({ signedXdr: 'bm90IGFuIGVudmVsb3Bl' });
    expect(garbage.status).toBe(400);
  });

  it('admin actions go through the contract with the operator key and the same state machine', async () => {
    const { devnet, t } = await setup();
    const { keys, line } = await boundLine(devnet, t);

    const reinstate = await request(t.app).post(`/api/credit/lines/${line.id}/reinstate`).set(admin).send({});
    expect(reinstate.status).toBe(409);
    expect(reinstate.body.error.code).toBe('invalid_transition');

    const suspend = await request(t.app).post(`/api/credit/lines/${line.id}/suspend`).set(admin).send({});
    expect(suspend.status).toBe(202);
    expect(suspend.body.data.chainTransaction).toMatchObject({ action: 'suspend', signer: 'operator', status: 'pending' });
    devnet.closeLedger();
    await tracker(t).track();
    expect((await getLine(t, line.id)).status).toBe('suspended');
    expect(devnet.contract.creditLine(keys.publicKey())?.status).toBe(1);

    const terms = await request(t.app).patch(`/api/credit/lines/${line.id}`).set(admin).send({ creditLimit: '800' });
    expect(terms.status).toBe(202);
    expect(terms.body.data.chainTransaction.arguments).toMatchObject({ creditLimit: '800.0000000', interestRateBps: 1_200, riskScore: 30 });
    const closing = await request(t.app).post(`/api/credit/lines/${line.id}/close`).set(admin).send({});
    expect(closing.status).toBe(202);
    devnet.closeLedger();
    expect(await tracker(t).track()).toBe(2);
    expect(await getLine(t, line.id)).toMatchObject({ status: 'closed', creditLimit: '800.0000000' });
    const audit = await request(t.app).get('/api/admin/audit-log').query({ targetType: 'credit_line', targetId: line.id }).set(admin);
    expect(audit.body.data.items.map((e: { action: string }) => e.action).sort()).toEqual(['chain.close', 'chain.suspend', 'chain.update_terms']);
  });

  it('applying a risk evaluation to a bound line submits update_risk_parameters once, and the terms arrive with its event', async () => {
    const { devnet, t } = await setup();
    const { line } = await boundLine(devnet, t, 100n * USDC);
    const evaluated = await request(t.app).post('/api/risk/evaluate').set(admin).send({ walletAddress: line.walletAddress });
    expect(evaluated.status).toBe(201);
    const applies = await Promise.all([1, 2, 3].map(() => request(t.app).post(`/api/risk/evaluations/${evaluated.body.data.id}/apply`).set(admin)));
    expect(applies.map((a) => a.status).sort()).toEqual([202, 409, 409]);
    const applied = applies.find((a) => a.status === 202)!;
    expect(applied.body.data.chainTransaction).toMatchObject({ action: 'update_terms', functionName: 'update_risk_parameters', status: 'pending' });
    expect(applied.body.data.chainTransaction.arguments).toMatchObject({ creditLimit: '5000.0000000', interestRateBps: 1_200 });
    expect(applied.body.data.creditLine.creditLimit).toBe('100.0000000');
    devnet.closeLedger();
    await tracker(t).track();
    expect(await getLine(t, line.id)).toMatchObject({ creditLimit: '5000.0000000', interestRateBps: 1_200 });
  });

  it('a liquidation fill of a bound card line settles through settle_default_liquidation, once the line is defaulted', async () => {
    const { devnet, t } = await setup({ RISK_STATIC_SCORE: '90' });
    const created = await request(t.app)
      .post('/api/collateral/assets')
      .set(admin)
      .send({ code: 'XLM', decimals: 7, priceSource: { kind: 'manual' }, params: { kBps: 0, closeFactorBps: 10_000, maxSlippageBps: 100 } });
    expect(created.status).toBe(201);
    const price = async (value: string) => {
      expect((await request(t.app).post('/api/collateral/assets/XLM/prices').set(admin).send({ price: value })).status).toBe(201);
      await t.container.services.riskEngine.runQueued('test-runner');
    };
    await price('0.12');
    const wallet = Keypair.random().publicKey();
    expect((await request(t.app).post('/api/collateral/deposit').set(client).send({ walletAddress: wallet, asset: 'XLM', amount: '10000' })).status).toBe(200);
    const issued = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: wallet });
    expect(issued.status).toBe(201);
    const lineId = issued.body.data.creditLine.id as string;

    // The card line is bound to the wallet's line on chain, where the debt is drawn.
    devnet.contract.invoke('open_credit_line', { borrower: wallet, credit_limit: 900n * USDC, interest_rate_bps: 1_200, risk_score: 10 });
    devnet.contract.invoke('draw_credit', { borrower: wallet, amount: 900n * USDC });
    devnet.closeLedger();
    expect((await request(t.app).post(`/api/credit/lines/${lineId}/bind`).set(admin).send({})).status).toBe(200);
    await drain(t);

    await price('0.096'); // the monitor orders the liquidation
    const [execution] = (await request(t.app).get('/api/risk/executions').query({ walletAddress: wallet }).set(admin)).body.data.items;
    expect(execution).toMatchObject({ kind: 'liquidation', status: 'pending' });
    const fill = { collateralQuantity: execution.plan.seizeQuantity, usdcAmount: execution.plan.repay };

    const notDefaulted = await request(t.app).post(`/api/risk/executions/${execution.id}/fill`).set(admin).send(fill);
    expect(notDefaulted.status).toBe(409);
    expect(notDefaulted.body.error.code).toBe('chain_default_required');
    expect((await request(t.app).post(`/api/credit/lines/${lineId}/default`).set(admin).send({})).status).toBe(202);
    devnet.closeLedger();
    await tracker(t).track();

    const filled = await request(t.app).post(`/api/risk/executions/${execution.id}/fill`).set(admin).send(fill);
    expect(filled.status).toBe(200);
    expect(filled.body.data).toMatchObject({ status: 'filled', fill: { repaid: execution.plan.repay } });
    const transactions = (await request(t.app).get(`/api/credit/lines/${lineId}/chain-transactions`).set(client)).body.data.items;
    const liquidate = transactions.find((tx: { action: string }) => tx.action === 'liquidate');
    expect(liquidate).toMatchObject({ action: 'liquidate', functionName: 'settle_default_liquidation', status: 'pending', arguments: { recoveredAmount: execution.plan.repay } });
    devnet.closeLedger();
    await tracker(t).track();
    await drain(t);
    // The recovery is below the debt: the contract takes all of it, and the line's projection follows its liq_setl.
    const recovered = BigInt(execution.plan.repay.replace('.', ''));
    const onChain = devnet.contract.creditLine(wallet)!;
    expect((await getLine(t, lineId)).utilized).toBe((Number(onChain.utilized_amount) / 1e7).toFixed(7));
    expect((await ledgerEntries(t, lineId)).filter((e) => e.type === 'repay').map((e) => e.amount)).toEqual([recovered]);
    expect((await domainEvents(t, lineId)).filter((type) => type === 'liquidation.executed')).toHaveLength(1);
  });

  it('20 concurrent admin actions are submitted with distinct sequence numbers and all confirm', async () => {
    const { devnet, t } = await setup();
    const wallets = Array.from({ length: 20 }, () => Keypair.random().publicKey());
    for (const wallet of wallets) devnet.contract.invoke('open_credit_line', { borrower: wallet, credit_limit: 100n * USDC, interest_rate_bps: 500, risk_score: 10 });
    devnet.closeLedger();
    await drain(t);
    const lines = await t.container.store.repos.creditLines.listBound(devnet.contractId, { limit: 100 });
    expect(lines).toHaveLength(20);

    const answers = await Promise.all(lines.map((line) => request(t.app).post(`/api/credit/lines/${line.id}/suspend`).set(admin).send({})));
    expect(answers.map((a) => a.status)).toEqual(lines.map(() => 202));
    const sequences = answers.map((a) => BigInt(a.body.data.chainTransaction.sequence)).sort((a, b) => (a < b ? -1 : 1));
    expect(new Set(sequences).size).toBe(20);
    expect(sequences.at(-1)! - sequences[0]!).toBe(19n);

    devnet.closeLedger();
    expect(await tracker(t).track()).toBe(20);
    const after = await t.container.store.repos.creditLines.listBound(devnet.contractId, { limit: 100 });
    expect(after.map((l) => l.status)).toEqual(lines.map(() => 'suspended'));
  });

  it.skipIf(kind === 'memory')('confirms what a tracker pass found in one go; a transaction whose events cannot be applied holds up none of the others', async () => {
    const { devnet, t } = await setup();
    const lines: Array<{ id: string }> = [];
    for (let i = 0; i < 3; i++) lines.push((await boundLine(devnet, t)).line);
    const answers: request.Response[] = [];
    for (const line of lines) answers.push(await request(t.app).post(`/api/credit/lines/${line.id}/suspend`).set(admin).send({}));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    devnet.closeLedger();

    // The database refuses to suspend the middle line, as a projection bug or a broken row would.
    const db = t.database!.db;
    await db.query(`CREATE FUNCTION refuse_suspension() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`);
    await db.query(`CREATE TRIGGER refuse_suspension BEFORE UPDATE ON credit_lines FOR EACH ROW WHEN (NEW.id = '${lines[1]!.id}' AND NEW.status = 'suspended') EXECUTE FUNCTION refuse_suspension()`);
    expect(await tracker(t).track()).toBe(2);
    const statuses = async () => Promise.all(answers.map(async (a) => (await getTx(t, a.body.data.chainTransaction.id)).status));
    expect(await statuses()).toEqual(['confirmed', 'pending', 'confirmed']);
    expect((await Promise.all(lines.map((line) => getLine(t, line.id)))).map((line) => line.status)).toEqual(['suspended', 'active', 'suspended']);
    expect(t.logs.text).toContain('events of an included chain transaction could not be applied; left pending');

    await db.query('DROP TRIGGER refuse_suspension ON credit_lines');
    expect(await tracker(t).track()).toBe(1);
    expect(await statuses()).toEqual(['confirmed', 'confirmed', 'confirmed']);
    expect((await getLine(t, lines[1]!.id)).status).toBe('suspended');
    await drain(t);
    for (const line of lines) expect((await domainEvents(t, line.id)).filter((type) => type === 'credit_line.suspended')).toHaveLength(1);
  });

  it('prices its way in: txInsufficientFee is answered with a fee bump, TRY_AGAIN_LATER is retried then reported', async () => {
    const { devnet, t } = await setup();
    const { line } = await boundLine(devnet, t);
    devnet.faults.minInclusionFee = 1_000;
    const suspend = await request(t.app).post(`/api/credit/lines/${line.id}/suspend`).set(admin).send({});
    expect(suspend.status).toBe(202);
    expect(suspend.body.data.chainTransaction.submitAttempts).toBeGreaterThan(1);
    devnet.faults.minInclusionFee = 0;
    devnet.closeLedger();
    await tracker(t).track();
    expect((await getLine(t, line.id)).status).toBe('suspended');

    devnet.faults.tryAgainLater = true;
    const busy = await request(t.app).post(`/api/credit/lines/${line.id}/default`).set(admin).send({});
    expect(busy.status).toBe(503);
    expect(busy.body.error.code).toBe('chain_busy');
    devnet.faults.tryAgainLater = false;
    const listed = await request(t.app).get(`/api/credit/lines/${line.id}/chain-transactions`).set(client);
    expect(listed.body.data.items.map((tx: { action: string }) => tx.action)).toEqual(['suspend']);
    // The sequence the refused attempt would have used was not consumed: the next action still lands.
    const retried = await request(t.app).post(`/api/credit/lines/${line.id}/default`).set(admin).send({});
    expect(retried.status).toBe(202);
    devnet.closeLedger();
    await tracker(t).track();
    expect((await getLine(t, line.id)).status).toBe('defaulted');
  });

  it('an operator transaction dropped by the node expires by ledger time and is submitted again', async () => {
    const { devnet, t } = await setup({ CHAIN_TX_TIMEOUT_SECONDS: '60' });
    const { line } = await boundLine(devnet, t);
    const suspend = await request(t.app).post(`/api/credit/lines/${line.id}/suspend`).set(admin).send({});
    const first = suspend.body.data.chainTransaction;
    devnet.core.pool.clear(); // the node drops its queue
    devnet.contract.advanceTime(30);
    devnet.closeLedger();
    expect(await tracker(t).track()).toBe(0); // not found, but still within its time bounds
    devnet.contract.advanceTime(60);
    devnet.closeLedger();
    expect(await tracker(t).track()).toBe(1);
    const resubmitted = await getTx(t, first.id);
    expect(resubmitted).toMatchObject({ status: 'pending' });
    expect(resubmitted.txHash).not.toBe(first.txHash);
    devnet.closeLedger();
    await tracker(t).track();
    expect(await getTx(t, first.id)).toMatchObject({ status: 'confirmed' });
    expect((await getLine(t, line.id)).status).toBe('suspended');
  });

  it.skipIf(kind === 'memory')('an RPC outage during tracking resumes after a restart without losing or duplicating the transaction', async () => {
    const devnet = await fx.devnet();
    const first = await fx.app(devnet, operatorEnv(devnet));
    const { keys, line } = await boundLine(devnet, first);
    devnet.contract.invoke('draw_credit', { borrower: keys.publicKey(), amount: 40n * USDC });
    devnet.closeLedger();
    await drain(first);
    const suspend = await request(first.app).post(`/api/credit/lines/${line.id}/suspend`).set(admin).send({});
    expect(suspend.status).toBe(202);
    devnet.closeLedger();
    devnet.faults.force5xx = true;
    await expect(tracker(first).track()).rejects.toThrow();
    await first.close();

    const restarted = await fx.app(devnet, operatorEnv(devnet));
    devnet.faults.force5xx = false;
    expect(await tracker(restarted).track()).toBe(1);
    await drain(restarted);
    expect(await getTx(restarted, suspend.body.data.chainTransaction.id)).toMatchObject({ status: 'confirmed' });
    expect((await getLine(restarted, line.id)).status).toBe('suspended');
    expect((await domainEvents(restarted, line.id)).filter((type) => type === 'credit_line.suspended')).toHaveLength(1);
    expect(await tracker(restarted).track()).toBe(0);
  });

  it('binds an existing database line to its line on chain; without an operator key admin calls are refused', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, { STELLAR_NETWORK_PASSPHRASE: devnet.networkPassphrase });
    const wallet = Keypair.random().publicKey();
    const created = await request(t.app).post('/api/credit/lines').set(admin).send({ walletAddress: wallet, creditLimit: '100', interestRateBps: 700 });
    expect(created.status).toBe(201);
    const notOnChain = await request(t.app).post(`/api/credit/lines/${created.body.data.id}/bind`).set(admin).send({});
    expect(notOnChain.status).toBe(409);
    expect(notOnChain.body.error.code).toBe('not_on_chain');

    devnet.contract.invoke('open_credit_line', { borrower: wallet, credit_limit: 300n * USDC, interest_rate_bps: 650, risk_score: 20 });
    devnet.closeLedger();
    await drain(t); // the opened event is parked: the wallet has a database line
    const bound = await request(t.app).post(`/api/credit/lines/${created.body.data.id}/bind`).set(admin).send({ contractId: devnet.contractId });
    expect(bound.status).toBe(200);
    expect(bound.body.data).toMatchObject({ contractId: devnet.contractId, creditLimit: '300.0000000', interestRateBps: 650, riskScore: 20, status: 'active' });
    expect((await request(t.app).post(`/api/credit/lines/${created.body.data.id}/bind`).set(admin).send({})).body.error.code).toBe('already_bound');
    expect(await domainEvents(t, created.body.data.id)).toEqual(['credit_line.created', 'credit_line.bound']);

    const noOperator = await request(t.app).post(`/api/credit/lines/${created.body.data.id}/suspend`).set(admin).send({});
    expect(noOperator.status).toBe(503);
    expect(noOperator.body.error.code).toBe('chain_operator_unconfigured');
  });
});
