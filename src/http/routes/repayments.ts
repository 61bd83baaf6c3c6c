import type { Request, Response } from 'express';
import { z } from 'zod';
import { formatPrice } from '../../domain/collateral/quantity.js';
import { formatAmount } from '../../domain/money.js';
import { formatFiat } from '../../domain/repayment/conversion.js';
import { REPAYMENT_STATUSES, type Repayment, type SettlementFinding, type SettlementRun } from '../../domain/repayment/records.js';
import { creditLineToJson } from '../../domain/serialization.js';
import type { RequestMeta } from '../../services/creditLineService.js';
import type { Initiated, RepaymentService } from '../../services/repayment/repaymentService.js';
import { statementToJson, type ScheduleService } from '../../services/repayment/scheduleService.js';
import type { SettlementService } from '../../services/repayment/settlementService.js';
import { storeResponseWithin } from '../atomicResponse.js';
import { sendData } from '../envelope.js';
import { paginationSchema, parse, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const initiateBody = z.strictObject({
  lineId: z.uuid({ error: 'must be a UUID' }),
  amount: z.string({ error: 'must be a decimal string such as "100.00"' }).regex(/^\d{1,20}(\.\d{1,14})?$/, { error: 'must be a decimal string such as "100.00"' }),
  currency: z.string().regex(/^[A-Za-z0-9]{3,12}$/, { error: 'must be a currency code such as "usd" (or the anchor asset, "USDC")' }),
});
const runBody = z
  .strictObject({
    from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
    to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
  })
  .refine((b) => (b.from === undefined) === (b.to === undefined) && (!b.from || new Date(b.from) < new Date(b.to!)), {
    message: 'from and to go together, from before to',
    params: { rule: 'window' },
  });

const listQuery = paginationSchema.extend({ status: z.enum(REPAYMENT_STATUSES, { error: `must be one of ${REPAYMENT_STATUSES.join(', ')}` }).optional() });

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId, wallet: res.locals.wallet });
const id = (req: Request) => parse(uuidParam, req.params, 'params').id;

export function repaymentToJson(r: Repayment) {
  const lineAsset = r.provider === 'anchor';
  return {
    id: r.id,
    creditLineId: r.creditLineId,
    walletAddress: r.walletAddress,
    provider: r.provider,
    providerRef: r.providerRef,
    status: r.status,
    currency: r.currency,
    /** What the user pays: fiat with the currency's decimals, or the line asset with 7. */
    paymentAmount: lineAsset ? formatAmount(r.fiatAmount) : formatFiat(r.fiatAmount, r.currency),
    fxRate: formatPrice(r.fxRate1e14),
    amount: formatAmount(r.amount),
    appliedAmount: formatAmount(r.appliedAmount),
    creditBalance: formatAmount(r.creditedAmount),
    reversedAmount: formatAmount(r.reversedAmount),
    failureReason: r.failureReason,
    parkedReason: r.parkedReason,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

const initiatedToJson = (i: Initiated) => ({ repayment: repaymentToJson(i.repayment), instructions: i.instructions });

const runToJson = (r: SettlementRun & { findings: SettlementFinding[] }) => ({
  id: r.id,
  windowFrom: r.windowFrom.toISOString(),
  windowTo: r.windowTo.toISOString(),
  status: r.status,
  chargesChecked: r.chargesChecked,
  payoutsChecked: r.payoutsChecked,
  findingCount: r.findingCount,
  error: r.error,
  startedAt: r.startedAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
  findings: r.findings.map((f) => ({ id: f.id, kind: f.kind, severity: f.severity, providerRef: f.providerRef, repaymentId: f.repaymentId, expected: f.expected, actual: f.actual, createdAt: f.createdAt.toISOString() })),
});

/** Repayment schedules and fiat repayments through the payment provider (and the anchor). */
export function repaymentRoutes(schedules: ScheduleService, repayments: RepaymentService, settlements: SettlementService): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/credit/lines/:id/schedule',
      access: 'client',
      async handler(req, res) {
        const schedule = await schedules.schedule(id(req), meta(res));
        sendData(res, 200, {
          creditLine: creditLineToJson(schedule.line),
          standing: schedule.standing,
          daysPastDue: schedule.daysPastDue,
          nextDue: schedule.nextDue && statementToJson(schedule.nextDue),
          statements: schedule.statements.map(statementToJson),
        });
      },
    },
    {
      method: 'post',
      path: '/api/repayment/initiate',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const body = parse(initiateBody, req.body, 'body');
        const initiated = await repayments.initiate({ ...body, idempotencyKey: req.get('idempotency-key') }, meta(res), storeResponseWithin(res, 201, initiatedToJson));
        sendData(res, 201, initiatedToJson(initiated));
      },
    },
    {
      method: 'post',
      path: '/api/repayment/webhook',
      access: 'public',
      rawBody: true,
      async handler(req, res) {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        sendData(res, 200, await repayments.handleWebhook(body, req.get('stripe-signature')));
      },
    },
    {
      method: 'get',
      path: '/api/repayment/reconciliation',
      access: 'admin',
      async handler(req, res) {
        const page = await settlements.list(parse(paginationSchema, req.query, 'query'));
        sendData(res, 200, { items: page.items.map(runToJson), nextCursor: page.nextCursor });
      },
    },
    {
      method: 'post',
      path: '/api/repayment/reconciliation/run',
      access: 'admin',
      async handler(req, res) {
        const { from, to } = parse(runBody, req.body, 'body');
        sendData(res, 201, runToJson(await settlements.run(from && to ? { from: new Date(from), to: new Date(to) } : undefined)));
      },
    },
    {
      method: 'get',
      path: '/api/repayment',
      access: 'admin',
      async handler(req, res) {
        const { status, ...page } = parse(listQuery, req.query, 'query');
        const result = await repayments.list({ status }, page);
        sendData(res, 200, { items: result.items.map(repaymentToJson), nextCursor: result.nextCursor });
      },
    },
    {
      method: 'get',
      path: '/api/repayment/:id',
      access: 'client',
      async handler(req, res) {
        sendData(res, 200, repaymentToJson(await repayments.get(id(req), meta(res))));
      },
    },
    {
      method: 'get',
      path: '/api/credit/lines/:id/repayments',
      access: 'client',
      async handler(req, res) {
        const lineId = id(req);
        const page = await repayments.listByLine(lineId, parse(paginationSchema, req.query, 'query'), meta(res));
        sendData(res, 200, { items: page.items.map(repaymentToJson), nextCursor: page.nextCursor });
      },
    },
  ];
}
