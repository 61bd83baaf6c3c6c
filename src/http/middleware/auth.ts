import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../../domain/errors.js';
import { keyFingerprint, type KeyRing } from '../../lib/apiKeys.js';
import type { Actor } from '../../services/creditLineService.js';

declare module 'express-serve-static-core' {
  interface Locals {
    actor?: Actor;
  }
}

export type Access = 'public' | 'client' | 'admin';

export interface KeyRings {
  client: KeyRing;
  admin: KeyRing;
}

/** Identifies the caller from `X-Admin-Api-Key` or `X-API-Key`; admins may also call client routes. */
export function identify(keys: KeyRings, req: Request): Actor | undefined {
  const adminKey = req.get('x-admin-api-key');
  if (adminKey !== undefined && keys.admin.matches(adminKey)) return { kind: 'admin', id: keyFingerprint(adminKey) };
  const clientKey = req.get('x-api-key');
  if (clientKey !== undefined && keys.client.matches(clientKey)) return { kind: 'client', id: keyFingerprint(clientKey) };
  return undefined;
}

export function requireAccess(access: Access, keys: KeyRings) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (access === 'public') return next();
    const actor = res.locals.actor ?? identify(keys, req);
    if (access === 'admin') {
      if (actor?.kind === 'admin') return next(withActor(res, actor));
      if (actor?.kind === 'client') throw new ForbiddenError('admin_required', 'This route needs an admin key in X-Admin-Api-Key');
      throw new UnauthorizedError('unauthorized', 'Missing or invalid X-Admin-Api-Key');
    }
    if (actor) return next(withActor(res, actor));
    throw new UnauthorizedError('unauthorized', 'Missing or invalid X-API-Key');
  };
}

function withActor(res: Response, actor: Actor): undefined {
  res.locals.actor = actor;
  return undefined;
}
