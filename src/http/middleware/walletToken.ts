import type { NextFunction, Request, Response } from 'express';
import { UnauthorizedError } from '../../domain/errors.js';
import type { WalletAuthService } from '../../services/walletAuthService.js';
import type { WalletPrincipal } from '../../services/walletOwnership.js';

declare module 'express-serve-static-core' {
  interface Locals {
    wallet?: WalletPrincipal;
  }
}

/**
 * Reads `Authorization: Bearer <token>` when present. A token that is sent must be valid (401 otherwise);
 * whether one is needed, and for which wallet, is the services' decision.
 */
export function walletToken(auth: WalletAuthService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header === undefined) return next();
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!match) throw new UnauthorizedError('token_invalid', 'Authorization must be "Bearer <token>"');
    res.locals.wallet = await auth.verifyToken(match[1]!);
    next();
  };
}
