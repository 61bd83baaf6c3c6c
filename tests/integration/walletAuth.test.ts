import { Keypair, Networks, StrKey, WebAuth } from '@stellar/stellar-sdk';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, client, createTestApp, type TestApp } from '../support/app.js';
import { STORAGE_KINDS } from '../support/databases.js';
import { FakeHorizon } from '../support/fakeHorizon.js';
import { signChallenge, signIn } from '../support/wallets.js';

const SIGNING_SECRET = Keypair.random().secret();
const JWT_SECRET = 'a-test-jwt-secret-of-at-least-32-characters';

describe.each(STORAGE_KINDS)('wallet authentication (SEP-10) on %s', (kind) => {
  let t: TestApp;
  const horizon = new FakeHorizon();
  let now = new Date();
  beforeAll(async () => {
    const horizonUrl = await horizon.start();
    t = await createTestApp(
      kind,
      {
        WALLET_AUTH: 'required',
        AUTH_SIGNING_SECRET: SIGNING_SECRET,
        AUTH_JWT_SECRET: JWT_SECRET,
        AUTH_HOME_DOMAIN: 'creditra.test',
        AUTH_WEB_AUTH_DOMAIN: 'api.creditra.test',
        HORIZON_URL: horizonUrl,
      },
      { clock: () => now },
    );
  });
  afterAll(async () => {
    await t.close();
    await horizon.stop();
  });

  const challengeFor = async (account: string) => {
    const res = await request(t.app).get('/api/auth/challenge').query({ account }).set(client);
    expect(res.status).toBe(200);
    return res.body.data as { transaction: string; networkPassphrase: string; expiresAt: string };
  };
  const exchange = (transaction: string) => request(t.app).post('/api/auth/token').set(client).send({ transaction });
  const openLineFor = async (session: { wallet: string; headers: Record<string, string> }) => {
    const res = await request(t.app).post('/api/credit/lines').set(session.headers).send({ walletAddress: session.wallet, creditLimit: '100' });
    expect(res.status).toBe(201);
    return res.body.data.id as string;
  };

  it('issues a challenge signed by the server for the account, valid for 5 minutes', async () => {
    const account = Keypair.random().publicKey();
    const challenge = await challengeFor(account);
    expect(challenge.networkPassphrase).toBe(Networks.TESTNET);
    const read = WebAuth.readChallengeTx(challenge.transaction, Keypair.fromSecret(SIGNING_SECRET).publicKey(), Networks.TESTNET, 'creditra.test', 'api.creditra.test');
    expect(read.clientAccountID).toBe(account);
    expect(new Date(challenge.expiresAt).getTime() - now.getTime()).toBe(300_000);
  });

  it('lets the owner open a line and draw with the token; a token for another wallet is 403', async () => {
    const owner = await signIn(t.app);
    const lineId = await openLineFor(owner);
    const draw = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(owner.headers).send({ amount: '10' });
    expect(draw.status).toBe(200);

    const stranger = await signIn(t.app);
    const stolen = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(stranger.headers).send({ amount: '10' });
    expect(stolen.status).toBe(403);
    expect(stolen.body.error.code).toBe('wallet_forbidden');
    const repay = await request(t.app).post(`/api/credit/lines/${lineId}/repay`).set(stranger.headers).send({ amount: '1' });
    expect(repay.status).toBe(403);
    const openForOther = await request(t.app).post('/api/credit/lines').set(stranger.headers).send({ walletAddress: owner.wallet, creditLimit: '1' });
    expect(openForOther.status).toBe(403);

    // Reads: the client key alone may read; a presented token must be the owner's.
    expect((await request(t.app).get(`/api/credit/lines/${lineId}`).set(client)).status).toBe(200);
    expect((await request(t.app).get(`/api/credit/lines/${lineId}`).set(owner.headers)).status).toBe(200);
    expect((await request(t.app).get(`/api/credit/lines/${lineId}/transactions`).set(stranger.headers)).status).toBe(403);
    expect((await request(t.app).get(`/api/credit/wallet/${owner.wallet}/lines`).set(stranger.headers)).status).toBe(403);
  });

  it('refuses borrower actions without a token (401 wallet_auth_required), even with an admin key', async () => {
    const owner = await signIn(t.app);
    const lineId = await openLineFor(owner);
    const bare = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(client).send({ amount: '1' });
    expect(bare.status).toBe(401);
    expect(bare.body.error.code).toBe('wallet_auth_required');
    expect((await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(admin).send({ amount: '1' })).status).toBe(401);
    expect((await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '1' })).status).toBe(401);
  });

  it('refuses a challenge signed by the wrong key', async () => {
    const account = Keypair.random();
    const challenge = await challengeFor(account.publicKey());
    const res = await exchange(signChallenge(challenge.transaction, [Keypair.random()]));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('challenge_signature_invalid');
  });

  it('refuses a challenge used twice', async () => {
    const account = Keypair.random();
    const signed = signChallenge((await challengeFor(account.publicKey())).transaction, [account]);
    expect((await exchange(signed)).status).toBe(200);
    const replay = await exchange(signed);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('challenge_replayed');
  });

  it('refuses an expired challenge', async () => {
    const account = Keypair.random();
    const signed = signChallenge((await challengeFor(account.publicKey())).transaction, [account]);
    const issuedAt = now;
    now = new Date(issuedAt.getTime() + 301_000);
    try {
      const res = await exchange(signed);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('challenge_expired');
    } finally {
      now = issuedAt;
    }
  });

  it('refuses a challenge built for another home domain, and one this server never issued', async () => {
    const account = Keypair.random();
    const server = Keypair.fromSecret(SIGNING_SECRET);
    const otherDomain = WebAuth.buildChallengeTx(server, account.publicKey(), 'evil.example', 300, Networks.TESTNET, 'api.creditra.test');
    const res = await exchange(signChallenge(otherDomain, [account]));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('challenge_invalid');

    const unsaved = WebAuth.buildChallengeTx(server, account.publicKey(), 'creditra.test', 300, Networks.TESTNET, 'api.creditra.test');
    const unknown = await exchange(signChallenge(unsaved, [account]));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('challenge_unknown');
  });

  it('refuses a tampered challenge (a signature no longer matches the transaction)', async () => {
    const account = Keypair.random();
    const challenge = await challengeFor(account.publicKey());
    const signed = signChallenge(challenge.transaction, [account]);
    const bytes = Buffer.from(signed, 'base64');
    bytes[bytes.length - 70] = (bytes[bytes.length - 70] ?? 0) ^ 0xff;
    const res = await exchange(bytes.toString('base64'));
    expect(res.status).toBe(401);
  });

  it('checks a multi-signer account against its medium threshold read from Horizon', async () => {
    const account = Keypair.random();
    const cosigner = Keypair.random();
    horizon.accounts.set(account.publicKey(), {
      signers: [
        { key: account.publicKey(), weight: 1 },
        { key: cosigner.publicKey(), weight: 1 },
      ],
      thresholds: { low: 1, med: 2, high: 2 },
    });
    const below = await exchange(signChallenge((await challengeFor(account.publicKey())).transaction, [account]));
    expect(below.status).toBe(401);
    expect(below.body.error.code).toBe('insufficient_signers');
    const enough = await exchange(signChallenge((await challengeFor(account.publicKey())).transaction, [account, cosigner]));
    expect(enough.status).toBe(200);
    expect(enough.body.data.account).toBe(account.publicKey());
  });

  it('falls back to the master key when Horizon is unreachable', async () => {
    horizon.down();
    try {
      const session = await signIn(t.app);
      expect(session.token).toBeTruthy();
    } finally {
      horizon.up();
    }
  });

  it('refuses a token that expired, was tampered with, or was revoked by an admin', async () => {
    const session = await signIn(t.app);
    const lineId = await openLineFor(session);
    const tampered = `${session.token.slice(0, -2)}xx`;
    const bad = await request(t.app).get(`/api/credit/lines/${lineId}`).set({ ...client, authorization: `Bearer ${tampered}` });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('token_invalid');
    expect((await request(t.app).get(`/api/credit/lines/${lineId}`).set({ ...client, authorization: 'Basic abc' })).status).toBe(401);

    const issuedAt = now;
    now = new Date(issuedAt.getTime() + 901_000 + 30_000);
    try {
      const expired = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(session.headers).send({ amount: '1' });
      expect(expired.status).toBe(401);
      expect(expired.body.error.code).toBe('token_expired');
    } finally {
      now = issuedAt;
    }

    const revoke = await request(t.app).post('/api/auth/revocations').set(admin).send({ jti: session.jti, reason: 'device lost' });
    expect(revoke.status).toBe(201);
    const revoked = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(session.headers).send({ amount: '1' });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('token_revoked');
    expect((await request(t.app).post('/api/auth/revocations').set(client).send({ jti: session.jti })).status).toBe(403);
  });

  it('lets the bound controller act for a contract wallet, and nobody else', async () => {
    const controller = await signIn(t.app);
    const contractWallet = StrKey.encodeContract(Keypair.random().rawPublicKey());
    const before = await request(t.app).post('/api/credit/lines').set(controller.headers).send({ walletAddress: contractWallet, creditLimit: '5' });
    expect(before.status).toBe(403);
    const bind = await request(t.app).put(`/api/auth/contract-wallets/${contractWallet}`).set(admin).send({ controllerAccount: controller.wallet });
    expect(bind.status).toBe(200);
    const opened = await request(t.app).post('/api/credit/lines').set(controller.headers).send({ walletAddress: contractWallet, creditLimit: '5' });
    expect(opened.status).toBe(201);
    expect((await request(t.app).post(`/api/credit/lines/${opened.body.data.id}/draw`).set(controller.headers).send({ amount: '1' })).status).toBe(200);
    const unbind = await request(t.app).delete(`/api/auth/contract-wallets/${contractWallet}`).set(admin);
    expect(unbind.body.data.removed).toBe(true);
    expect((await request(t.app).post(`/api/credit/lines/${opened.body.data.id}/draw`).set(controller.headers).send({ amount: '1' })).status).toBe(403);
    expect((await request(t.app).get('/api/auth/challenge').query({ account: contractWallet }).set(client)).status).toBe(400);
  });

  it('scopes Idempotency-Key per wallet: a refused 401 is not stored, and a stored draw is never replayed without the token', async () => {
    const owner = await signIn(t.app);
    const lineId = await openLineFor(owner);
    const key = { 'Idempotency-Key': `wallet-scope-${lineId}` };
    const refused = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set({ ...client, ...key }).send({ amount: '3' });
    expect(refused.status).toBe(401);
    const drawn = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set({ ...owner.headers, ...key }).send({ amount: '3' });
    expect(drawn.status).toBe(200);
    expect(drawn.headers['idempotency-replayed']).toBeUndefined();
    const withoutToken = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set({ ...client, ...key }).send({ amount: '3' });
    expect(withoutToken.status).toBe(401);
    const replay = await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set({ ...owner.headers, ...key }).send({ amount: '3' });
    expect(replay.headers['idempotency-replayed']).toBe('true');
    expect((await request(t.app).get(`/api/credit/lines/${lineId}`).set(client)).body.data.utilized).toBe('3.0000000');
  });

  it('reports the wallet-auth mode in /health/ready', async () => {
    const ready = await request(t.app).get('/health/ready');
    expect(ready.body.data.details).toEqual({ walletAuth: 'required' });
  });

  it('keeps tokens, secrets and full addresses out of the logs', async () => {
    const session = await signIn(t.app);
    await openLineFor(session);
    t.container.logger.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(t.logs.text).not.toContain(session.token);
    expect(t.logs.text).not.toContain(session.wallet);
    expect(t.logs.text).not.toContain(SIGNING_SECRET);
    expect(t.logs.text).not.toContain(JWT_SECRET);
  });
});
