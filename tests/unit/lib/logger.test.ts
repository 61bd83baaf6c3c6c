import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../../../src/lib/logger.js';
import { LogCapture } from '../../support/app.js';

describe('log redaction', () => {
  const address = Keypair.random().publicKey();

  it('masks Stellar addresses in fields, nested objects, messages and errors', () => {
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    logger.info({ url: `/api/credit/wallet/${address}/lines`, nested: { wallet: address } }, `opened for ${address}`);
    logger.error({ err: new Error(`failed for ${address}`) }, 'boom');
    logger.flush();
    expect(logs.text).not.toContain(address);
    expect(logs.text).toContain(`${address.slice(0, 4)}…${address.slice(-4)}`);
  });

  it('replaces secrets and key headers with [redacted]', () => {
    const record = redact({ headers: { 'x-api-key': 'k1', 'X-Admin-Api-Key': 'k2', authorization: 'Bearer t' }, signingSecret: 's' }) as Record<string, any>;
    expect(record.headers).toEqual({ 'x-api-key': '[redacted]', 'X-Admin-Api-Key': '[redacted]', authorization: '[redacted]' });
    expect(record.signingSecret).toBe('[redacted]');
  });
});
