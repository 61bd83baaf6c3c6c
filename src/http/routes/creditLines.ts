import { z } from 'zod';
import { CREDIT_LINE_STATUSES } from '../../domain/creditLine.js';
import { creditLineToJson, ledgerEntryToJson } from '../../domain/serialization.js';
import { chainTransactionToJson } from '../../domain/chainTransaction.js';
import type { CreditLine } from '../../domain/creditLine.js';
import { isChainSubmission, type ChainSubmission, type CreditLineService, type MovementResult, type RequestMeta } from '../../services/creditLineService.js';
import { storeResponseWithin } from '../atomicResponse.js';
import type { Request, Response } from 'express';
import { sendData } from '../envelope.js';
import { amountSchema, interestRateBpsSchema, paginationSchema, parse, stellarAddressSchema, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const openLineBody = z.strictObject({
  walletAddress: stellarAddressSchema,
  creditLimit: amountSchema.optional(),
  interestRateBps: interestRateBpsSchema.optional(),
  currency: z.string().regex(/^[A-Z0-9]{1,12}$/, { error: 'must be an asset code of 1 to 12 letters or digits' }).optional(),
});

const updateTermsBody = z
  .strictObject({ creditLimit: amountSchema.optional(), interestRateBps: interestRateBpsSchema.optional() })
  .refine((body) => body.creditLimit !== undefined || body.interestRateBps !== undefined, {
    message: 'must contain creditLimit or interestRateBps',
    params: { rule: 'at_least_one' },
  });

const amountBody = z.strictObject({ amount: amountSchema });
const reasonBody = z.strictObject({ reason: z.string().max(500, { error: 'must be at most 500 characters' }).optional() });
const listQuery = paginationSchema.extend({
  status: z.enum(CREDIT_LINE_STATUSES, { error: `must be one of ${CREDIT_LINE_STATUSES.join(', ')}` }).optional(),
  walletAddress: stellarAddressSchema.optional(),
});
const walletParam = z.strictObject({ walletAddress: stellarAddressSchema });

const movementToJson = (result: MovementResult) => ({ creditLine: creditLineToJson(result.line), transaction: ledgerEntryToJson(result.transaction) });

/**
 * A bound line's change answers 202 with the contract transaction that carries it (for a borrower's call, the
 * transaction to sign); a database-ledger line's answers 200 with the changed line.
 */
function presenters(networkPassphrase: string) {
  const submissionToJson = (result: ChainSubmission) => ({ creditLine: creditLineToJson(result.line), chainTransaction: chainTransactionToJson(result.chainTransaction, networkPassphrase) });
  const statusOf = (result: object) => (isChainSubmission(result) ? 202 : 200);
  return {
    statusOf,
    movement: (result: MovementResult | ChainSubmission) => (isChainSubmission(result) ? submissionToJson(result) : movementToJson(result)),
    line: (result: CreditLine | ChainSubmission) => (isChainSubmission(result) ? submissionToJson(result) : creditLineToJson(result)),
  };
}

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId, wallet: res.locals.wallet });
const lineId = (req: Request) => parse(uuidParam, req.params, 'params').id;

export function creditLineRoutes(service: CreditLineService, networkPassphrase: string): RouteDefinition[] {
  const present = presenters(networkPassphrase);
  const transition =
    (action: 'suspend' | 'reinstate' | 'close' | 'markDefaulted') => async (req: Request, res: Response) => {
      const id = lineId(req);
      const { reason } = parse(reasonBody, req.body, 'body');
      const result = await service[action](id, meta(res), reason, storeResponseWithin(res, present.statusOf, present.line));
      sendData(res, present.statusOf(result), present.line(result));
    };

  return [
    {
      method: 'post',
      path: '/api/credit/lines',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const body = parse(openLineBody, req.body, 'body');
        const line = await service.open(body, meta(res), storeResponseWithin(res, 201, creditLineToJson));
        sendData(res, 201, creditLineToJson(line));
      },
    },
    {
      method: 'get',
      path: '/api/credit/lines',
      access: 'client',
      async handler(req, res) {
        const { limit, cursor, ...filter } = parse(listQuery, req.query, 'query');
        const page = await service.list(filter, { limit, cursor }, meta(res));
        sendData(res, 200, { items: page.items.map(creditLineToJson), nextCursor: page.nextCursor });
      },
    },
    {
      method: 'get',
      path: '/api/credit/lines/:id',
      access: 'client',
      async handler(req, res) {
        sendData(res, 200, creditLineToJson(await service.get(lineId(req), meta(res))));
      },
    },
    {
      method: 'patch',
      path: '/api/credit/lines/:id',
      access: 'admin',
      async handler(req, res) {
        const id = lineId(req);
        const terms = parse(updateTermsBody, req.body, 'body');
        const result = await service.updateTerms(id, terms, meta(res), storeResponseWithin(res, present.statusOf, present.line));
        sendData(res, present.statusOf(result), present.line(result));
      },
    },
    {
      method: 'post',
      path: '/api/credit/lines/:id/draw',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const id = lineId(req);
        const { amount } = parse(amountBody, req.body, 'body');
        const result = await service.draw(id, amount, meta(res), storeResponseWithin(res, present.statusOf, present.movement));
        sendData(res, present.statusOf(result), present.movement(result));
      },
    },
    {
      method: 'post',
      path: '/api/credit/lines/:id/repay',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const id = lineId(req);
        const { amount } = parse(amountBody, req.body, 'body');
        const result = await service.repay(id, amount, meta(res), storeResponseWithin(res, present.statusOf, present.movement));
        sendData(res, present.statusOf(result), present.movement(result));
      },
    },
    {
      method: 'get',
      path: '/api/credit/lines/:id/transactions',
      access: 'client',
      async handler(req, res) {
        const id = lineId(req);
        const page = await service.transactions(id, parse(paginationSchema, req.query, 'query'), meta(res));
        sendData(res, 200, { items: page.items.map(ledgerEntryToJson), nextCursor: page.nextCursor });
      },
    },
    { method: 'post', path: '/api/credit/lines/:id/suspend', access: 'admin', idempotent: true, handler: transition('suspend') },
    { method: 'post', path: '/api/credit/lines/:id/reinstate', access: 'admin', idempotent: true, handler: transition('reinstate') },
    { method: 'post', path: '/api/credit/lines/:id/close', access: 'admin', idempotent: true, handler: transition('close') },
    { method: 'post', path: '/api/credit/lines/:id/default', access: 'admin', idempotent: true, handler: transition('markDefaulted') },
    {
      method: 'get',
      path: '/api/credit/wallet/:walletAddress/lines',
      access: 'client',
      async handler(req, res) {
        const { walletAddress } = parse(walletParam, req.params, 'params');
        const { limit, cursor } = parse(paginationSchema, req.query, 'query');
        const page = await service.list({ walletAddress }, { limit, cursor }, meta(res));
        sendData(res, 200, { items: page.items.map(creditLineToJson), nextCursor: page.nextCursor });
      },
    },
  ];
}
