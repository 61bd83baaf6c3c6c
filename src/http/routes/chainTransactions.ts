import type { Request, Response } from 'express';
import { StrKey } from '@stellar/stellar-sdk';
import { z } from 'zod';
import { chainTransactionToJson, type ChainTransaction } from '../../domain/chainTransaction.js';
import { creditLineToJson } from '../../domain/serialization.js';
import type { ChainTransactionService } from '../../services/chain/chainTransactionService.js';
import type { CreditLineService, RequestMeta } from '../../services/creditLineService.js';
import { storeResponseWithin } from '../atomicResponse.js';
import { sendData } from '../envelope.js';
import { amountSchema, interestRateBpsSchema, paginationSchema, parse, stellarAddressSchema, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const contractIdSchema = z.string().refine((v) => StrKey.isValidContract(v), { message: 'must be a contract address (C...)' });
const openOnChainBody = z.strictObject({
  walletAddress: stellarAddressSchema,
  creditLimit: amountSchema.optional(),
  interestRateBps: interestRateBpsSchema.optional(),
  contractId: contractIdSchema.optional(),
});
const bindBody = z.strictObject({ contractId: contractIdSchema.optional() });
const submitBody = z.strictObject({
  signedXdr: z.string({ error: 'must be the signed transaction envelope, base64' }).min(1, { error: 'must be the signed transaction envelope, base64' }).max(20_000, { error: 'must be at most 20000 characters' }),
});

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId, wallet: res.locals.wallet });
const id = (req: Request) => parse(uuidParam, req.params, 'params').id;

/** Acting on the Credit contract: opening and binding lines on chain, and the transactions that carry changes. */
export function chainTransactionRoutes(chain: ChainTransactionService | undefined, creditLines: CreditLineService, networkPassphrase: string): RouteDefinition[] {
  const toJson = (tx: ChainTransaction) => chainTransactionToJson(tx, networkPassphrase);
  const required = (): ChainTransactionService => {
    if (!chain) throw creditLines.chainUnavailable();
    return chain;
  };
  return [
    {
      method: 'post',
      path: '/api/credit/lines/chain',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const body = parse(openOnChainBody, req.body, 'body');
        const tx = await creditLines.openOnChain(body, meta(res), storeResponseWithin(res, 202, toJson));
        sendData(res, 202, toJson(tx));
      },
    },
    {
      method: 'post',
      path: '/api/credit/lines/:id/bind',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const lineId = id(req);
        const { contractId } = parse(bindBody, req.body ?? {}, 'body');
        const line = await creditLines.bindToChain(lineId, contractId, meta(res), storeResponseWithin(res, 200, creditLineToJson));
        sendData(res, 200, creditLineToJson(line));
      },
    },
    {
      method: 'get',
      path: '/api/credit/lines/:id/chain-transactions',
      access: 'client',
      async handler(req, res) {
        const line = await creditLines.get(id(req), meta(res));
        const page = await required().listForLine(line, parse(paginationSchema, req.query, 'query'));
        sendData(res, 200, { items: page.items.map(toJson), nextCursor: page.nextCursor });
      },
    },
    {
      method: 'get',
      path: '/api/credit/transactions/:id',
      access: 'client',
      async handler(req, res) {
        sendData(res, 200, toJson(await required().get(id(req), meta(res))));
      },
    },
    {
      method: 'post',
      path: '/api/credit/transactions/:id/submit',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const txId = id(req);
        const { signedXdr } = parse(submitBody, req.body, 'body');
        const tx = await required().submitSigned(txId, signedXdr, meta(res), storeResponseWithin(res, 202, toJson));
        sendData(res, 202, toJson(tx));
      },
    },
  ];
}
