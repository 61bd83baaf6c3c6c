import cors from 'cors';
import express, { type RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { Container } from './container.js';
import { identify, requireAccess } from './http/middleware/auth.js';
import { errorHandler, notFound } from './http/middleware/errors.js';
import { idempotency } from './http/middleware/idempotency.js';
import { requireJsonBody } from './http/middleware/jsonOnly.js';
import { rateLimit } from './http/middleware/rateLimit.js';
import { requestContext } from './http/middleware/requestContext.js';
import { walletToken } from './http/middleware/walletToken.js';
import type { RouteDefinition } from './http/route.js';
import { auditLogRoutes } from './http/routes/auditLog.js';
import { authRoutes } from './http/routes/auth.js';
import { chainRoutes } from './http/routes/chain.js';
import { jobRoutes } from './http/routes/jobs.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { chainTransactionRoutes } from './http/routes/chainTransactions.js';
import { creditLineRoutes } from './http/routes/creditLines.js';
import { riskRoutes } from './http/routes/risk.js';
import { collateralRoutes } from './http/routes/collateral.js';
import { riskEngineRoutes } from './http/routes/riskEngine.js';
import { repaymentRoutes } from './http/routes/repayments.js';
import { docsRoutes } from './http/routes/docs.js';
import { operationsRoutes } from './http/routes/operations.js';

export const BODY_LIMIT = '100kb';

/** Every route the app mounts, in one table (the OpenAPI test reads the same table). */
export function routeTable(container: Container): RouteDefinition[] {
  return [
    ...operationsRoutes(container.services.health, container.metrics),
    ...docsRoutes(container.openApi),
    ...chainTransactionRoutes(container.services.chainTransactions, container.services.creditLines, container.config.stellar.networkPassphrase),
    ...creditLineRoutes(container.services.creditLines, container.config.stellar.networkPassphrase),
    ...riskRoutes(container.services.risk, container.services.creditLines, container.config.stellar.networkPassphrase),
    ...collateralRoutes(container.services.collateralAssets, container.services.prices, container.services.collateral),
    ...riskEngineRoutes(container.services.riskEngine, container.services.executions, container.services.cardCredit),
    ...repaymentRoutes(container.services.schedules, container.services.repayments, container.services.settlements),
    ...auditLogRoutes(container.services.auditLog),
    ...authRoutes(container.services.walletAuth),
    ...webhookRoutes(container.services.webhooks),
    ...jobRoutes(container.services.jobs),
    ...chainRoutes(container.services.indexer, container.services.reconciliation),
  ];
}

/** Builds the Express app without listening, so tests drive it in-process with supertest. */
export function createApp(container: Container): express.Express {
  const { config, keys, limiter } = container;
  const app = express();
  app.disable('x-powered-by');
  // Balances change under the client's feet: a weak ETag per response is hashing work nobody revalidates with.
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');

  app.use(requestContext(container.logger, container.metrics));
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  app.use(
    cors({
      origin: [...config.corsOrigins],
      allowedHeaders: ['Content-Type', 'X-API-Key', 'X-Admin-Api-Key', 'Idempotency-Key', 'X-Request-Id', 'Authorization'],
      exposedHeaders: ['X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'Idempotency-Replayed'],
    }),
  );
  // Raw-body routes (provider webhooks) are mounted before the JSON parser: their signature covers the exact bytes.
  const routes = routeTable(container);
  for (const route of routes.filter((r) => r.rawBody)) {
    app[route.method](route.path, express.raw({ type: () => true, limit: BODY_LIMIT }), route.handler as RequestHandler);
  }
  app.use(requireJsonBody);
  app.use(express.json({ limit: BODY_LIMIT }));

  // Before the route table: Express 5 lets GET /docs (the redirect) also match /docs/.
  app.use('/docs/', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/docs.json' }, customSiteTitle: 'Creditra API' }));

  const idempotent = idempotency(container.services.idempotency);
  const bearer = walletToken(container.services.walletAuth);
  const whoIs = (req: express.Request) => identify(keys, req);
  for (const route of routes.filter((r) => !r.rawBody)) {
    const chain: RequestHandler[] = [];
    if (route.access !== 'public') {
      const group = route.rateLimitGroup ?? route.access;
      chain.push(rateLimit(limiter, group, config.rateLimit.overrides[group] ?? config.rateLimit.perMinute, whoIs));
    }
    chain.push(requireAccess(route.access, keys));
    if (route.access === 'client') chain.push(bearer);
    if (route.idempotent) chain.push(idempotent);
    app[route.method](route.path, ...chain, route.handler as RequestHandler);
  }
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
