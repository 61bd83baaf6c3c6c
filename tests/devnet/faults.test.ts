import { Horizon, Keypair, rpc } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { borrower, devnet, openLine, readAllEvents, rpcClient } from './helpers.js';

/** The fault switches, as a client meets them: 5xx, hangs, empty pages, lag and node resets. */
describe('devnet faults', () => {
  let d: Devnet;
  afterEach(() => d?.stop());

  it('answers 503 while force5xx is on, and for exactly fail5xxCount requests', async () => {
    d = await devnet();
    const server = rpcClient(d);
    d.faults.force5xx = true;
    await expect(server.getHealth()).rejects.toMatchObject({ response: { status: 503 } });
    d.faults.clear();
    await expect(server.getHealth()).resolves.toMatchObject({ status: 'healthy' });
    d.faults.set({ fail5xxCount: 2 });
    await expect(server.getLatestLedger()).rejects.toMatchObject({ response: { status: 503 } });
    await expect(server.getLatestLedger()).rejects.toMatchObject({ response: { status: 503 } });
    await expect(server.getLatestLedger()).resolves.toMatchObject({ sequence: 1 });
  });

  it('scopes faults: a Horizon-only 503 leaves RPC alone and answers with a problem document', async () => {
    d = await devnet();
    d.faults.set({ force5xx: true, scope: 'horizon' });
    await expect(rpcClient(d).getHealth()).resolves.toMatchObject({ status: 'healthy' });
    const res = await fetch(`${d.horizonUrl}/`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 503, title: 'Service Unavailable' });
    const horizon = new Horizon.Server(d.horizonUrl, { allowHttp: true });
    await expect(horizon.loadAccount(Keypair.random().publicKey())).rejects.toMatchObject({ response: { status: 503 } });
  });

  it('holds requests for timeoutMs, so a client with a shorter timeout gives up', async () => {
    d = await devnet();
    const server = rpcClient(d);
    // rpc.Server has no timeout option in 15.x; its axios instance does.
    (server as unknown as { httpClient: { defaults: { timeout: number } } }).httpClient.defaults.timeout = 200;
    d.faults.timeoutMs = 1_000;
    const started = Date.now();
    await expect(server.getHealth()).rejects.toMatchObject({ code: 'ECONNABORTED' });
    expect(Date.now() - started).toBeLessThan(900);
    // a patient client gets its answer after the hang
    const slow = Date.now();
    const res = await fetch(d.rpcUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' }) });
    expect(((await res.json()) as { result: { status: string } }).result.status).toBe('healthy');
    expect(Date.now() - slow).toBeGreaterThanOrEqual(950);
    d.faults.timeoutMs = 0;
  });

  it('returns empty pages with a cursor that does not move, so nothing is lost once it clears', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who);
    d.contract.invoke('draw_credit', { borrower: who, amount: 5n });
    d.closeLedger();
    d.faults.emptyPages = true;
    const first = await server.getEvents({ filters: [], startLedger: 1, limit: 10 });
    expect(first.events).toEqual([]);
    const second = await server.getEvents({ filters: [], cursor: first.cursor, limit: 10 });
    expect(second.events).toEqual([]);
    expect(second.cursor).toBe(first.cursor);
    d.faults.emptyPages = false;
    const recovered = await server.getEvents({ filters: [], cursor: second.cursor, limit: 10 });
    expect(recovered.events).toHaveLength(3);
  });

  it('lags: latestLedger is reported behind and newer events and transactions are hidden', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    d.closeLedger();
    d.closeLedger();
    openLine(d, who);
    const openedIn = d.closeLedger(); // ledger 4
    d.faults.lagLedgers = 2;
    expect((await server.getLatestLedger()).sequence).toBe(2);
    expect((await server.getHealth()).latestLedger).toBe(2);
    const { events } = await readAllEvents(server, [], 1);
    expect(events).toEqual([]);
    await expect(server.getEvents({ filters: [], startLedger: openedIn })).rejects.toMatchObject({ code: -32600 });
    d.faults.lagLedgers = 0;
    expect((await readAllEvents(server, [], 1)).events.map((e) => e.name)).toEqual(['opened']);
  });

  it('switches surge pricing (minInclusionFee) over the control API and validates it', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const post = async (route: string, body?: unknown) => {
      const res = await fetch(`${d.controlUrl}/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { faults?: Record<string, unknown> } };
    };
    expect(d.faults.minInclusionFee).toBe(0);
    const on = await post('faults', { minInclusionFee: 5_000 });
    expect(on).toMatchObject({ status: 200, body: { faults: { minInclusionFee: 5_000 } } });
    expect(d.faults.minInclusionFee).toBe(5_000);
    expect((await server.getFeeStats()).sorobanInclusionFee.p90).toBe('5000');
    for (const bad of [-1, 1.5, '5000']) expect((await post('faults', { minInclusionFee: bad })).status).toBe(400);
    expect(d.faults.minInclusionFee).toBe(5_000); // a refused patch changes nothing
    await post('faults/clear');
    expect(d.faults.minInclusionFee).toBe(0);
    expect((await server.getFeeStats()).sorobanInclusionFee.p90).toBe('100');
  });

  it('node reset: oldestLedger jumps to latestLedger and earlier cursors fall outside retention', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who);
    d.closeLedger();
    d.closeLedger();
    const before = await server.getEvents({ filters: [], startLedger: 1 });
    expect(before.events).toHaveLength(1);
    const txHash = before.events[0]!.txHash;
    d.faults.reset();
    const health = await server.getHealth();
    expect(health.oldestLedger).toBe(health.latestLedger);
    expect(health.oldestLedger).toBe(3);
    await expect(server.getEvents({ filters: [], startLedger: 1 })).rejects.toMatchObject({
      code: -32600,
      message: 'startLedger must be within the ledger range: 3 - 3',
    });
    await expect(server.getEvents({ filters: [], cursor: before.events[0]!.id })).rejects.toMatchObject({ code: -32600 });
    expect((await server.getTransaction(txHash)).status).toBe(rpc.Api.GetTransactionStatus.NOT_FOUND);
    // state survives a node reset: only history is gone
    expect(d.contract.creditLine(who)).toBeDefined();
  });
});
