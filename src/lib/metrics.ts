import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IndexerMetrics } from '../services/chainIndexer.js';
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

  private readonly chainEvents = new Counter({
    name: 'chain_events_ingested_total',
    help: 'Contract events ingested by the indexer, by outcome (applied, recorded, unknown, parked)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  private readonly chainGaps = new Counter({
    name: 'chain_gaps_total',
    help: 'History gaps detected (the node no longer had the ledgers after our cursor)',
    registers: [this.registry],
  });

  private readonly chainGapLedgers = new Counter({
    name: 'chain_gap_ledgers_total',
    help: 'Ledgers lost to history gaps',
    registers: [this.registry],
  });

  private readonly chainLastLedger = new Gauge({
    name: 'chain_indexer_last_ledger',
    help: 'The last ledger the indexer has covered',
    registers: [this.registry],
  });

  private readonly chainLag = new Gauge({
    name: 'chain_indexer_lag_ledgers',
    help: 'Ledgers between the node\'s latest ledger and the indexer\'s position',
    registers: [this.registry],
  });

  readonly indexer: IndexerMetrics = {
    ingested: (status, count) => this.chainEvents.inc({ status }, count),
    gap: (ledgers) => {
      this.chainGaps.inc();
      this.chainGapLedgers.inc(ledgers);
    },
    position: (lastLedger, latestLedger) => {
      this.chainLastLedger.set(lastLedger);
      this.chainLag.set(Math.max(latestLedger - lastLedger, 0));
    },
  };

  private readonly riskEvaluations = new Counter({
    name: 'risk_evaluations_total',
    help: 'Risk evaluations answered, by provider and whether an earlier evaluation was reused',
    labelNames: ['provider', 'cached'] as const,
    registers: [this.registry],
  });

  private readonly riskScores = new Histogram({
    name: 'risk_evaluation_score',
    help: 'Scores of new risk evaluations (0..100, higher is more creditworthy)',
    labelNames: ['provider'] as const,
    buckets: [10, 20, 35, 50, 65, 80, 90, 100],
    registers: [this.registry],
  });

  private readonly repaymentWebhooks = new Counter({
    name: 'repayment_webhooks_total',
    help: 'Payment-provider webhooks by outcome (applied, failed, reversed, parked, unmatched, ignored, duplicate, rejected)',
    labelNames: ['outcome'] as const,
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

  readonly repayments = {
    webhookRejected: (reason: string) => this.repaymentWebhooks.inc({ outcome: `rejected_${reason}` }),
    webhookProcessed: (outcome: string) => this.repaymentWebhooks.inc({ outcome }),
  };

  readonly risk = {
    evaluated: (provider: string, cached: boolean, score: number | null) => {
      this.riskEvaluations.inc({ provider, cached: String(cached) });
      if (score !== null) this.riskScores.observe({ provider }, score);
    },
  };
}

const toTokens = (units: bigint) => Number(units) / Number(UNITS_PER_TOKEN);
