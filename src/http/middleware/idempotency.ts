import type { NextFunction, Request, Response } from 'express';
import { ValidationError } from '../../domain/errors.js';
import { requestFingerprint, type IdempotencyService } from '../../services/idempotencyService.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Honours `Idempotency-Key` on POSTs that create or move money. Routes that change money store their
 * response inside the change's own transaction (storeResponseWithin); any other outcome (a refusal, an
 * error) is stored here before the response leaves, so a client that retries after a reply gets the replay.
 */
export function idempotency(service: IdempotencyService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.get('idempotency-key');
    if (key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      throw new ValidationError([{ field: 'Idempotency-Key', rule: 'format', message: 'must be 1 to 255 printable ASCII characters' }]);
    }
    // Scoped per API key and, when a wallet token is sent, per wallet: one wallet's stored response is never
    // replayed to a caller without that wallet's token.
    const principal = `${res.locals.actor?.kind ?? 'anonymous'}:${res.locals.actor?.id ?? 'none'}:${res.locals.wallet?.account ?? '-'}`;
    const outcome = await service.begin(principal, key, requestFingerprint(req.method, req.path, req.body));
    if (outcome.kind === 'replay') {
      res.setHeader('Idempotency-Replayed', 'true');
      res.status(outcome.response.status).json(outcome.response.body);
      return;
    }

    res.locals.idempotency = { principal, key, stored: false };
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      // Stored already, inside the transaction that made the change (see storeResponseWithin).
      if (res.locals.idempotency?.stored) return send(body);
      service
        .finish(principal, key, { status: res.statusCode, body })
        .catch((error: unknown) => res.locals.log.error({ err: error }, 'could not store idempotent response; the key stays in flight'))
        .finally(() => send(body));
      return res;
    };
    next();
  };
}
