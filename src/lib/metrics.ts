import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CreditMetrics } from '../services/creditLineService.js';
import { UNITS_PER_TOKEN } from '../domain/money.js';

/** One registry per process (and per app in tests), exposed at GET /metrics in Prometheus format. */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly linesOpened = new Counter({
    name: 'credit_lines_opened_total',
    help: 'Credit lines opened',
    registers: [this.registry],
  });

  private readonly amountDrawn = new Counter({
    name: 'credit_amount_drawn_total',
    help: 'Amount drawn, in whole tokens (a float view for dashboards; the ledger holds exact units)',
    registers: [this.registry],
  });

  private readonly amountRepaid = new Counter({
    name: 'credit_amount_repaid_total',
    help: 'Amount repaid, in whole tokens (a float view for dashboards; the ledger holds exact units)',
    registers: [this.registry],
  });

  constructor(options: { collectDefaults?: boolean } = {}) {
    if (options.collectDefaults) collectDefaultMetrics({ register: this.registry });
  }

  readonly credit: CreditMetrics = {
    lineOpened: () => this.linesOpened.inc(),
    drawn: (amount) => this.amountDrawn.inc(toTokens(amount)),
    repaid: (amount) => this.amountRepaid.inc(toTokens(amount)),
  };
}

const toTokens = (units: bigint) => Number(units) / Number(UNITS_PER_TOKEN);
