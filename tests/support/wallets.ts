import { Keypair, Networks, Transaction } from '@stellar/stellar-sdk';
import request from 'supertest';
import { expect } from 'vitest';
import { client } from './app.js';

type App = Parameters<typeof request>[0];

export interface WalletSession {
  keypair: Keypair;
  wallet: string;
  token: string;
  jti: string;
  /** X-API-Key plus the wallet's bearer token. */
  headers: Record<string, string>;
}

/** Signs a base64 challenge with the given keys, as a wallet would. */
export function signChallenge(xdr: string, signers: Keypair[], networkPassphrase: string = Networks.TESTNET): string {
  const tx = new Transaction(xdr, networkPassphrase);
  for (const signer of signers) tx.sign(signer);
  return tx.toEnvelope().toXDR('base64');
}

/** The full SEP-10 round trip over HTTP: challenge, sign with the wallet's key, exchange for a token. */
export async function signIn(app: App, keypair: Keypair = Keypair.random()): Promise<WalletSession> {
  const challenge = await request(app).get('/api/auth/challenge').query({ account: keypair.publicKey() }).set(client);
  expect(challenge.status).toBe(200);
  const token = await request(app)
    .post('/api/auth/token')
    .set(client)
    .send({ transaction: signChallenge(challenge.body.data.transaction, [keypair], challenge.body.data.networkPassphrase) });
  expect(token.status).toBe(200);
  return {
    keypair,
    wallet: keypair.publicKey(),
    token: token.body.data.token,
    jti: token.body.data.jti,
    headers: { ...client, authorization: `Bearer ${token.body.data.token}` },
  };
}
