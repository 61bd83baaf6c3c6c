import { z } from 'zod';
import type { AuditEntry } from '../../repositories/repositories.js';
import type { AuditLogService } from '../../services/auditLogService.js';
import { sendData } from '../envelope.js';
import { paginationSchema, parse } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const auditQuery = paginationSchema.extend({
  targetType: z.string().max(64).optional(),
  targetId: z.string().max(128).optional(),
});

const auditToJson = (entry: AuditEntry) => ({
  id: entry.id,
  actor: entry.actor,
  action: entry.action,
  targetType: entry.targetType,
  targetId: entry.targetId,
  before: entry.before,
  after: entry.after,
  requestId: entry.requestId,
  createdAt: entry.createdAt.toISOString(),
});

/** Admin: who did what to which record, and what it looked like before and after. */
export function auditLogRoutes(audit: AuditLogService): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/admin/audit-log',
      access: 'admin',
      async handler(req, res) {
        const { limit, cursor, ...filter } = parse(auditQuery, req.query, 'query');
        const page = await audit.list(filter, { limit, cursor });
        sendData(res, 200, { items: page.items.map(auditToJson), nextCursor: page.nextCursor });
      },
    },
  ];
}
