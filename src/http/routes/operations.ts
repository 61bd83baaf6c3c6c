import type { Metrics } from '../../lib/metrics.js';
import type { HealthService } from '../../services/healthService.js';
import { errorBody } from '../envelope.js';
import { sendData } from '../envelope.js';
import type { RouteDefinition } from '../route.js';

/** Liveness, readiness and Prometheus metrics: public, never rate limited. */
export function operationsRoutes(health: HealthService, metrics: Metrics): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/health',
      access: 'public',
      handler: (_req, res) => sendData(res, 200, health.liveness()),
    },
    {
      method: 'get',
      path: '/health/ready',
      access: 'public',
      async handler(_req, res) {
        const report = await health.readiness();
        if (report.ready) return sendData(res, 200, report);
        res.status(503).json(errorBody('not_ready', 'A critical dependency is down', res.locals.requestId, report as unknown as Record<string, unknown>));
      },
    },
    {
      method: 'get',
      path: '/metrics',
      access: 'public',
      async handler(_req, res) {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    },
  ];
}
