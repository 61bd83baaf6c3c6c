import { Keypair, nativeToScVal, rpc, scValToNative } from '@stellar/stellar-sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { devnet, readAllEvents, rpcClient, T0, USDC } from './helpers.js';

/** The HTTP control API (for a backend in another process) and the `npm run devnet` CLI. */
describe('devnet control API over HTTP', () => {
  let d: Devnet;
  beforeAll(async () => {
    d = await devnet();
  });
  afterAll(() => d.stop());

  const control = async (route: string, body?: unknown) => {
    const res = await fetch(`${d.controlUrl}/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('describes the devnet', async () => {
    const { status, body } = await control('info');
    expect(status).toBe(200);
    expect(body).toMatchObject({ rpcUrl: d.rpcUrl, horizonUrl: d.horizonUrl, contractId: d.contractId, adminPublicKey: d.adminKeypair.publicKey() });
    expect(Keypair.fromSecret(body.adminSecret as string).publicKey()).toBe(d.adminKeypair.publicKey());
  });

  it('invokes, closes and reports contract errors with their codes', async () => {
    const who = Keypair.random().publicKey();
    expect((await control('invoke', { fn: 'open_credit_line', args: { borrower: who, credit_limit: '1000', interest_rate_bps: 500, risk_score: 5 } })).status).toBe(200);
    const draw = await control('invoke', { fn: 'draw_credit', args: [who, 400] });
    expect(draw.body).toMatchObject({ fn: 'draw_credit', events: 2 });
    const over = await control('invoke', { fn: 'draw_credit', args: { borrower: who, amount: '601' } });
    expect(over).toEqual({ status: 422, body: { error: { type: 'contract', code: 6, name: 'OverLimit', message: expect.any(String) } } });
    const bad = await control('invoke', { fn: 'draw_credit', args: { borrower: 'nobody', amount: 1 } });
    expect(bad.status).toBe(400);
    const closed = await control('close', { count: 2 });
    expect(closed.body).toMatchObject({ sequence: 3, latestLedger: 3 });
    const { events } = await readAllEvents(rpcClient(d), [{ contractIds: [d.contractId] }], 1);
    expect(events.map((e) => e.name)).toEqual(['opened', 'drawn', 'borrow_lc']);
    const line = await control('credit-line', { borrower: who, which: 'committed' });
    expect(line.body.line).toMatchObject({ utilized_amount: '400', credit_limit: '1000', status: 0 });
  });

  it('moves time, tampers, emits, seeds and switches faults', async () => {
    const who = Keypair.random().publicKey();
    await control('invoke', { fn: 'open_credit_line', args: { borrower: who, credit_limit: String(1_000n * USDC), interest_rate_bps: 1_500, risk_score: 5 } });
    await control('invoke', { fn: 'draw_credit', args: { borrower: who, amount: 10_000_000_000 } });
    expect((await control('time', { set: T0 + 30 * 86_400 })).body).toMatchObject({ now: T0 + 30 * 86_400, pinned: true });
    expect((await control('invoke', { fn: 'repay_credit', args: { borrower: who, amount: 1 } })).body.events).toBe(4);
    expect((await control('tamper', { borrower: who, patch: { accrued_interest: '0' } })).body.line).toMatchObject({ accrued_interest: '0' });
    expect((await control('emit', { name: 'late_fee', payload: { borrower: who, fee: '5', installment_index: 1 } })).status).toBe(200);
    expect((await control('emit', { name: 'nope', payload: {} })).status).toBe(400);
    const seeded = await control('seed', {
      accounts: [{ id: who, thresholds: { med: 2 } }],
      payments: [{ from: Keypair.random().publicKey(), to: who, amount: '10' }],
      trades: [{ base: 'native', counter: 'native', baseAmount: '1', counterAmount: '1', timestampMs: 0 }],
    });
    expect(seeded.body).toMatchObject({ accounts: [who], trades: 1 });
    expect(seeded.body.payments[0].transaction_hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await control('faults', { emptyPages: true })).body.faults).toMatchObject({ emptyPages: true });
    expect((await control('faults', { bogus: 1 })).status).toBe(400);
    await control('faults/clear');
    const ledger = (await control('close')).body.sequence as number;
    const server = rpcClient(d);
    const entry = await server.getContractData(d.contractId, nativeToScVal(who, { type: 'address' }), rpc.Durability.Persistent);
    expect(scValToNative(entry.val.contractData().val())).toMatchObject({ accrued_interest: 0n });
    const names = (await readAllEvents(server, [], ledger)).events.map((e) => e.name);
    expect(names).toEqual(['opened', 'drawn', 'borrow_lc', 'accrue', 'accrue', 'repay', 'borrow_lc', 'late_fee']);
    const reset = await control('faults/reset');
    expect(reset.body).toEqual({ latestLedger: ledger, oldestLedger: ledger });
  });

  it('rejects unknown routes', async () => {
    expect((await control('nope')).status).toBe(404);
  });
});

describe('npm run devnet (cli)', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('starts, prints its URLs, closes ledgers on a timer and stops on SIGTERM', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/devnet/cli.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DEVNET_PORT: '0', DEVNET_LEDGER_MS: '50' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!/Admin:/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const rpcUrl = /RPC:\s+(\S+)/.exec(out)?.[1];
    expect(rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rpc$/);
    expect(out).toMatch(/Horizon:\s+http:\/\/127\.0\.0\.1:\d+\/horizon/);
    expect(out).toMatch(/Contract id:\s+C[A-Z2-7]{55}/);
    const server = new rpc.Server(rpcUrl!, { allowHttp: true });
    const first = (await server.getLatestLedger()).sequence;
    await new Promise((r) => setTimeout(r, 300));
    expect((await server.getLatestLedger()).sequence).toBeGreaterThan(first);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
