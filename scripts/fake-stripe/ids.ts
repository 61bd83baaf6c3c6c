import { randomBytes } from 'node:crypto';

/** Stripe-looking ids: a type prefix and 24 base-62 characters (`pi_3Q…`, `ch_3Q…`, `evt_1Q…`). */

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 248 = 4 × 62: rejecting bytes ≥ 248 keeps the characters uniform. Rejections are rare; top up when they happen.
  for (let i = 0; out.length < length; i++) {
    if (i >= bytes.length) return out + randomToken(length - out.length);
    const byte = bytes[i]!;
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

export const newId = (prefix: string): string => `${prefix}_${randomToken(24)}`;

/** `req_` ids are shorter on the real API (14 characters after the prefix). */
export const newRequestId = (): string => `req_${randomToken(14)}`;
