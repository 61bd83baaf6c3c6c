import { randomUUID } from 'node:crypto';
import type { AuditEntry } from '../repositories/repositories.js';
import type { RequestMeta } from './creditLineService.js';

export const actorName = (meta: RequestMeta) => `${meta.actor.kind}:${meta.actor.id}`;

/** One audit row: who (the key's fingerprint), what, on which record, before and after, in which request. */
export function auditRow(
  meta: RequestMeta,
  action: string,
  target: { type: string; id: string },
  change: { before: Record<string, unknown> | null; after: Record<string, unknown> | null },
  at: Date,
  newId: () => string = randomUUID,
): Omit<AuditEntry, 'seq'> {
  return {
    id: newId(),
    actor: actorName(meta),
    action,
    targetType: target.type,
    targetId: target.id,
    before: change.before,
    after: change.after,
    requestId: meta.requestId ?? null,
    createdAt: at,
  };
}
