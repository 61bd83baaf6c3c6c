import type { Response } from 'express';
import { creditLineToJson } from '../../domain/serialization.js';
import type { RequestMeta } from '../../services/creditLineService.js';
import { statementToJson, type ScheduleService } from '../../services/repayment/scheduleService.js';
import { sendData } from '../envelope.js';
import { parse, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId, wallet: res.locals.wallet });

/** Repayment schedules (and, with the payment provider, fiat repayments). */
export function repaymentRoutes(schedules: ScheduleService): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/credit/lines/:id/schedule',
      access: 'client',
      async handler(req, res) {
        const schedule = await schedules.schedule(parse(uuidParam, req.params, 'params').id, meta(res));
        sendData(res, 200, {
          creditLine: creditLineToJson(schedule.line),
          standing: schedule.standing,
          daysPastDue: schedule.daysPastDue,
          nextDue: schedule.nextDue && statementToJson(schedule.nextDue),
          statements: schedule.statements.map(statementToJson),
        });
      },
    },
  ];
}
