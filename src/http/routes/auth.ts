import { z } from 'zod';
import type { WalletAuthService } from '../../services/walletAuthService.js';
import type { RequestMeta } from '../../services/creditLineService.js';
import type { Response } from 'express';
import { sendData } from '../envelope.js';
import { parse } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';
import { StrKey } from '@stellar/stellar-sdk';

const challengeQuery = z.strictObject({ account: z.string({ error: 'is required: the G... account to authenticate' }).min(1) });
const tokenBody = z.strictObject({ transaction: z.string({ error: 'must be the signed challenge transaction (base64 XDR)' }).min(1).max(20_000) });
const revokeBody = z.strictObject({ jti: z.string().min(1).max(128), reason: z.string().max(500).optional() });
const contractParam = z.strictObject({
  contractAddress: z.string().refine(StrKey.isValidContract, { message: 'must be a contract address (C...)', params: { rule: 'stellar_address' } }),
});
const bindBody = z.strictObject({
  controllerAccount: z.string().refine(StrKey.isValidEd25519PublicKey, { message: 'must be a Stellar account (G...)', params: { rule: 'stellar_address' } }),
});

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId });

/** SEP-10 wallet authentication, token revocation and contract-wallet controllers. */
export function authRoutes(auth: WalletAuthService): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/auth/challenge',
      access: 'client',
      rateLimitGroup: 'auth',
      async handler(req, res) {
        const { account } = parse(challengeQuery, req.query, 'query');
        const challenge = await auth.challenge(account);
        sendData(res, 200, { ...challenge, expiresAt: challenge.expiresAt.toISOString() });
      },
    },
    {
      method: 'post',
      path: '/api/auth/token',
      access: 'client',
      rateLimitGroup: 'auth',
      async handler(req, res) {
        const { transaction } = parse(tokenBody, req.body, 'body');
        const issued = await auth.exchange(transaction);
        sendData(res, 200, { token: issued.token, tokenType: 'Bearer', jti: issued.jti, account: issued.account, expiresAt: issued.expiresAt.toISOString() });
      },
    },
    {
      method: 'post',
      path: '/api/auth/revocations',
      access: 'admin',
      async handler(req, res) {
        const { jti, reason } = parse(revokeBody, req.body, 'body');
        const revoked = await auth.revoke(jti, meta(res), reason);
        sendData(res, 201, { jti: revoked.jti, revokedAt: revoked.revokedAt.toISOString() });
      },
    },
    {
      method: 'put',
      path: '/api/auth/contract-wallets/:contractAddress',
      access: 'admin',
      async handler(req, res) {
        const { contractAddress } = parse(contractParam, req.params, 'params');
        const { controllerAccount } = parse(bindBody, req.body, 'body');
        await auth.bindContractWallet(contractAddress, controllerAccount, meta(res));
        sendData(res, 200, { contractAddress, controllerAccount });
      },
    },
    {
      method: 'delete',
      path: '/api/auth/contract-wallets/:contractAddress',
      access: 'admin',
      async handler(req, res) {
        const { contractAddress } = parse(contractParam, req.params, 'params');
        sendData(res, 200, { contractAddress, removed: await auth.unbindContractWallet(contractAddress, meta(res)) });
      },
    },
  ];
}
