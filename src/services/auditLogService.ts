import { pageBySeq, type PageRequest, type PageResult } from '../lib/cursor.js';
import type { AuditEntry, AuditLogRepository } from '../repositories/repositories.js';

/** Read side of the admin audit log; entries are written by the services, inside their transactions. */
export class AuditLogService {
  constructor(private readonly audit: AuditLogRepository) {}

  list(filter: { targetType?: string; targetId?: string }, page: PageRequest): Promise<PageResult<AuditEntry>> {
    return pageBySeq(page, (p) => this.audit.list(filter, p));
  }
}
