import type { Request, Response } from 'express';
import { z } from 'zod';
import { EXECUTION_STATUSES } from '../../domain/collateral/records.js';
import type { CardCreditService } from '../../services/collateral/cardCreditService.js';
import type { ExecutionService } from '../../services/collateral/executionService.js';
import type { RiskEngine } from '../../services/collateral/riskEngine.js';
import type { RequestMeta } from '../../services/creditLineService.js';
import { storeResponseWithin } from '../atomicResponse.js';
import { sendData } from '../envelope.js';
import { amountSchema, paginationSchema, parse, stellarAddressSchema, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';
import { planToApiJson } from '../../domain/collateral/planView.js';
import { assessmentToJson, cardCreditToJson, executionToJson, stopLossToJson } from './collateralJson.js';

const walletParam = z.strictObject({ walletAddress: stellarAddressSchema });
const accountParam = z.strictObject({ accountId: stellarAddressSchema });
const userParam = z.strictObject({ userId: stellarAddressSchema });
const stopLossBody = z.strictObject({
  walletAddress: stellarAddressSchema,
  enabled: z.boolean({ error: 'must be true or false' }),
  assetPriority: z
    .array(z.string().regex(/^[A-Z0-9]{1,12}$/, { error: 'must be asset codes' }))
    .max(20)
    .refine((codes) => new Set(codes).size === codes.length, { message: 'must not list an asset twice', params: { rule: 'unique' } })
    .optional(),
  maxSlippageBps: z.number().int().min(0).max(5_000).nullable().optional(),
});
const liquidationBody = z.strictObject({ walletAddress: stellarAddressSchema, dryRun: z.boolean({ error: 'must be true or false' }).optional() });
const quantityString = z.string().regex(/^\d{1,30}(\.\d+)?$/, { error: 'must be a decimal string such as "125.5"' });
const fillBody = z.strictObject({
  collateralQuantity: quantityString,
  usdcAmount: amountSchema,
  reference: z.string().max(200).optional(),
});
const cancelBody = z.strictObject({ reason: z.string().max(500).optional() });
const executionsQuery = paginationSchema.extend({
  walletAddress: stellarAddressSchema.optional(),
  status: z.enum(EXECUTION_STATUSES, { error: `must be one of ${EXECUTION_STATUSES.join(', ')}` }).optional(),
});
const issueBody = z.strictObject({ walletAddress: stellarAddressSchema, creditLimit: amountSchema.optional() });

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId, wallet: res.locals.wallet });
const id = (req: Request) => parse(uuidParam, req.params, 'params').id;

/** The risk engine's API, and the card-credit endpoints the frontend uses. */
export function riskEngineRoutes(engine: RiskEngine, executions: ExecutionService, cardCredit: CardCreditService): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/risk/assessment/:accountId',
      access: 'client',
      async handler(req, res) {
        const { accountId } = parse(accountParam, req.params, 'params');
        sendData(res, 200, assessmentToJson(await engine.assess(accountId, meta(res))));
      },
    },
    {
      method: 'put',
      path: '/api/risk/stop-loss',
      access: 'client',
      async handler(req, res) {
        const body = parse(stopLossBody, req.body, 'body');
        sendData(res, 200, stopLossToJson(await engine.setStopLoss(body, meta(res))));
      },
    },
    {
      method: 'get',
      path: '/api/risk/stop-loss/:walletAddress',
      access: 'client',
      async handler(req, res) {
        const { walletAddress } = parse(walletParam, req.params, 'params');
        const settings = await engine.stopLoss(walletAddress, meta(res));
        sendData(res, 200, settings ? stopLossToJson(settings) : { walletAddress, enabled: false, assetPriority: [], maxSlippageBps: null, updatedAt: null });
      },
    },
    {
      method: 'post',
      path: '/api/risk/liquidation',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const { walletAddress, dryRun = false } = parse(liquidationBody, req.body, 'body');
        const { plan, execution } = await engine.liquidate(walletAddress, dryRun, meta(res));
        if (execution) sendData(res, 201, { dryRun: false, plan: planToApiJson(plan), execution: executionToJson(execution) });
        else sendData(res, 200, { dryRun: true, plan: planToApiJson(plan), execution: null });
      },
    },
    {
      method: 'get',
      path: '/api/risk/executions',
      access: 'admin',
      async handler(req, res) {
        const { limit, cursor, ...filter } = parse(executionsQuery, req.query, 'query');
        const page = await executions.list(filter, { limit, cursor });
        sendData(res, 200, { items: page.items.map(executionToJson), nextCursor: page.nextCursor });
      },
    },
    {
      method: 'get',
      path: '/api/risk/executions/:id',
      access: 'admin',
      async handler(req, res) {
        sendData(res, 200, executionToJson(await executions.get(id(req))));
      },
    },
    {
      method: 'post',
      path: '/api/risk/executions/:id/fill',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const executionId = id(req);
        const body = parse(fillBody, req.body, 'body');
        const filled = await executions.fill(executionId, body, meta(res), storeResponseWithin(res, 200, executionToJson));
        sendData(res, 200, executionToJson(filled));
      },
    },
    {
      method: 'post',
      path: '/api/risk/executions/:id/cancel',
      access: 'admin',
      async handler(req, res) {
        const executionId = id(req);
        const { reason } = parse(cancelBody, req.body, 'body');
        sendData(res, 200, executionToJson(await executions.cancel(executionId, reason, meta(res))));
      },
    },
    {
      method: 'post',
      path: '/api/credit/issue',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const { walletAddress, creditLimit } = parse(issueBody, req.body, 'body');
        const { credit, opened } = await cardCredit.issue(walletAddress, creditLimit, meta(res));
        sendData(res, opened ? 201 : 200, { ...cardCreditToJson(credit), opened });
      },
    },
    {
      method: 'get',
      path: '/api/credit/user/:userId',
      access: 'client',
      async handler(req, res) {
        const { userId } = parse(userParam, req.params, 'params');
        sendData(res, 200, { items: (await cardCredit.forUser(userId, meta(res))).map(cardCreditToJson) });
      },
    },
    {
      method: 'get',
      path: '/api/credit/:id',
      access: 'client',
      async handler(req, res) {
        sendData(res, 200, cardCreditToJson(await cardCredit.credit(id(req), meta(res))));
      },
    },
  ];
}
