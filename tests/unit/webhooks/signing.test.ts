import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, SECRET_PREFIX, sign, signatureHeaders } from '../../../src/webhooks/signing.js';

/**
 * Our signatures against an independent implementation of Standard Webhooks (the `standardwebhooks`
 * package), plus the plain node:crypto verifier that docs/webhooks.md shows subscribers.
 */

const nowSeconds = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ id: 'evt-1', type: 'credit_line.drawn', createdAt: '2026-03-01T00:00:00.000Z', data: { amount: '12.5000000' } });

/** The verifier from docs/webhooks.md, kept identical here so the documented sample is proven to work. */
function verifyWebhook(secret: string, headers: Record<string, string | undefined>, rawBody: string, toleranceSeconds = 300): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return false;
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > toleranceSeconds) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest();
  return signatures.split(' ').some((versioned) => {
    const [version, signature] = versioned.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

describe('webhook secrets', () => {
  it('are whsec_ plus 32 random bytes in base64, different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSecret));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret.startsWith(SECRET_PREFIX)).toBe(true);
      expect(Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')).toHaveLength(32);
      // standardwebhooks accepts the format as is
      expect(() => new Webhook(secret)).not.toThrow();
    }
  });
});

describe('Standard Webhooks signatures', () => {
  it('produce the same v1 signature as the standardwebhooks package', () => {
    const secret = generateSecret();
    const ts = nowSeconds();
    expect(sign(secret, 'msg_1', ts, body)).toBe(new Webhook(secret).sign('msg_1', new Date(ts * 1000), body));
  });

  it('verify with standardwebhooks, which hands back the parsed body', () => {
    const secret = generateSecret();
    const headers = signatureHeaders([secret], 'evt-1', nowSeconds(), body);
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(headers['webhook-id']).toBe('evt-1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(verifyWebhook(secret, headers, body)).toBe(true);
  });

  it('verify with upper-case header names too (receivers see them either way)', () => {
    const secret = generateSecret();
    const headers = signatureHeaders([secret], 'evt-2', nowSeconds(), body);
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(new Webhook(secret).verify(body, upper)).toEqual(JSON.parse(body));
  });

  it('during a rotation carry two signatures, and a receiver holding either secret verifies', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const headers = signatureHeaders([newSecret, oldSecret], 'evt-3', nowSeconds(), body);
    const signatures = headers['webhook-signature']!.split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((s) => s.startsWith('v1,'))).toBe(true);

    expect(new Webhook(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(verifyWebhook(oldSecret, headers, body)).toBe(true);
    expect(verifyWebhook(newSecret, headers, body)).toBe(true);
    // a third party's secret does not
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    expect(verifyWebhook(generateSecret(), headers, body)).toBe(false);
  });

  it('fail verification when the body is tampered with', () => {
    const secret = generateSecret();
    const headers = signatureHeaders([secret], 'evt-4', nowSeconds(), body);
    const tampered = body.replace('12.5000000', '99.5000000');
    expect(tampered).not.toBe(body);
    expect(() => new Webhook(secret).verify(tampered, headers)).toThrow('No matching signature found');
    expect(verifyWebhook(secret, headers, tampered)).toBe(false);
    // so does a body that is only re-serialised (receivers must verify the raw bytes)
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    expect(() => new Webhook(secret).verify(reformatted, headers)).toThrow(WebhookVerificationError);
  });

  it('fail verification when the id or the timestamp header is swapped', () => {
    const secret = generateSecret();
    const ts = nowSeconds();
    const headers = signatureHeaders([secret], 'evt-5', ts, body);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt-6' })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': String(ts - 1) })).toThrow(WebhookVerificationError);
  });

  it('fail verification when the timestamp is old (replay) or far in the future', () => {
    const secret = generateSecret();
    const old = signatureHeaders([secret], 'evt-7', nowSeconds() - 10 * 60, body);
    expect(() => new Webhook(secret).verify(body, old)).toThrow('Message timestamp too old');
    expect(verifyWebhook(secret, old, body)).toBe(false);
    const future = signatureHeaders([secret], 'evt-7', nowSeconds() + 10 * 60, body);
    expect(() => new Webhook(secret).verify(body, future)).toThrow('Message timestamp too new');
    expect(verifyWebhook(secret, future, body)).toBe(false);
  });

  it('sign the exact bytes: non-ASCII bodies verify as UTF-8', () => {
    const secret = generateSecret();
    const unicode = JSON.stringify({ id: 'evt-8', type: 'webhook.test', createdAt: new Date().toISOString(), data: { note: 'Zürich – 東京 ✓' } });
    const headers = signatureHeaders([secret], 'evt-8', nowSeconds(), unicode);
    expect(new Webhook(secret).verify(unicode, headers)).toEqual(JSON.parse(unicode));
    expect(new Webhook(secret).verify(Buffer.from(unicode, 'utf8'), headers)).toEqual(JSON.parse(unicode));
    expect(verifyWebhook(secret, headers, unicode)).toBe(true);
  });
});
