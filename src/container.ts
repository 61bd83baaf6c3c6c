import { randomBytes } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { hostname } from 'node:os';
import type { Config, WorkerName } from './config.js';
import type { Db } from './db/db.js';
import { migrate } from './db/migrator.js';
import { createPgliteDb } from './db/pgliteDb.js';
import { createPostgresDb } from './db/postgresDb.js';
import { checkSchema } from './db/schemaCheck.js';
import type { KeyRings } from './http/middleware/auth.js';
import { TokenBucketLimiter } from './http/middleware/rateLimit.js';
import { loadOpenApiDocument, type OpenApiDocument } from './http/routes/docs.js';
import { KeyRing } from './lib/apiKeys.js';
import { createLogger, type Logger } from './lib/logger.js';
import { Metrics } from './lib/metrics.js';
import { createMemoryStore } from './repositories/memory/memoryStore.js';
import { createSqlStore } from './repositories/postgres/postgresStore.js';
import type { Store } from './repositories/repositories.js';
import { AuditLogService } from './services/auditLogService.js';
import { CreditLineService } from './services/creditLineService.js';
import { HealthService } from './services/healthService.js';
import { IdempotencyService } from './services/idempotencyService.js';
import { JobService } from './services/jobService.js';
import { WalletAuthService } from './services/walletAuthService.js';
import { WebhookService } from './services/webhookService.js';
import { WebhookHttpSender } from './webhooks/httpSender.js';
import { Scheduler, type PeriodicWorker } from './workers/scheduler.js';
import { Backoff } from './lib/backoff.js';
import { ChainIndexer } from './services/chainIndexer.js';
import { ChainTransactionService } from './services/chain/chainTransactionService.js';
import { ContractSubmitter } from './stellar/contractSubmitter.js';
import { HorizonPaymentListener } from './services/horizonListener.js';
import { ReconciliationService } from './services/reconciliationService.js';
import { DEFAULT_RETRY_POLICY, SorobanRpcClient } from './stellar/sorobanRpc.js';
import { WalletOwnership } from './services/walletOwnership.js';
import { HorizonAccountSigners } from './stellar/accountSigners.js';
import { HorizonActivitySource } from './stellar/horizonActivity.js';
import { parseVolumeAsset } from './domain/risk/activity.js';
import { RiskService } from './services/riskService.js';
import { loadRiskModel } from './services/risk/riskModelFile.js';
import { SignalsRiskProvider, StaticRiskProvider, type RiskProvider } from './services/risk/riskProvider.js';
import { ExternalRiskProvider } from './services/risk/externalRiskProvider.js';
import type { CollateralAsset } from './domain/collateral/records.js';
import { CollateralAssetService } from './services/collateral/assetService.js';
import { CardCreditService } from './services/collateral/cardCreditService.js';
import { CollateralService } from './services/collateral/collateralService.js';
import { ExecutionService } from './services/collateral/executionService.js';
import { loadMarket, stalePrices } from './services/collateral/holdings.js';
import { PriceService } from './services/collateral/priceService.js';
import { RiskEngine } from './services/collateral/riskEngine.js';
import { ScheduleService } from './services/repayment/scheduleService.js';
import { RepaymentService } from './services/repayment/repaymentService.js';
import { SettlementService } from './services/repayment/settlementService.js';
import { StripePaymentProvider } from './payments/stripeProvider.js';
import { HorizonTradePriceFeed, ReflectorPriceFeed, StaticPriceFeed, type PriceFeed } from './stellar/priceFeeds.js';
import { parsePrice } from './domain/collateral/quantity.js';

export interface Container {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  keys: KeyRings;
  /** Set when no keys were configured outside production: printed once at boot for the newcomer. */
  generatedKeys?: { client: string; admin: string };
  limiter: TokenBucketLimiter;
  openApi: OpenApiDocument;
  services: {
    creditLines: CreditLineService;
    idempotency: IdempotencyService;
    auditLog: AuditLogService;
    health: HealthService;
    walletAuth: WalletAuthService;
    risk: RiskService;
    collateralAssets: CollateralAssetService;
    prices: PriceService;
    collateral: CollateralService;
    riskEngine: RiskEngine;
    executions: ExecutionService;
    cardCredit: CardCreditService;
    schedules: ScheduleService;
    repayments: RepaymentService;
    settlements: SettlementService;
    webhooks: WebhookService;
    jobs: JobService;
    /** Present when STELLAR_RPC_URL and CREDIT_CONTRACT_IDS are set. */
    indexer?: ChainIndexer;
    /** Contract transactions for bound lines; admin calls also need STELLAR_OPERATOR_SECRET. */
    chainTransactions?: ChainTransactionService;
    reconciliation?: ReconciliationService;
    /** Present when HORIZON_URL and REPAYMENT_ACCOUNT are set. */
    horizonListener?: HorizonPaymentListener;
  };
  /** Periodic workers chosen by WORKERS; the process entry starts them, tests drive services directly. */
  scheduler: Scheduler;
  /** Stops the workers, then closes outbound connections and the database. */
  close(): Promise<void>;
}

export interface ContainerOverrides {
  logger?: Logger;
  clock?: () => Date;
  /** Use an already-open database (tests share one per file). */
  db?: Db;
  collectDefaultMetrics?: boolean;
}

async function openStore(config: Config, overrides: ContainerOverrides, logger: Logger): Promise<Store> {
  if (config.database.kind === 'memory' && !overrides.db) return createMemoryStore();
  const db =
    overrides.db ??
    (config.database.kind === 'postgres'
      ? createPostgresDb(config.database.url, { poolMax: config.database.poolMax })
      : await createPgliteDb(config.database.kind === 'pglite' ? config.database.dataDir : undefined));
  if (config.migrateOnStart) {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  await checkSchema(db);
  return createSqlStore(db);
}

function keyRings(config: Config): Pick<Container, 'keys' | 'generatedKeys'> {
  const { apiKeys, adminApiKeys, apiKeysFile, adminApiKeysFile } = config.auth;
  const configured = apiKeys.length + adminApiKeys.length > 0 || apiKeysFile || adminApiKeysFile;
  if (configured || config.env === 'production') {
    return { keys: { client: new KeyRing(apiKeys, apiKeysFile), admin: new KeyRing(adminApiKeys, adminApiKeysFile) } };
  }
  const generated = { client: `dev_${randomBytes(18).toString('base64url')}`, admin: `dev_admin_${randomBytes(18).toString('base64url')}` };
  return { keys: { client: new KeyRing([generated.client]), admin: new KeyRing([generated.admin]) }, generatedKeys: generated };
}

type ChainFollowing = Pick<Container['services'], 'indexer' | 'reconciliation' | 'horizonListener' | 'chainTransactions'>;

function createChainFollowing(config: Config, store: Store, logger: Logger, metrics: Metrics, clock: () => Date, ownership: WalletOwnership): ChainFollowing {
  const following: ChainFollowing = {};
  if (config.chain) {
    const rpcClient = new SorobanRpcClient(
      config.chain.rpcUrl,
      { ...DEFAULT_RETRY_POLICY, timeoutMs: config.chain.rpcTimeoutMs, retries: config.chain.rpcRetries },
      logger,
    );
    following.indexer = new ChainIndexer(
      store,
      rpcClient,
      { contractIds: [...config.chain.contractIds], startLedger: config.chain.startLedger, pageSize: config.chain.pageSize, maxApplyAttempts: 3 },
      logger,
      metrics.indexer,
      clock,
    );
    const { transactions } = config.chain;
    const operator = transactions.operatorSecret ? Keypair.fromSecret(transactions.operatorSecret) : undefined;
    following.chainTransactions = new ChainTransactionService(
      store,
      new ContractSubmitter(
        rpcClient,
        {
          networkPassphrase: config.stellar.networkPassphrase,
          baseFee: transactions.baseFee,
          maxInclusionFee: transactions.maxInclusionFee,
          maxAttempts: transactions.maxAttempts,
          retryDelayMs: transactions.retryDelayMs,
        },
        operator,
      ),
      { contractIds: [...config.chain.contractIds], cursorName: following.indexer.cursorName, txTimeoutSeconds: transactions.timeoutSeconds, maxResubmits: transactions.resubmits },
      ownership,
      logger,
      operator,
      clock,
    );
    following.reconciliation = new ReconciliationService(
      store,
      rpcClient,
      { contractIds: [...config.chain.contractIds], gapSource: following.indexer.cursorName, batchSize: 200, toleranceUnits: config.chain.toleranceUnits },
      logger,
      clock,
    );
  }
  if (config.repayments && config.stellar.horizonUrl) {
    following.horizonListener = new HorizonPaymentListener(
      store,
      config.stellar.horizonUrl,
      { ...config.repayments, pageSize: 200, timeoutMs: config.stellar.horizonTimeoutMs },
      logger,
      clock,
    );
  }
  return following;
}

/** A worker that backs off exponentially (with jitter) after failures instead of hammering a sick dependency. */
function withBackoff(tick: () => Promise<number>, backoff = new Backoff(1_000, 60_000)): () => Promise<number> {
  return async () => {
    if (!backoff.ready(Date.now())) return 0;
    try {
      const done = await tick();
      backoff.succeeded();
      return done;
    } catch (error) {
      backoff.failed(Date.now());
      throw error;
    }
  };
}

/** The periodic workers this process runs (WORKERS=all|none|a,b); chain workers only where configured. */
function createWorkers(config: Config, webhooks: WebhookService, chain: ChainFollowing, collateral: {
    prices: PriceService;
    riskEngine: RiskEngine;
    schedules: ScheduleService;
    repayments: RepaymentService;
    settlements: SettlementService;
    paymentProvider: boolean;
  },
): PeriodicWorker[] {
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const { indexer, reconciliation, horizonListener, chainTransactions } = chain;
  const available: Partial<Record<WorkerName, PeriodicWorker>> = {
    'webhook-fanout': { name: 'webhook-fanout', intervalMs: config.webhooks.dispatchIntervalMs, exclusive: true, tick: () => webhooks.fanOut() },
    'webhook-dispatch': {
      name: 'webhook-dispatch',
      intervalMs: config.webhooks.dispatchIntervalMs,
      exclusive: false,
      tick: () => webhooks.dispatch(workerId, config.webhooks.batchSize),
    },
    ...(indexer && {
      'chain-indexer': { name: 'chain-indexer', intervalMs: config.chain!.intervalMs, exclusive: true, tick: withBackoff(() => indexer.tick()) },
    }),
    ...(chainTransactions && {
      'chain-transactions': { name: 'chain-transactions', intervalMs: config.chain!.transactions.intervalMs, exclusive: true, tick: withBackoff(() => chainTransactions.track()) },
    }),
    ...(reconciliation && {
      reconciliation: {
        name: 'reconciliation',
        intervalMs: Math.min(config.chain!.reconciliationIntervalMs, 60_000),
        exclusive: true,
        tick: withBackoff(() => reconciliation.runDue(workerId, config.chain!.reconciliationIntervalMs)),
      },
    }),
    'price-feed': { name: 'price-feed', intervalMs: config.collateral.priceFeedIntervalMs, exclusive: true, tick: withBackoff(() => collateral.prices.poll()) },
    // Not exclusive: each run is a queued job, and a job's subject (the asset) is leased to one runner at a time.
    'risk-monitor': { name: 'risk-monitor', intervalMs: config.collateral.monitorIntervalMs, exclusive: false, tick: () => collateral.riskEngine.runQueued(workerId) },
    ...(horizonListener && {
      'anchor-repayments': { name: 'anchor-repayments', intervalMs: config.payments.anchorIntervalMs, exclusive: true, tick: () => collateral.repayments.applyAnchorPayments() },
    }),
    ...(collateral.paymentProvider && {
      'settlement-reconciliation': {
        name: 'settlement-reconciliation',
        intervalMs: config.payments.settlementIntervalMs,
        exclusive: true,
        tick: withBackoff(() => collateral.settlements.runDaily()),
      },
    }),
    'repayment-schedule': { name: 'repayment-schedule', intervalMs: config.schedule.intervalMs, exclusive: true, tick: () => collateral.schedules.notify() },
    ...(horizonListener && {
      'horizon-listener': { name: 'horizon-listener', intervalMs: config.repayments!.intervalMs, exclusive: true, tick: withBackoff(() => horizonListener.tick()) },
    }),
  };
  return config.workers.flatMap((name) => available[name] ?? []);
}

function createRiskProvider(config: Config, store: Store, model: ReturnType<typeof loadRiskModel>, clock: () => Date): RiskProvider {
  const { risk, stellar } = config;
  if (risk.provider === 'static') return new StaticRiskProvider(risk.staticScore);
  if (risk.provider === 'external') return new ExternalRiskProvider(risk.external!);
  const activity = new HorizonActivitySource(
    stellar.horizonUrl!,
    { timeoutMs: stellar.horizonTimeoutMs, requestBudget: risk.horizonRequestBudget, volumeAsset: parseVolumeAsset(risk.volumeAsset) },
    clock,
  );
  return new SignalsRiskProvider(model, activity, store.repos, risk.signalCacheMs);
}

/** The feed an asset's price source names; null when this deployment cannot reach it (the asset then goes stale). */
function priceFeedFactory(config: Config, clock: () => Date): (asset: CollateralAsset) => PriceFeed | null {
  const { collateral, stellar } = config;
  return (asset) => {
    const source = asset.priceSource;
    if (source.kind === 'reflector' && collateral.priceRpcUrl) {
      return new ReflectorPriceFeed(collateral.priceRpcUrl, source.contractId, source.asset, { timeoutMs: collateral.priceFeedTimeoutMs, networkPassphrase: stellar.networkPassphrase });
    }
    if (source.kind === 'horizon' && stellar.horizonUrl) {
      return new HorizonTradePriceFeed(stellar.horizonUrl, source.base, source.counter, { timeoutMs: collateral.priceFeedTimeoutMs, clock });
    }
    if (source.kind === 'static' && config.env !== 'production') return new StaticPriceFeed(parsePrice(source.price), clock);
    return null;
  };
}

/** Outside production an unset signing key or JWT secret is generated per run: tokens then die with the process. */
function createWalletAuth(config: Config, store: Store, logger: Logger, clock: () => Date): WalletAuthService {
  const { walletAuth, stellar } = config;
  return new WalletAuthService(
    store,
    {
      signingKeypair: walletAuth.signingSecret ? Keypair.fromSecret(walletAuth.signingSecret) : Keypair.random(),
      jwtSecret: walletAuth.jwtSecret ? new TextEncoder().encode(walletAuth.jwtSecret) : randomBytes(32),
      homeDomain: walletAuth.homeDomain,
      webAuthDomain: walletAuth.webAuthDomain,
      networkPassphrase: stellar.networkPassphrase,
      challengeTtlSeconds: walletAuth.challengeTtlSeconds,
      tokenTtlSeconds: walletAuth.tokenTtlSeconds,
    },
    stellar.horizonUrl ? new HorizonAccountSigners(stellar.horizonUrl, stellar.horizonTimeoutMs) : undefined,
    logger,
    clock,
  );
}

/** Assets whose latest price is older than their maximum age: reported (not critical) by /health/ready. */
async function checkPrices(store: Store, clock: () => Date): Promise<Record<string, unknown>> {
  const codes = (await store.repos.collateralAssets.listAssets()).map((a) => a.code);
  const stale = stalePrices(await loadMarket(store.repos, codes), codes, clock());
  if (stale.length > 0) throw new Error(`stale price: ${stale.map((s) => `${s.assetCode} (last ${s.observedAt ?? 'never'}, max ${s.maxAgeSeconds} s)`).join(', ')}`);
  return { assets: codes.length };
}

/** The composition root: picks the storage, wires repositories into services. Routes see only services. */
export async function createContainer(config: Config, overrides: ContainerOverrides = {}): Promise<Container> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics({ collectDefaults: overrides.collectDefaultMetrics ?? true });
  const store = await openStore(config, overrides, logger);
  const clock = overrides.clock ?? (() => new Date());

  const health = new HealthService(
    [
      { name: 'database', critical: true, check: () => store.ping().then(() => ({ kind: store.kind })) },
      // Not critical: the API stays up, but everything priced by a stale asset is refused until its feed recovers.
      { name: 'prices', critical: false, check: () => checkPrices(store, clock) },
    ],
    config.healthCheckTimeoutMs,
    () => ({ walletAuth: config.walletAuth.mode }),
  );
  const walletAuth = createWalletAuth(config, store, logger, clock);
  const sender = new WebhookHttpSender({ allowPrivate: config.webhooks.allowPrivateUrls, requireHttps: config.webhooks.requireHttps }, config.webhooks.timeoutMs);
  const webhooks = new WebhookService(
    store,
    sender,
    {
      urlPolicy: { allowPrivate: config.webhooks.allowPrivateUrls, requireHttps: config.webhooks.requireHttps },
      retrySchedule: config.webhooks.retrySchedule,
      disableAfterMs: config.webhooks.disableAfterMs,
      secretOverlapMs: 24 * 60 * 60 * 1000,
      leaseMs: config.webhooks.leaseMs,
      sendTimeoutMs: config.webhooks.timeoutMs,
    },
    logger,
    clock,
  );
  const ownership = new WalletOwnership(config.walletAuth.mode);
  const chain = createChainFollowing(config, store, logger, metrics, clock, ownership);
  const riskModel = loadRiskModel(config.risk.model);
  const risk = new RiskService({
    store,
    provider: createRiskProvider(config, store, riskModel, clock),
    model: riskModel,
    maxCreditLimit: config.credit.maxCreditLimit,
    evaluationTtlMs: config.risk.evaluationTtlMs,
    ownership,
    metrics: metrics.risk,
    clock,
  });
  const collateral = new CollateralService({ store, maxCreditLimit: config.credit.maxCreditLimit, ownership, clock });
  const creditLines = new CreditLineService({
    store,
    maxCreditLimit: config.credit.maxCreditLimit,
    offers: risk,
    rateChange: config.risk.rateChange,
    collateralLimits: collateral,
    chain: chain.chainTransactions,
    metrics: metrics.credit,
    ownership,
    clock,
  });
  const prices = new PriceService(store, priceFeedFactory(config, clock), logger, clock);
  const riskEngine = new RiskEngine({ store, logger, ownership, batchSize: config.collateral.monitorBatchSize, leaseMs: config.webhooks.leaseMs, clock });
  const schedules = new ScheduleService(store, creditLines, logger, { dueSoonDays: config.schedule.dueSoonDays, clock });
  const paymentProvider = config.payments.stripe ? new StripePaymentProvider(config.payments.stripe) : null;
  const repayments = new RepaymentService(
    store,
    creditLines,
    paymentProvider,
    {
      fxRates: config.payments.fxRates,
      anchor: config.repayments && { account: config.repayments.account, assetCode: config.repayments.assetCode, assetIssuer: config.repayments.assetIssuer },
    },
    logger,
    { ownership, metrics: metrics.repayments, clock },
  );
  const settlements = new SettlementService(store, paymentProvider, logger, clock);
  const scheduler = new Scheduler(store, logger, createWorkers(config, webhooks, chain, { prices, riskEngine, schedules, repayments, settlements, paymentProvider: paymentProvider !== null }));

  return {
    config,
    logger,
    metrics,
    store,
    ...keyRings(config),
    limiter: new TokenBucketLimiter(),
    openApi: loadOpenApiDocument(),
    services: {
      creditLines,
      risk,
      collateralAssets: new CollateralAssetService(store, clock, config.env !== 'production'),
      prices,
      collateral,
      riskEngine,
      executions: new ExecutionService(store, creditLines, clock),
      schedules,
      repayments,
      settlements,
      cardCredit: new CardCreditService(store, creditLines, collateral, risk, config.credit.maxCreditLimit, clock),
      idempotency: new IdempotencyService(store.repos.idempotency, clock),
      auditLog: new AuditLogService(store.repos.audit),
      health,
      walletAuth,
      webhooks,
      jobs: new JobService(store, clock),
      ...chain,
    },
    scheduler,
    async close() {
      await scheduler.stop();
      sender.close();
      await store.close();
    },
  };
}
