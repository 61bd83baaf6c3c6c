import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin, CLIENT_KEY, client, createTestApp, randomWallet, type TestApp } from '../support/app.js';

/** Cross-cutting HTTP behaviour: the envelope, request ids, body rules, auth, rate limits, CORS, logs. */
describe('HTTP conventions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('memory', { CORS_ORIGINS: 'https://app.creditra.example', WALLET_AUTH: 'optional' });
  });
  afterAll(() => t.close());

  it('answers unknown routes with a 404 in the envelope', async () => {
    const res = await request(t.app).get('/api/nope').set(client);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ data: null, error: { code: 'not_found', requestId: expect.any(String) } });
  });

  it('echoes a sane x-request-id and generates one otherwise', async () => {
    const given = await request(t.app).get('/health').set('x-request-id', 'trace-123');
    expect(given.headers['x-request-id']).toBe('trace-123');
    const generated = await request(t.app).get('/health').set('x-request-id', 'bad id with spaces');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await request(t.app).get('/api/credit/lines').set('x-request-id', 'trace-456');
    expect(failed.body.error.requestId).toBe('trace-456');
  });

  it('refuses a body over 100 kB with 413', async () => {
    const res = await request(t.app)
      .post('/api/credit/lines')
      .set(client)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ walletAddress: 'x'.repeat(110_000) }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('refuses a mutating request that is not JSON with 415, and malformed JSON with 400', async () => {
    const text = await request(t.app).post('/api/credit/lines').set(client).set('content-type', 'text/plain').send('amount=1');
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const malformed = await request(t.app).post('/api/credit/lines').set(client).set('content-type', 'application/json').send('{"walletAddress":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    expect(JSON.stringify(malformed.body)).not.toMatch(/at .*\.js|SyntaxError/);
  });

  it('answers 401 without a key, 401 with a wrong key, 403 for a client key on an admin route', async () => {
    expect((await request(t.app).get('/api/credit/lines')).status).toBe(401);
    expect((await request(t.app).get('/api/credit/lines').set('x-api-key', 'wrong-key-0000000000')).status).toBe(401);
    const forbidden = await request(t.app).get('/api/admin/audit-log').set(client);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('admin_required');
    expect((await request(t.app).get('/api/admin/audit-log').set('x-admin-api-key', CLIENT_KEY)).status).toBe(401);
    expect((await request(t.app).get('/api/credit/lines').set(admin)).status).toBe(200);
  });

  it('allows CORS only for configured origins', async () => {
    const allowed = await request(t.app).options('/api/credit/lines').set('Origin', 'https://app.creditra.example').set('Access-Control-Request-Method', 'POST');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.creditra.example');
    const refused = await request(t.app).get('/health').set('Origin', 'https://evil.example');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('keeps keys, secrets and full wallet addresses out of the logs', async () => {
    const wallet = randomWallet();
    await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: wallet, creditLimit: '10' });
    await request(t.app).get(`/api/credit/wallet/${wallet}/lines`).set(client);
    await request(t.app).get('/api/admin/audit-log').set(admin);
    t.container.logger.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(t.logs.text).toContain('/api/credit/wallet/');
    expect(t.logs.text).not.toContain(wallet);
    expect(t.logs.text).not.toContain(CLIENT_KEY);
    expect(t.logs.text).not.toContain(ADMIN_KEY);
  });

  it('exposes HTTP and credit metrics in Prometheus format', async () => {
    const wallet = randomWallet();
    const line = await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: wallet, creditLimit: '10' });
    await request(t.app).post(`/api/credit/lines/${line.body.data.id}/draw`).set(client).send({ amount: '2.5' });
    const metrics = await request(t.app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/http_requests_total\{method="POST",route="\/api\/credit\/lines\/:id\/draw",status="200"\} 1/);
    expect(metrics.text).toMatch(/http_request_duration_seconds_bucket\{/);
    expect(metrics.text).toMatch(/credit_lines_opened_total \d+/);
    expect(metrics.text).toMatch(/credit_amount_drawn_total 2\.5/);
  });
});

describe('rate limiting', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('memory', { RATE_LIMIT_PER_MIN: '3', RATE_LIMIT_OVERRIDES: 'admin=5' });
  });
  afterAll(() => t.close());

  it('limits each key per minute with X-RateLimit-* headers and Retry-After on 429', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await request(t.app).get('/api/credit/lines').set(client);
      expect(ok.status).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('3');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const limited = await request(t.app).get('/api/credit/lines').set(client);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another group (admin routes) has its own bucket and its own limit.
    const adminCall = await request(t.app).get('/api/admin/audit-log').set(admin);
    expect(adminCall.status).toBe(200);
    expect(adminCall.headers['x-ratelimit-limit']).toBe('5');
    // Health is never limited.
    expect((await request(t.app).get('/health')).status).toBe(200);
  });

  it('limits unauthenticated callers per IP and ignores X-Forwarded-For unless TRUST_PROXY says so', async () => {
    for (let i = 0; i < 3; i++) await request(t.app).get('/api/credit/lines').set('X-Forwarded-For', `10.0.0.${i}`);
    const spoofed = await request(t.app).get('/api/credit/lines').set('X-Forwarded-For', '10.0.0.99');
    expect(spoofed.status).toBe(429);
  });
});

describe('API key rotation from a key file', () => {
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'creditra-keys-'));
  const keyFile = join(dir, 'api-keys');
  beforeAll(async () => {
    writeFileSync(keyFile, '# client keys\nrotating-key-aaaaaaaaaaaa\n');
    t = await createTestApp('memory', { API_KEYS: '', API_KEYS_FILE: keyFile });
  });
  afterAll(() => t.close());
  afterEach(() => writeFileSync(keyFile, 'rotating-key-aaaaaaaaaaaa\n'));

  it('accepts a new key and drops a revoked one without a restart', async () => {
    expect((await request(t.app).get('/api/credit/lines').set('x-api-key', 'rotating-key-aaaaaaaaaaaa')).status).toBe(200);
    writeFileSync(keyFile, 'rotating-key-bbbbbbbbbbbbbbbb\n');
    expect((await request(t.app).get('/api/credit/lines').set('x-api-key', 'rotating-key-bbbbbbbbbbbbbbbb')).status).toBe(200);
    expect((await request(t.app).get('/api/credit/lines').set('x-api-key', 'rotating-key-aaaaaaaaaaaa')).status).toBe(401);
  });
});
