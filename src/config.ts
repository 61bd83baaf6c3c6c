import { StrKey } from '@stellar/stellar-sdk';
import { z } from 'zod';
import { parseDurations } from './domain/backoff.js';
import { parseAmount } from './domain/money.js';

/**
 * The one place environment variables are read. Everything else receives a typed, frozen Config.
 * A bad or missing value stops the boot with a message that names the variable.
 */

const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value)));

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Express `trust proxy`: false, true, a hop count, or a comma-separated list of trusted subnets. */
const trustProxy = z
  .string()
  .optional()
  .transform((value): boolean | number | string => {
    const raw = (value ?? 'false').trim();
    if (raw === '' || raw === 'false' || raw === '0') return false;
    if (raw === 'true') return true;
    if (/^\d+$/.test(raw)) return Number(raw);
    return raw;
  });

const rateLimitOverrides = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const overrides: Record<string, number> = {};
    for (const pair of (value ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
      const [group, limit] = pair.split('=');
      const parsed = Number(limit);
      if (!group || !Number.isInteger(parsed) || parsed <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected "group=requestsPerMinute" pairs, got "${pair}"` });
        return z.NEVER;
      }
      overrides[group.trim()] = parsed;
    }
    return overrides;
  });

const amount = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return parseAmount(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

export const WORKER_NAMES = ['webhook-fanout', 'webhook-dispatch', 'chain-indexer', 'chain-transactions', 'reconciliation', 'horizon-listener', 'price-feed', 'risk-monitor', 'repayment-schedule', 'anchor-repayments', 'settlement-reconciliation'] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];

const durations = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return parseDurations(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^(postgres(ql)?:\/\/|memory:)/.test(v), {
      message: 'must be a postgres:// URL (or memory: for the in-memory store)',
    }),
  DATA_DIR: z.string().default('./data'),
  DB_POOL_MAX: positiveInt(20),
  MIGRATE_ON_START: boolean(true),
  API_KEYS: commaList,
  ADMIN_API_KEYS: commaList,
  API_KEYS_FILE: z.string().optional(),
  ADMIN_API_KEYS_FILE: z.string().optional(),
  RATE_LIMIT_PER_MIN: positiveInt(600),
  RATE_LIMIT_OVERRIDES: rateLimitOverrides,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
  HEALTH_CHECK_TIMEOUT_MS: positiveInt(2_000),
  CORS_ORIGINS: commaList,
  TRUST_PROXY: trustProxy,
  CREDIT_LIMIT_MAX: amount('100000'),
  STELLAR_NETWORK_PASSPHRASE: z.string().min(1).default('Test SDF Network ; September 2015'),
  HORIZON_URL: z.url({ error: 'must be an http(s) URL' }).optional(),
  HORIZON_TIMEOUT_MS: positiveInt(5_000),
  WALLET_AUTH: z.enum(['required', 'optional']).default('required'),
  AUTH_SIGNING_SECRET: z
    .string()
    .optional()
    .refine((v) => v === undefined || StrKey.isValidEd25519SecretSeed(v), { message: 'must be a Stellar secret seed (S...)' }),
  AUTH_JWT_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  AUTH_HOME_DOMAIN: z.string().min(1).default('localhost'),
  AUTH_WEB_AUTH_DOMAIN: z.string().min(1).optional(),
  AUTH_CHALLENGE_TTL_SECONDS: positiveInt(300),
  AUTH_TOKEN_TTL_SECONDS: positiveInt(900),
  WORKERS: z
    .string()
    .default('all')
    .transform((value, ctx) => {
      const names = value.split(',').map((n) => n.trim()).filter(Boolean);
      const unknown = names.filter((n) => !['all', 'none', ...WORKER_NAMES].includes(n));
      if (unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `unknown worker(s) ${unknown.join(', ')}; use all, none or ${WORKER_NAMES.join(', ')}` });
        return z.NEVER;
      }
      if (names.includes('none')) return [];
      return names.includes('all') ? [...WORKER_NAMES] : names;
    }),
  WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  WEBHOOK_RETRY_SCHEDULE: durations('5s,5m,30m,2h,5h,10h,10h'),
  WEBHOOK_DISABLE_AFTER: durations('5d').transform((list) => list[0]!),
  WEBHOOK_ALLOW_PRIVATE_URLS: boolean(false),
  WEBHOOK_DISPATCH_INTERVAL_MS: positiveInt(500),
  WEBHOOK_BATCH_SIZE: positiveInt(100),
  JOB_LEASE_MS: positiveInt(60_000),
  // Empty counts as unset (docker compose passes `${VAR:-}` as an empty string).
  STELLAR_RPC_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ error: 'must be an http(s) URL' }).optional()),
  CREDIT_CONTRACT_IDS: commaList.refine((ids) => ids.every((id) => StrKey.isValidContract(id)), { message: 'must be contract ids (C...), comma-separated' }),
  RPC_TIMEOUT_MS: positiveInt(10_000),
  RPC_RETRIES: z.coerce.number().int().min(0).max(10).default(4),
  INDEXER_START_LEDGER: z.coerce.number().int().positive().optional(),
  INDEXER_PAGE_SIZE: z.coerce.number().int().min(1).max(10_000).default(200),
  INDEXER_INTERVAL_MS: positiveInt(2_000),
  RECONCILIATION_INTERVAL_MS: positiveInt(3_600_000),
  STELLAR_OPERATOR_SECRET: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .refine((v) => v === undefined || StrKey.isValidEd25519SecretSeed(v), { message: 'must be a Stellar secret seed (S...)' }),
  CHAIN_TX_TIMEOUT_SECONDS: z.coerce.number().int().min(30).max(3_600).default(300),
  CHAIN_TX_BASE_FEE: z.coerce.number().int().min(100).default(100),
  CHAIN_TX_MAX_FEE: z.coerce.number().int().min(100).default(1_000_000),
  CHAIN_TX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(5),
  CHAIN_TX_RETRY_DELAY_MS: positiveInt(500),
  CHAIN_TX_RESUBMITS: z.coerce.number().int().min(0).max(10).default(2),
  CHAIN_TX_INTERVAL_MS: positiveInt(1_000),
  RECONCILIATION_TOLERANCE_UNITS: z.coerce.number().int().min(0).default(1),
  REPAYMENT_ACCOUNT: z
    .string()
    .optional()
    .refine((v) => v === undefined || StrKey.isValidEd25519PublicKey(v), { message: 'must be a Stellar account (G...)' }),
  REPAYMENT_ASSET_CODE: z.string().regex(/^[A-Za-z0-9]{1,12}$/).default('USDC'),
  REPAYMENT_ASSET_ISSUER: z
    .string()
    .optional()
    .refine((v) => v === undefined || StrKey.isValidEd25519PublicKey(v), { message: 'must be a Stellar account (G...)' }),
  HORIZON_LISTENER_INTERVAL_MS: positiveInt(5_000),
  RISK_PROVIDER: z.enum(['signals', 'static', 'external']).default('signals'),
  RISK_MODEL: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { error: 'must name a file in risk-models/ (without .json)' }).default('signals-v1'),
  RISK_STATIC_SCORE: z.coerce.number().int().min(0).max(100).default(70),
  RISK_PROVIDER_URL: z.url({ error: 'must be an http(s) URL' }).optional(),
  RISK_PROVIDER_TOKEN: z.string().min(1).optional(),
  RISK_PROVIDER_TIMEOUT_MS: positiveInt(5_000),
  RISK_EVALUATION_TTL_HOURS: positiveInt(24),
  RISK_SIGNAL_CACHE_SECONDS: z.coerce.number().int().min(0).default(60),
  RISK_HORIZON_REQUEST_BUDGET: z.coerce.number().int().min(3).max(100).default(10),
  RISK_VOLUME_ASSET: z
    .string()
    .default('native')
    .refine((v) => v === 'native' || (/^[A-Za-z0-9]{1,12}:G[A-Z2-7]{55}$/.test(v) && StrKey.isValidEd25519PublicKey(v.split(':')[1]!)), {
      message: 'must be "native" or CODE:ISSUER',
    }),
  RATE_CHANGE_MAX_STEP_BPS: z.coerce.number().int().min(1).max(10_000).default(500),
  RATE_CHANGE_MIN_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(86_400),
  PRICE_RPC_URL: z.url({ error: 'must be an http(s) URL' }).optional(),
  PRICE_FEED_INTERVAL_MS: positiveInt(60_000),
  PRICE_FEED_TIMEOUT_MS: positiveInt(5_000),
  RISK_MONITOR_INTERVAL_MS: positiveInt(1_000),
  RISK_MONITOR_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(2_000),
  REPAYMENT_SCHEDULE_INTERVAL_MS: positiveInt(3_600_000),
  REPAYMENT_DUE_SOON_DAYS: z.coerce.number().int().min(0).max(15).default(3),
  // Empty counts as unset (docker compose passes `${VAR:-}` as an empty string).
  PAYMENT_PROVIDER_API_KEY: z.string().optional().transform((v) => v || undefined),
  PAYMENT_WEBHOOK_SECRET: z.string().optional().transform((v) => v || undefined),
  PAYMENT_PROVIDER_API_BASE: z.url({ error: 'must be an http(s) URL' }).optional(),
  PAYMENT_PROVIDER_TIMEOUT_MS: positiveInt(10_000),
  PAYMENT_FX_RATES: z
    .string()
    .default('usd=1')
    .transform((value, ctx) => {
      const rates = new Map<string, bigint>();
      for (const pair of value.split(',').map((p) => p.trim()).filter(Boolean)) {
        const match = /^([a-z]{3})=(\d{1,9})(?:\.(\d{1,14}))?$/.exec(pair);
        if (!match) {
          ctx.addIssue({ code: 'custom', message: `expected "currency=rate" pairs such as "usd=1,eur=1.08", got "${pair}"` });
          return z.NEVER;
        }
        rates.set(match[1]!, BigInt(match[2]!) * 10n ** 14n + BigInt((match[3] ?? '').padEnd(14, '0')));
      }
      return rates;
    }),
  ANCHOR_REPAYMENT_INTERVAL_MS: positiveInt(5_000),
  SETTLEMENT_RECONCILIATION_INTERVAL_MS: positiveInt(3_600_000),
});

const TESTNET_HORIZON_URL = 'https://horizon-testnet.stellar.org';

export type Env = Record<string, string | undefined>;

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly port: number;
  readonly host: string;
  readonly database:
    | { readonly kind: 'postgres'; readonly url: string; readonly poolMax: number }
    | { readonly kind: 'pglite'; readonly dataDir: string }
    | { readonly kind: 'memory' };
  readonly migrateOnStart: boolean;
  readonly auth: {
    readonly apiKeys: readonly string[];
    readonly adminApiKeys: readonly string[];
    readonly apiKeysFile?: string;
    readonly adminApiKeysFile?: string;
  };
  readonly rateLimit: { readonly perMinute: number; readonly overrides: Readonly<Record<string, number>> };
  readonly logLevel: string;
  readonly shutdownTimeoutMs: number;
  readonly healthCheckTimeoutMs: number;
  readonly corsOrigins: readonly string[];
  readonly trustProxy: boolean | number | string;
  readonly credit: { readonly maxCreditLimit: bigint };
  readonly stellar: { readonly networkPassphrase: string; readonly horizonUrl?: string; readonly horizonTimeoutMs: number };
  readonly walletAuth: {
    readonly mode: 'required' | 'optional';
    /** Unset outside production: a random key is generated per run (challenges do not survive a restart). */
    readonly signingSecret?: string;
    readonly jwtSecret?: string;
    readonly homeDomain: string;
    readonly webAuthDomain: string;
    readonly challengeTtlSeconds: number;
    readonly tokenTtlSeconds: number;
  };
  readonly workers: readonly WorkerName[];
  readonly webhooks: {
    readonly timeoutMs: number;
    readonly retrySchedule: readonly number[];
    readonly disableAfterMs: number;
    readonly allowPrivateUrls: boolean;
    readonly requireHttps: boolean;
    readonly dispatchIntervalMs: number;
    readonly batchSize: number;
    readonly leaseMs: number;
  };
  /** Following the Credit contract; absent when no RPC URL and contract ids are configured. */
  readonly chain?: {
    readonly rpcUrl: string;
    readonly contractIds: readonly string[];
    readonly rpcTimeoutMs: number;
    readonly rpcRetries: number;
    readonly startLedger?: number;
    readonly pageSize: number;
    readonly intervalMs: number;
    readonly reconciliationIntervalMs: number;
    readonly toleranceUnits: bigint;
    /** Acting on the contract: the operator key signs admin calls; fees, time bounds and retries of submissions. */
    readonly transactions: {
      readonly operatorSecret?: string;
      readonly timeoutSeconds: number;
      readonly baseFee: number;
      readonly maxInclusionFee: number;
      readonly maxAttempts: number;
      readonly retryDelayMs: number;
      readonly resubmits: number;
      readonly intervalMs: number;
    };
  };
  readonly risk: {
    readonly provider: 'signals' | 'static' | 'external';
    readonly model: string;
    readonly staticScore: number;
    readonly external?: { readonly url: string; readonly token?: string; readonly timeoutMs: number };
    readonly evaluationTtlMs: number;
    readonly signalCacheMs: number;
    readonly horizonRequestBudget: number;
    readonly volumeAsset: string;
    readonly rateChange: { readonly maxStepBps: number; readonly minIntervalSeconds: number };
  };
  readonly collateral: {
    /** Soroban RPC for Reflector prices (PRICE_RPC_URL, else STELLAR_RPC_URL); unset leaves Reflector-priced assets stale. */
    readonly priceRpcUrl?: string;
    readonly priceFeedIntervalMs: number;
    readonly priceFeedTimeoutMs: number;
    readonly monitorIntervalMs: number;
    readonly monitorBatchSize: number;
  };
  readonly schedule: { readonly intervalMs: number; readonly dueSoonDays: number };
  readonly payments: {
    /** Absent without PAYMENT_PROVIDER_API_KEY: card repayments are then refused with 503. */
    readonly stripe?: { readonly apiKey: string; readonly webhookSecret: string; readonly apiBase?: URL; readonly timeoutMs: number };
    readonly fxRates: ReadonlyMap<string, bigint>;
    readonly anchorIntervalMs: number;
    readonly settlementIntervalMs: number;
  };
  /** Following Horizon payments into the repayment account; absent unless HORIZON_URL and REPAYMENT_ACCOUNT are set. */
  readonly repayments?: {
    readonly account: string;
    readonly assetCode: string;
    readonly assetIssuer?: string;
    readonly intervalMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Env = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const hasClientKeys = e.API_KEYS.length > 0 || Boolean(e.API_KEYS_FILE);
  const hasAdminKeys = e.ADMIN_API_KEYS.length > 0 || Boolean(e.ADMIN_API_KEYS_FILE);
  if (e.NODE_ENV === 'production') {
    if (!hasClientKeys) problems.push('API_KEYS: required in production (or API_KEYS_FILE)');
    if (!hasAdminKeys) problems.push('ADMIN_API_KEYS: required in production (or ADMIN_API_KEYS_FILE)');
    if (e.DATABASE_URL?.startsWith('memory:')) problems.push('DATABASE_URL: the in-memory store is not allowed in production');
    if (e.WALLET_AUTH === 'optional') problems.push('WALLET_AUTH: must be "required" in production');
    if (!e.AUTH_SIGNING_SECRET) problems.push('AUTH_SIGNING_SECRET: required in production');
    if (!e.AUTH_JWT_SECRET) problems.push('AUTH_JWT_SECRET: required in production');
    if (e.WEBHOOK_ALLOW_PRIVATE_URLS) problems.push('WEBHOOK_ALLOW_PRIVATE_URLS: must be false in production');
    if (e.RISK_PROVIDER === 'static') problems.push('RISK_PROVIDER: "static" gives every wallet the same score; not allowed in production');
    if (e.RISK_PROVIDER_URL?.startsWith('http://')) problems.push('RISK_PROVIDER_URL: must be https in production');
  }
  // Development follows the network the default passphrase names, so `npm start` scores wallets with no setup.
  const horizonUrl = e.HORIZON_URL ?? (e.NODE_ENV === 'development' ? TESTNET_HORIZON_URL : undefined);
  if (e.RISK_PROVIDER === 'signals' && !horizonUrl) problems.push('HORIZON_URL: required by RISK_PROVIDER=signals (the model reads chain activity from Horizon)');
  if (e.PAYMENT_PROVIDER_API_KEY && !e.PAYMENT_WEBHOOK_SECRET) problems.push('PAYMENT_WEBHOOK_SECRET: required with PAYMENT_PROVIDER_API_KEY (provider webhooks are verified with it)');
  if (e.RISK_PROVIDER === 'external' && !e.RISK_PROVIDER_URL) problems.push('RISK_PROVIDER_URL: required by RISK_PROVIDER=external');
  for (const key of [...e.API_KEYS, ...e.ADMIN_API_KEYS]) {
    if (key.length < 16) problems.push('API_KEYS/ADMIN_API_KEYS: every key must be at least 16 characters');
  }
  if (Boolean(e.STELLAR_RPC_URL) !== e.CREDIT_CONTRACT_IDS.length > 0) {
    problems.push('STELLAR_RPC_URL/CREDIT_CONTRACT_IDS: set both to follow the Credit contract, or neither');
  }
  if (e.STELLAR_OPERATOR_SECRET && !e.STELLAR_RPC_URL) problems.push('STELLAR_OPERATOR_SECRET: acting on the Credit contract also needs STELLAR_RPC_URL and CREDIT_CONTRACT_IDS');
  if (e.CHAIN_TX_MAX_FEE < e.CHAIN_TX_BASE_FEE) problems.push('CHAIN_TX_MAX_FEE: must be at least CHAIN_TX_BASE_FEE');
  if (e.REPAYMENT_ACCOUNT && !e.HORIZON_URL) problems.push('HORIZON_URL: required to follow payments into REPAYMENT_ACCOUNT');
  if (e.JOB_LEASE_MS <= e.WEBHOOK_TIMEOUT_MS) problems.push('JOB_LEASE_MS: must be longer than WEBHOOK_TIMEOUT_MS, or a slow delivery could be sent twice');
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);

  const database: Config['database'] = !e.DATABASE_URL
    ? { kind: 'pglite', dataDir: e.DATA_DIR }
    : e.DATABASE_URL.startsWith('memory:')
      ? { kind: 'memory' }
      : { kind: 'postgres', url: e.DATABASE_URL, poolMax: e.DB_POOL_MAX };

  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    database,
    migrateOnStart: e.MIGRATE_ON_START,
    auth: {
      apiKeys: e.API_KEYS,
      adminApiKeys: e.ADMIN_API_KEYS,
      apiKeysFile: e.API_KEYS_FILE,
      adminApiKeysFile: e.ADMIN_API_KEYS_FILE,
    },
    rateLimit: { perMinute: e.RATE_LIMIT_PER_MIN, overrides: e.RATE_LIMIT_OVERRIDES },
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    healthCheckTimeoutMs: e.HEALTH_CHECK_TIMEOUT_MS,
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: e.TRUST_PROXY,
    credit: { maxCreditLimit: e.CREDIT_LIMIT_MAX },
    stellar: { networkPassphrase: e.STELLAR_NETWORK_PASSPHRASE, horizonUrl, horizonTimeoutMs: e.HORIZON_TIMEOUT_MS },
    walletAuth: {
      mode: e.WALLET_AUTH,
      signingSecret: e.AUTH_SIGNING_SECRET,
      jwtSecret: e.AUTH_JWT_SECRET,
      homeDomain: e.AUTH_HOME_DOMAIN,
      webAuthDomain: e.AUTH_WEB_AUTH_DOMAIN ?? e.AUTH_HOME_DOMAIN,
      challengeTtlSeconds: e.AUTH_CHALLENGE_TTL_SECONDS,
      tokenTtlSeconds: e.AUTH_TOKEN_TTL_SECONDS,
    },
    workers: e.WORKERS as WorkerName[],
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retrySchedule: e.WEBHOOK_RETRY_SCHEDULE,
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER,
      allowPrivateUrls: e.WEBHOOK_ALLOW_PRIVATE_URLS,
      requireHttps: e.NODE_ENV === 'production',
      dispatchIntervalMs: e.WEBHOOK_DISPATCH_INTERVAL_MS,
      batchSize: e.WEBHOOK_BATCH_SIZE,
      leaseMs: e.JOB_LEASE_MS,
    },
    chain: e.STELLAR_RPC_URL
      ? {
          rpcUrl: e.STELLAR_RPC_URL,
          contractIds: e.CREDIT_CONTRACT_IDS,
          rpcTimeoutMs: e.RPC_TIMEOUT_MS,
          rpcRetries: e.RPC_RETRIES,
          startLedger: e.INDEXER_START_LEDGER,
          pageSize: e.INDEXER_PAGE_SIZE,
          intervalMs: e.INDEXER_INTERVAL_MS,
          reconciliationIntervalMs: e.RECONCILIATION_INTERVAL_MS,
          toleranceUnits: BigInt(e.RECONCILIATION_TOLERANCE_UNITS),
          transactions: {
            operatorSecret: e.STELLAR_OPERATOR_SECRET,
            timeoutSeconds: e.CHAIN_TX_TIMEOUT_SECONDS,
            baseFee: e.CHAIN_TX_BASE_FEE,
            maxInclusionFee: e.CHAIN_TX_MAX_FEE,
            maxAttempts: e.CHAIN_TX_MAX_ATTEMPTS,
            retryDelayMs: e.CHAIN_TX_RETRY_DELAY_MS,
            resubmits: e.CHAIN_TX_RESUBMITS,
            intervalMs: e.CHAIN_TX_INTERVAL_MS,
          },
        }
      : undefined,
    risk: {
      provider: e.RISK_PROVIDER,
      model: e.RISK_MODEL,
      staticScore: e.RISK_STATIC_SCORE,
      external: e.RISK_PROVIDER_URL ? { url: e.RISK_PROVIDER_URL, token: e.RISK_PROVIDER_TOKEN, timeoutMs: e.RISK_PROVIDER_TIMEOUT_MS } : undefined,
      evaluationTtlMs: e.RISK_EVALUATION_TTL_HOURS * 3_600_000,
      signalCacheMs: e.RISK_SIGNAL_CACHE_SECONDS * 1000,
      horizonRequestBudget: e.RISK_HORIZON_REQUEST_BUDGET,
      volumeAsset: e.RISK_VOLUME_ASSET,
      rateChange: { maxStepBps: e.RATE_CHANGE_MAX_STEP_BPS, minIntervalSeconds: e.RATE_CHANGE_MIN_INTERVAL_SECONDS },
    },
    collateral: {
      priceRpcUrl: e.PRICE_RPC_URL ?? e.STELLAR_RPC_URL,
      priceFeedIntervalMs: e.PRICE_FEED_INTERVAL_MS,
      priceFeedTimeoutMs: e.PRICE_FEED_TIMEOUT_MS,
      monitorIntervalMs: e.RISK_MONITOR_INTERVAL_MS,
      monitorBatchSize: e.RISK_MONITOR_BATCH_SIZE,
    },
    schedule: { intervalMs: e.REPAYMENT_SCHEDULE_INTERVAL_MS, dueSoonDays: e.REPAYMENT_DUE_SOON_DAYS },
    payments: {
      stripe: e.PAYMENT_PROVIDER_API_KEY
        ? {
            apiKey: e.PAYMENT_PROVIDER_API_KEY,
            webhookSecret: e.PAYMENT_WEBHOOK_SECRET!,
            apiBase: e.PAYMENT_PROVIDER_API_BASE ? new URL(e.PAYMENT_PROVIDER_API_BASE) : undefined,
            timeoutMs: e.PAYMENT_PROVIDER_TIMEOUT_MS,
          }
        : undefined,
      fxRates: e.PAYMENT_FX_RATES,
      anchorIntervalMs: e.ANCHOR_REPAYMENT_INTERVAL_MS,
      settlementIntervalMs: e.SETTLEMENT_RECONCILIATION_INTERVAL_MS,
    },
    repayments: e.REPAYMENT_ACCOUNT
      ? { account: e.REPAYMENT_ACCOUNT, assetCode: e.REPAYMENT_ASSET_CODE, assetIssuer: e.REPAYMENT_ASSET_ISSUER, intervalMs: e.HORIZON_LISTENER_INTERVAL_MS }
      : undefined,
  });
}
