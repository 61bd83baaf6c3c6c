import request from 'supertest';
import { expect } from 'vitest';
import { admin, client } from '../../support/app.js';

/** Shared steps of the collateral suites: each one an HTTP call through the real app, checked as it goes. */

type App = Parameters<typeof request>[0];

/** A mutable test clock: `clock()` is handed to createTestApp, `tick` moves it forward. */
export function testClock(start: string) {
  let now = new Date(start);
  return {
    clock: () => now,
    get now() {
      return now;
    },
    tick(seconds: number) {
      now = new Date(now.getTime() + seconds * 1000);
      return now;
    },
  };
}

export async function createAsset(app: App, body: Record<string, unknown>) {
  const res = await request(app).post('/api/collateral/assets').set(admin).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

/** A manual asset (7 decimals unless told) with these parameters over the defaults. */
export const manualAsset = (app: App, code: string, params: Record<string, unknown> = {}, decimals = 7) =>
  createAsset(app, { code, decimals, priceSource: { kind: 'manual' }, params });

export async function postPrice(app: App, code: string, price: string, observedAt?: Date) {
  const res = await request(app)
    .post(`/api/collateral/assets/${code}/prices`)
    .set(admin)
    .send({ price, ...(observedAt && { observedAt: observedAt.toISOString() }) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

export const deposit = (app: App, walletAddress: string, asset: string, amount: string, headers: Record<string, string> = client) =>
  request(app).post('/api/collateral/deposit').set(headers).send({ walletAddress, asset, amount });

export const withdraw = (app: App, walletAddress: string, asset: string, amount: string, headers: Record<string, string> = client) =>
  request(app).post('/api/collateral/withdraw').set(headers).send({ walletAddress, asset, amount });

export async function deposited(app: App, walletAddress: string, asset: string, amount: string) {
  const res = await deposit(app, walletAddress, asset, amount);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

/** POST /api/credit/issue, expecting `status`; the card credit (limits, line, collateral) comes back. */
export async function issue(app: App, walletAddress: string, status: 200 | 201 = 201, creditLimit?: string) {
  const res = await request(app)
    .post('/api/credit/issue')
    .set(client)
    .send({ walletAddress, ...(creditLimit && { creditLimit }) });
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body.data;
}

export const draw = (app: App, lineId: string, amount: string, headers: Record<string, string> = client) =>
  request(app).post(`/api/credit/lines/${lineId}/draw`).set(headers).send({ amount });

export async function drawn(app: App, lineId: string, amount: string) {
  const res = await draw(app, lineId, amount);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

export async function assessment(app: App, walletAddress: string) {
  const res = await request(app).get(`/api/risk/assessment/${walletAddress}`).set(client);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

export async function cardCredit(app: App, lineId: string) {
  const res = await request(app).get(`/api/credit/${lineId}`).set(client);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

export async function executionsOf(app: App, walletAddress: string) {
  const res = await request(app).get('/api/risk/executions').query({ walletAddress }).set(admin);
  expect(res.status).toBe(200);
  return res.body.data.items as Array<Record<string, any>>;
}

/** "900.0000000" (7 decimals) or any decimal string, as base units of `decimals` places. */
export function units(text: string, decimals = 7): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0').slice(0, decimals) || '0');
}
