import type { Request, Response } from 'express';
import { z } from 'zod';
import { chainTransactionToJson } from '../../domain/chainTransaction.js';
import { creditLineToJson, riskEvaluationSummaryToJson, riskEvaluationToJson } from '../../domain/serialization.js';
import type { AppliedEvaluation, CreditLineService, RequestMeta } from '../../services/creditLineService.js';
import type { EvaluationResult, RiskService } from '../../services/riskService.js';
import type { Repositories } from '../../repositories/repositories.js';
import { storeResponseWithin } from '../atomicResponse.js';
import { sendData } from '../envelope.js';
import { paginationSchema, parse, stellarAddressSchema, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const evaluateBody = z.strictObject({
  walletAddress: stellarAddressSchema,
  forceRefresh: z.boolean({ error: 'must be true or false' }).optional(),
});
const walletParam = z.strictObject({ walletAddress: stellarAddressSchema });

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId, wallet: res.locals.wallet });
const evaluationId = (req: Request) => parse(uuidParam, req.params, 'params').id;

const evaluationResultToJson = (result: EvaluationResult) => ({ ...riskEvaluationToJson(result.evaluation), cached: result.cached });
/** A bound line's terms are carried by an update_risk_parameters transaction: 202 with it, the line as it stands. */
const appliedStatus = (result: AppliedEvaluation) => (result.chainTransaction ? 202 : 200);

export function riskRoutes(risk: RiskService, creditLines: CreditLineService, networkPassphrase: string): RouteDefinition[] {
  const appliedToJson = (result: AppliedEvaluation) => ({
    creditLine: creditLineToJson(result.line),
    evaluation: riskEvaluationToJson(result.evaluation),
    ...(result.chainTransaction && { chainTransaction: chainTransactionToJson(result.chainTransaction, networkPassphrase) }),
  });
  return [
    {
      method: 'post',
      path: '/api/risk/evaluate',
      access: 'client',
      idempotent: true,
      rateLimitGroup: 'risk-evaluate',
      async handler(req, res) {
        const { walletAddress, forceRefresh = false } = parse(evaluateBody, req.body, 'body');
        // Only with an Idempotency-Key is there a response to store with the evaluation (a cached answer then
        // needs no transaction at all).
        const store = (status: number) => storeResponseWithin(res, status, evaluationResultToJson);
        const within = res.locals.idempotency ? (repos: Repositories, result: EvaluationResult) => store(result.cached ? 200 : 201)!(repos, result) : undefined;
        const result = await risk.evaluate(walletAddress, forceRefresh, meta(res), within);
        sendData(res, result.cached ? 200 : 201, evaluationResultToJson(result));
      },
    },
    {
      method: 'get',
      path: '/api/risk/evaluations/:id',
      access: 'client',
      async handler(req, res) {
        sendData(res, 200, riskEvaluationToJson(await risk.get(evaluationId(req), meta(res))));
      },
    },
    {
      method: 'get',
      path: '/api/risk/wallet/:walletAddress/history',
      access: 'client',
      async handler(req, res) {
        const { walletAddress } = parse(walletParam, req.params, 'params');
        const page = await risk.history(walletAddress, parse(paginationSchema, req.query, 'query'), meta(res));
        sendData(res, 200, { items: page.items.map(riskEvaluationSummaryToJson), nextCursor: page.nextCursor });
      },
    },
    {
      method: 'post',
      path: '/api/risk/evaluations/:id/apply',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const id = evaluationId(req);
        const result = await creditLines.applyEvaluation(id, meta(res), storeResponseWithin(res, appliedStatus, appliedToJson));
        sendData(res, appliedStatus(result), appliedToJson(result));
      },
    },
  ];
}
