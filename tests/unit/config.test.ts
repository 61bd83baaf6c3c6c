import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const fail = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('config', () => {
  it('defaults to the embedded database in ./data on port 3000', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.database).toEqual({ kind: 'pglite', dataDir: './data' });
    expect(config.rateLimit.perMinute).toBe(600);
    expect(config.trustProxy).toBe(false);
  });

  it('scores wallets from testnet\'s Horizon in development with no setup, and says what the risk provider needs elsewhere', () => {
    expect(loadConfig({}).risk).toMatchObject({ provider: 'signals', model: 'signals-v1', evaluationTtlMs: 86_400_000, rateChange: { maxStepBps: 500, minIntervalSeconds: 86_400 } });
    expect(loadConfig({}).stellar.horizonUrl).toBe('https://horizon-testnet.stellar.org');
    expect(fail({ NODE_ENV: 'test' })).toContain('HORIZON_URL: required by RISK_PROVIDER=signals');
    expect(fail({ RISK_PROVIDER: 'external' })).toContain('RISK_PROVIDER_URL: required');
    const production = fail({ NODE_ENV: 'production', RISK_PROVIDER: 'static', RISK_PROVIDER_URL: 'http://scoring.internal/score' });
    expect(production).toContain('RISK_PROVIDER: "static"');
    expect(production).toContain('RISK_PROVIDER_URL: must be https');
    expect(fail({ RISK_VOLUME_ASSET: 'USDC:GNOTANISSUER' })).toContain('RISK_VOLUME_ASSET');
    expect(fail({ RISK_HORIZON_REQUEST_BUDGET: '2' })).toContain('RISK_HORIZON_REQUEST_BUDGET');
  });

  it('reads the payment provider and the recorded FX rates, and needs the webhook secret with the key', () => {
    const config = loadConfig({ PAYMENT_PROVIDER_API_KEY: 'sk_test_x', PAYMENT_WEBHOOK_SECRET: 'whsec_x', PAYMENT_FX_RATES: 'usd=1,eur=1.08,jpy=0.0067' });
    expect(config.payments.stripe).toMatchObject({ apiKey: 'sk_test_x', webhookSecret: 'whsec_x' });
    expect(config.payments.fxRates).toEqual(new Map([['usd', 100_000_000_000_000n], ['eur', 108_000_000_000_000n], ['jpy', 670_000_000_000n]]));
    expect(loadConfig({}).payments.stripe).toBeUndefined();
    expect(fail({ PAYMENT_PROVIDER_API_KEY: 'sk_test_x' })).toContain('PAYMENT_WEBHOOK_SECRET');
    expect(fail({ PAYMENT_FX_RATES: 'dollars' })).toContain('PAYMENT_FX_RATES');
  });

  it('acts on the Credit contract only where it is followed, with an operator seed, and treats empty settings as unset', () => {
    const contract = 'CAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQC526';
    const seed = 'SADQOBYHA4DQOBYHA4DQOBYHA4DQOBYHA4DQOBYHA4DQOBYHA4DQP54X';
    const config = loadConfig({ STELLAR_RPC_URL: 'http://127.0.0.1:8000/rpc', CREDIT_CONTRACT_IDS: contract, STELLAR_OPERATOR_SECRET: seed });
    expect(config.chain?.transactions).toEqual({ operatorSecret: seed, timeoutSeconds: 300, baseFee: 100, maxInclusionFee: 1_000_000, maxAttempts: 5, retryDelayMs: 500, resubmits: 2, intervalMs: 1_000 });
    expect(loadConfig({ STELLAR_RPC_URL: '', CREDIT_CONTRACT_IDS: '', STELLAR_OPERATOR_SECRET: '' }).chain).toBeUndefined();
    expect(fail({ STELLAR_OPERATOR_SECRET: seed })).toContain('STELLAR_OPERATOR_SECRET: acting on the Credit contract also needs STELLAR_RPC_URL');
    expect(fail({ STELLAR_OPERATOR_SECRET: 'not-a-seed' })).toContain('STELLAR_OPERATOR_SECRET');
    expect(fail({ CHAIN_TX_BASE_FEE: '500', CHAIN_TX_MAX_FEE: '200' })).toContain('CHAIN_TX_MAX_FEE');
  });

  it('switches to PostgreSQL when DATABASE_URL is a postgres URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).database).toMatchObject({ kind: 'postgres', url: 'postgres://u@h/db' });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ RATE_LIMIT_PER_MIN: '0' }, 'RATE_LIMIT_PER_MIN'],
    [{ RATE_LIMIT_OVERRIDES: 'admin' }, 'RATE_LIMIT_OVERRIDES'],
    [{ CREDIT_LIMIT_MAX: '1e9' }, 'CREDIT_LIMIT_MAX'],
    [{ API_KEYS: 'short' }, 'API_KEYS'],
  ])('names the variable when %j is invalid', (env, variable) => {
    expect(fail(env)).toContain(variable);
  });

  it('refuses to boot in production without keys, naming both variables', () => {
    const message = fail({ NODE_ENV: 'production' });
    expect(message).toContain('API_KEYS');
    expect(message).toContain('ADMIN_API_KEYS');
  });

  it('parses lists, proxy trust and per-group rate limits', () => {
    const config = loadConfig({
      API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      CORS_ORIGINS: 'https://app.example,https://admin.example',
      TRUST_PROXY: '1',
      RATE_LIMIT_OVERRIDES: 'admin=60,client=1200',
    });
    expect(config.auth.apiKeys).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(config.corsOrigins).toHaveLength(2);
    expect(config.trustProxy).toBe(1);
    expect(config.rateLimit.overrides).toEqual({ admin: 60, client: 1200 });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });
});
