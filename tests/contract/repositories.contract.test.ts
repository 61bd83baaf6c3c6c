import { randomBytes, randomUUID } from 'node:crypto';
import { Keypair, StrKey } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ASSET_PARAMS, type AssetRiskParams } from '../../src/domain/collateral/params.js';
import type { BadDebtPlan, ExecutionPlan, LiquidationPlan, StopLossPlan } from '../../src/domain/collateral/plans.js';
import type {
  AccountRiskState,
  AssetParamsVersion,
  CollateralAsset,
  CollateralMovement,
  CollateralPosition,
  ExecutionFill,
  PriceObservation,
  PriceSource,
  RiskExecution,
  StopLossSettings,
  VolatilityObservation,
} from '../../src/domain/collateral/records.js';
import type { ChainTransaction } from '../../src/domain/chainTransaction.js';
import type { CreditLine, CreditLineStatus } from '../../src/domain/creditLine.js';
import { ConflictError } from '../../src/domain/errors.js';
import type { LedgerEntry } from '../../src/domain/ledger.js';
import type { EvaluationApplication, RiskEvaluation, RiskEvaluationSummary } from '../../src/domain/risk/evaluation.js';
import { I128_MAX } from '../../src/domain/money.js';
import type { ProviderEvent, Repayment, SettlementFinding, SettlementRun } from '../../src/domain/repayment/records.js';
import type { AuditEntry, DomainEvent, IdempotencyRecord, IncomingPayment, Store } from '../../src/repositories/repositories.js';
import { openTestStore, STORAGE_KINDS } from '../support/databases.js';

/**
 * One contract, every storage: the in-memory store, embedded PGlite and (with TEST_DATABASE_URL) a
 * real PostgreSQL must answer every repository call the same way.
 */

const wallet = () => Keypair.random().publicKey();
const at = (iso: string) => new Date(iso);
const T0 = at('2025-01-01T00:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

function makeLine(overrides: Partial<CreditLine> = {}): CreditLine {
  const createdAt = overrides.createdAt ?? T0;
  return {
    id: randomUUID(),
    walletAddress: wallet(),
    currency: 'USDC',
    creditLimit: 1_000_0000000n,
    interestRateBps: 1200,
    utilized: 0n,
    accruedInterest: 0n,
    status: 'active',
    lastAccrualAt: createdAt,
    contractId: null,
    riskScore: null,
    rateUpdatedAt: null,
    collateralBacked: false,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}

function makeEntry(creditLineId: string, overrides: Partial<Omit<LedgerEntry, 'seq'>> = {}): Omit<LedgerEntry, 'seq'> {
  return {
    id: randomUUID(),
    creditLineId,
    type: 'draw',
    amount: 10_0000000n,
    interestAmount: 0n,
    principalAmount: 10_0000000n,
    utilizedAfter: 10_0000000n,
    createdAt: T0,
    ...overrides,
  };
}

function makeEvent(aggregateId: string, overrides: Partial<Omit<DomainEvent, 'seq'>> = {}): Omit<DomainEvent, 'seq'> {
  return {
    id: randomUUID(),
    type: 'credit_line.drawn',
    aggregateType: 'credit_line',
    aggregateId,
    payload: { amount: '10.0000000' },
    createdAt: T0,
    ...overrides,
  };
}

function makeAudit(overrides: Partial<Omit<AuditEntry, 'seq'>> = {}): Omit<AuditEntry, 'seq'> {
  return {
    id: randomUUID(),
    actor: 'admin:abc123',
    action: 'credit_line.suspend',
    targetType: 'credit_line',
    targetId: randomUUID(),
    before: { status: 'active' },
    after: { status: 'suspended' },
    requestId: 'req-1',
    createdAt: T0,
    ...overrides,
  };
}

function makeClaim(overrides: Partial<Omit<IdempotencyRecord, 'status' | 'responseStatus' | 'responseBody'>> = {}) {
  return {
    principal: 'client:fingerprint',
    key: `key-${randomUUID()}`,
    requestHash: 'hash-a',
    createdAt: T0,
    expiresAt: minutes(60),
    ...overrides,
  };
}

function makeEvaluation(overrides: Partial<Omit<RiskEvaluation, 'seq'>> = {}): Omit<RiskEvaluation, 'seq'> {
  return {
    id: randomUUID(),
    walletAddress: wallet(),
    provider: 'creditra',
    modelVersion: 'creditra-2025-01',
    score: 72,
    band: 'B',
    decision: 'approve',
    creditLimit: 2_500_0000000n,
    interestRateBps: 950,
    signals: [
      { name: 'accountAgeDays', kind: 'positive', value: 412, transform: 'log(1+x)/log(1+730), capped at 1', normalised: 0.9131, weight: 15, points: 13.7, why: 'account is 412 days old' },
      { name: 'inflowRegularity', kind: 'positive', value: 10 / 12, transform: 'x (a 0..1 ratio)', normalised: 0.8333, weight: 20, points: 16.67, why: '10 of 12 weeks had inflows' },
      { name: 'utilization', kind: 'penalty', value: 0.4125, transform: '(x-0.3)/(1-0.3) above 0.3, else 0', normalised: 0.1607, weight: 10, points: -1.61, why: 'drawn 41.25% of limit' },
      { name: 'collateralHealth', kind: 'positive', value: null, transform: 'x/2, capped at 1', normalised: 0, weight: 5, points: 0, why: 'no collateral' },
    ],
    inputs: {
      activity: { accountAgeDays: 412, operations90d: 1873, inflow90d: '98765.4321000', balances: { XLM: '1234.5678901', USDC: '250.0000000' } },
      history: { repayments: 6, lateStatements: 1, utilizationBps: 4125, collateralHealthFactorBps: null },
      ratios: { tiny: 1e-7, third: 1 / 3, negative: -0.125 },
      counterparties: ['GA', 'GB'],
    },
    evaluatedAt: T0,
    expiresAt: minutes(24 * 60),
    application: null,
    ...overrides,
  };
}

function makeApplication(creditLineId: string, overrides: Partial<EvaluationApplication> = {}): EvaluationApplication {
  return {
    at: minutes(5),
    by: 'admin:abc123',
    creditLineId,
    creditLimit: 2_500_0000000n,
    interestRateBps: 1100,
    rateConstraint: 'max_step',
    ...overrides,
  };
}

// Collateral. Quantities and prices beyond 2^64 catch any narrowing to a 64-bit integer or a float on the way.
const BEYOND_U64 = 2n ** 64n + 12_345n;

function makeAsset(overrides: Partial<CollateralAsset> = {}): CollateralAsset {
  return { code: 'XLM', decimals: 7, priceSource: { kind: 'manual' }, createdAt: T0, ...overrides };
}

/** Every field distinct from the defaults and from each other, so a swapped column shows. */
const DISTINCT_PARAMS: AssetRiskParams = {
  baseLtvBps: 6_501,
  liquidationThresholdBps: 8_002,
  liquidationBonusBps: 703,
  kBps: 16_504,
  horizonDays: 14,
  minLtvBps: 2_505,
  closeFactorBps: 4_006,
  stopLossTriggerHfBps: 10_307,
  targetHfBps: 10_808,
  maxSlippageBps: 159,
  maxPriceAgeSeconds: 120,
  yieldAprBps: 450,
  protocolFeeShareBps: 2_511,
  fallbackVolatilityBps: 9_012,
};

function makeParams(assetCode: string, version: number, overrides: Partial<Omit<AssetParamsVersion, 'assetCode' | 'version'>> = {}): AssetParamsVersion {
  return { assetCode, version, params: { ...DISTINCT_PARAMS }, createdBy: 'admin:abc123', effectiveFrom: minutes(version), ...overrides };
}

function makePrice(assetCode: string, observedAt: Date, price1e14: bigint, overrides: Partial<Omit<PriceObservation, 'id'>> = {}): Omit<PriceObservation, 'id'> {
  return { assetCode, price1e14, source: 'manual:admin', observedAt, recordedAt: new Date(observedAt.getTime() + 1_000), ...overrides };
}

function makeVolatility(assetCode: string, windowDays: 7 | 30, computedAt: Date, sigmaBps: number): VolatilityObservation {
  return { assetCode, windowDays, sigmaBps, returns: windowDays, computedAt };
}

function makePosition(overrides: Partial<CollateralPosition> = {}): CollateralPosition {
  return {
    id: randomUUID(),
    walletAddress: wallet(),
    assetCode: 'XLM',
    quantity: 1_000_0000000n,
    yieldEarned: 0n,
    yieldCheckpointAt: T0,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function makeMovement(positionId: string, overrides: Partial<Omit<CollateralMovement, 'seq'>> = {}): Omit<CollateralMovement, 'seq'> {
  return { id: randomUUID(), positionId, type: 'deposit', quantity: 100n, quantityAfter: 100n, executionId: null, createdAt: T0, ...overrides };
}

function stopLossPlan(overrides: Partial<StopLossPlan> = {}): StopLossPlan {
  return {
    kind: 'stop_loss',
    assetCode: 'XLM',
    decimals: 7,
    price1e14: 12_345_678_901_234n,
    sellValue: BEYOND_U64,
    sellQuantity: BEYOND_U64 * 3n,
    minProceeds: BEYOND_U64 - 1n,
    debtBefore: I128_MAX,
    healthFactorBefore: 10_150,
    healthFactorAfter: 10_500,
    targetHfBps: 10_500,
    slippageBps: 100,
    ...overrides,
  };
}

function liquidationPlan(overrides: Partial<LiquidationPlan> = {}): LiquidationPlan {
  return {
    kind: 'liquidation',
    assetCode: 'BTC',
    decimals: 8,
    price1e14: BEYOND_U64 * 1_000n,
    repay: BEYOND_U64 + 1n,
    seizeValue: BEYOND_U64 + 2n,
    seizeQuantity: 3n,
    bonus: 4n,
    protocolFee: 0n,
    liquidatorBonus: 4n,
    debtBefore: BEYOND_U64 + 5n,
    healthFactorBefore: 9_412,
    healthFactorAfter: null,
    targetHfBps: 10_500,
    capped: true,
    ...overrides,
  };
}

function badDebtPlan(): BadDebtPlan {
  return {
    kind: 'bad_debt',
    seizures: [
      { assetCode: 'BTC', decimals: 8, price1e14: BEYOND_U64 * 7n, quantity: 1n, value: BEYOND_U64 },
      { assetCode: 'XLM', decimals: 0, price1e14: 9_000_000_000_000n, quantity: I128_MAX, value: 0n },
    ],
    repay: BEYOND_U64,
    slippageBps: 300,
    writeOff: I128_MAX - BEYOND_U64,
    debtBefore: I128_MAX,
    healthFactorBefore: 0,
  };
}

function makeFill(overrides: Partial<ExecutionFill> = {}): ExecutionFill {
  return {
    collateralQuantity: BEYOND_U64 * 2n,
    usdcAmount: BEYOND_U64 + 99n,
    repaid: BEYOND_U64,
    writtenOff: 0n,
    surplus: 99n,
    filledBy: 'keeper:k1',
    reference: 'tx-abc',
    ...overrides,
  };
}

function makeExecution(line: CreditLine, overrides: Partial<RiskExecution> = {}): RiskExecution {
  const plan: ExecutionPlan = overrides.plan ?? stopLossPlan();
  return {
    id: randomUUID(),
    walletAddress: line.walletAddress,
    creditLineId: line.id,
    kind: plan.kind,
    trigger: 'monitor',
    status: 'pending',
    plan,
    fill: null,
    paramsVersions: { XLM: 3, BTC: 1 },
    createdBy: 'system:risk-monitor',
    createdAt: T0,
    settledAt: null,
    cancelReason: null,
    ...overrides,
  };
}

// Repayments. Amounts beyond 2^64 catch any narrowing on the way; every amount differs so a swapped column shows.
function makeRepayment(line: CreditLine, overrides: Partial<Repayment> = {}): Repayment {
  const createdAt = overrides.createdAt ?? T0;
  return {
    id: randomUUID(),
    creditLineId: line.id,
    walletAddress: line.walletAddress,
    provider: 'stripe',
    providerRef: `pi_${randomBytes(12).toString('hex')}`,
    status: 'pending',
    currency: 'usd',
    fiatAmount: BEYOND_U64 + 1n,
    fxRate1e14: 108_000_000_000_000n,
    amount: BEYOND_U64 * 1_000n + 7n,
    appliedAmount: 0n,
    creditedAmount: 0n,
    reversedAmount: 0n,
    failureReason: null,
    parkedReason: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}

function makeProviderEvent(overrides: Partial<ProviderEvent & { payload: Record<string, unknown> }> = {}): ProviderEvent & { payload: Record<string, unknown> } {
  return { provider: 'stripe', eventId: `evt_${randomBytes(8).toString('hex')}`, type: 'payment_intent.succeeded', receivedAt: T0, outcome: 'applied', repaymentId: null, payload: { id: 'evt', nested: { amount: 1000 } }, ...overrides };
}

function makeSettlementRun(overrides: Partial<SettlementRun> = {}): SettlementRun {
  return {
    id: randomUUID(),
    windowFrom: minutes(-24 * 60),
    windowTo: T0,
    status: 'running',
    chargesChecked: 0,
    payoutsChecked: 0,
    findingCount: 0,
    error: null,
    startedAt: minutes(1),
    finishedAt: null,
    ...overrides,
  };
}

function makeFinding(runId: string, overrides: Partial<SettlementFinding> = {}): SettlementFinding {
  return {
    id: randomUUID(),
    runId,
    kind: 'amount_mismatch',
    severity: 'critical',
    providerRef: 'pi_abc',
    repaymentId: randomUUID(),
    expected: '10000 usd',
    actual: '9999 usd',
    createdAt: minutes(2),
    ...overrides,
  };
}

function makeIncomingPayment(id: string, overrides: Partial<IncomingPayment> = {}): IncomingPayment {
  return {
    id,
    pagingToken: id,
    txHash: randomBytes(32).toString('hex'),
    fromAccount: wallet(),
    toAccount: wallet(),
    assetCode: 'USDC',
    assetIssuer: wallet(),
    amount: BEYOND_U64,
    memo: 'rp-0123456789abcdef01234567',
    memoType: 'text',
    createdAt: T0,
    status: 'received',
    recordedAt: minutes(1),
    ...overrides,
  };
}

// Chain transactions. Sequence and fee beyond 2^53 catch any passage through a JS number on the way.
const SEQUENCE = 2n ** 62n + 12_345n;

function makeChainTransaction(overrides: Partial<ChainTransaction> = {}): ChainTransaction {
  const createdAt = overrides.createdAt ?? T0;
  return {
    id: randomUUID(),
    creditLineId: null,
    contractId: StrKey.encodeContract(randomBytes(32)),
    walletAddress: wallet(),
    action: 'draw',
    functionName: 'draw',
    arguments: { amount: '1000000000', borrower: wallet() },
    signer: 'operator',
    sourceAccount: wallet(),
    status: 'pending',
    envelopeXdr: randomBytes(96).toString('base64'),
    txHash: randomBytes(32).toString('hex'),
    sequence: SEQUENCE,
    fee: 100_000n,
    validUntil: new Date(createdAt.getTime() + 5 * 60_000),
    submitAttempts: 1,
    resubmissions: 0,
    error: null,
    ledger: null,
    requestedBy: 'admin:abc123',
    requestId: null,
    createdAt,
    updatedAt: createdAt,
    submittedAt: createdAt,
    settledAt: null,
    ...overrides,
  };
}

/** A transaction acting on a line: its id, contract and wallet. */
const chainTransactionFor = (line: CreditLine, overrides: Partial<ChainTransaction> = {}) =>
  makeChainTransaction({ creditLineId: line.id, contractId: line.contractId ?? StrKey.encodeContract(randomBytes(32)), walletAddress: line.walletAddress, ...overrides });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `work` throws the expected ConflictError code; fails with a readable message otherwise. */
async function expectConflict(work: Promise<unknown>, code: string): Promise<void> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ConflictError ${code}`).toBeInstanceOf(ConflictError);
  expect((error as ConflictError).code).toBe(code);
  expect((error as ConflictError).status).toBe(409);
}

/** A promise plus the function that resolves it: lets a test hold a transaction open at a chosen point. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const ids = (items: { id: string }[]) => items.map((item) => item.id);

describe.each(STORAGE_KINDS)('repository contract on %s', (kind) => {
  let handle: Awaited<ReturnType<typeof openTestStore>>;
  let store: Store;

  beforeAll(async () => {
    handle = await openTestStore(kind);
  });
  beforeEach(async () => {
    store = await handle.reset();
  });
  afterAll(async () => {
    await handle?.close();
  });

  // -------------------------------------------------------------------------------------------
  describe('credit lines', () => {
    it('a line that was inserted is found by id with every field intact', async () => {
      const line = makeLine({ currency: 'EURC', interestRateBps: 750, utilized: 5n, accruedInterest: 2n, lastAccrualAt: minutes(1), updatedAt: minutes(2), collateralBacked: true });
      await store.repos.creditLines.insert(line);
      expect(await store.repos.creditLines.findById(line.id)).toEqual(line);
      const plain = makeLine();
      await store.repos.creditLines.insert(plain);
      expect((await store.repos.creditLines.findById(plain.id))?.collateralBacked).toBe(false);
    });

    it('finds the wallet\'s line that is not closed, and nothing once it is closed', async () => {
      const line = makeLine();
      expect(await store.repos.creditLines.findOpenByWallet(line.walletAddress)).toBeNull();
      await store.repos.creditLines.insert(line);
      expect((await store.repos.creditLines.findOpenByWallet(line.walletAddress))?.id).toBe(line.id);
      await store.repos.creditLines.update({ ...line, status: 'closed', updatedAt: minutes(1) });
      expect(await store.repos.creditLines.findOpenByWallet(line.walletAddress)).toBeNull();
    });

    it('lists the lines that owe something, in id order, in batches', async () => {
      const owing = [makeLine({ utilized: 5n }), makeLine({ utilized: 1n }), makeLine({ utilized: 7n, status: 'suspended' })];
      const settled = [makeLine({ utilized: 0n }), makeLine({ utilized: 3n, status: 'closed' })];
      for (const line of [...owing, ...settled]) await store.repos.creditLines.insert(line);
      const ids = owing.map((l) => l.id).sort();
      const first = await store.repos.creditLines.listOwing({ limit: 2 });
      const rest = await store.repos.creditLines.listOwing({ limit: 2, afterId: first.at(-1)!.id });
      expect([...first, ...rest].map((l) => l.id).filter((id) => ids.includes(id))).toEqual(ids);
      expect([...first, ...rest].some((l) => settled.some((s) => s.id === l.id))).toBe(false);
    });

    it('records each statement notice once and returns only the new ones', async () => {
      const line = makeLine({ utilized: 5n });
      await store.repos.creditLines.insert(line);
      const notice = { creditLineId: line.id, statementDate: minutes(30), kind: 'due_soon' as const, sentAt: minutes(40) };
      expect(await store.repos.statementNotices.record([notice])).toEqual([{ creditLineId: line.id, statementDate: minutes(30), kind: 'due_soon' }]);
      expect(await store.repos.statementNotices.record([notice, { ...notice, kind: 'late' }])).toEqual([{ creditLineId: line.id, statementDate: minutes(30), kind: 'late' }]);
      expect(await store.repos.statementNotices.record([])).toEqual([]);
    });

    it('collateral backing is fixed when the line opens: update leaves it as it was', async () => {
      const backed = makeLine({ collateralBacked: true });
      const plain = makeLine();
      await store.repos.creditLines.insert(backed);
      await store.repos.creditLines.insert(plain);
      await store.repos.creditLines.update({ ...backed, collateralBacked: false, utilized: 3n, updatedAt: minutes(1) });
      await store.repos.creditLines.update({ ...plain, collateralBacked: true, updatedAt: minutes(1) });
      expect(await store.repos.creditLines.findById(backed.id)).toEqual({ ...backed, utilized: 3n, updatedAt: minutes(1) });
      expect(await store.repos.creditLines.findById(plain.id)).toEqual({ ...plain, updatedAt: minutes(1) });
    });

    it('an unknown id is not found, with or without a lock', async () => {
      expect(await store.repos.creditLines.findById(randomUUID())).toBeNull();
      expect(await store.transaction((repos) => repos.creditLines.findByIdForUpdate(randomUUID()))).toBeNull();
    });

    it('findByIdForUpdate inside a transaction returns the same line as findById', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      const locked = await store.transaction((repos) => repos.creditLines.findByIdForUpdate(line.id));
      expect(locked).toEqual(line);
    });

    it('the line handed back is a copy: mutating it does not change what is stored', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      const found = (await store.repos.creditLines.findById(line.id))!;
      found.utilized = 999n;
      found.status = 'closed';
      expect(await store.repos.creditLines.findById(line.id)).toEqual(line);
    });

    it('update persists the mutable terms, balances, status and timestamps', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      const updated: CreditLine = {
        ...line,
        creditLimit: 2_000_0000000n,
        interestRateBps: 300,
        utilized: 150_0000000n,
        accruedInterest: 1_0000000n,
        status: 'suspended',
        lastAccrualAt: minutes(5),
        updatedAt: minutes(6),
      };
      await store.repos.creditLines.update(updated);
      expect(await store.repos.creditLines.findById(line.id)).toEqual(updated);
    });

    it('updating one line leaves the others untouched', async () => {
      const a = makeLine();
      const b = makeLine();
      await store.repos.creditLines.insert(a);
      await store.repos.creditLines.insert(b);
      await store.repos.creditLines.update({ ...a, utilized: 7n, updatedAt: minutes(1) });
      expect(await store.repos.creditLines.findById(b.id)).toEqual(b);
    });

    it('amounts up to the i128 maximum survive a round trip exactly', async () => {
      const line = makeLine({ creditLimit: I128_MAX, utilized: I128_MAX, accruedInterest: I128_MAX - 1n });
      await store.repos.creditLines.insert(line);
      const found = (await store.repos.creditLines.findById(line.id))!;
      expect(found.creditLimit).toBe(I128_MAX);
      expect(found.utilized).toBe(I128_MAX);
      expect(found.accruedInterest).toBe(I128_MAX - 1n);
      expect(typeof found.creditLimit).toBe('bigint');

      // And through update, from a small value up to the maximum and back down by one unit.
      const small = makeLine({ creditLimit: 1n });
      await store.repos.creditLines.insert(small);
      await store.repos.creditLines.update({ ...small, creditLimit: I128_MAX, utilized: I128_MAX - 1n });
      const grown = (await store.repos.creditLines.findById(small.id))!;
      expect(grown.creditLimit).toBe(I128_MAX);
      expect(grown.utilized).toBe(I128_MAX - 1n);
      const [listed] = await store.repos.creditLines.list({ walletAddress: line.walletAddress }, { limit: 10 });
      expect(listed?.creditLimit).toBe(I128_MAX);
    });

    it('a second open line for the same wallet is refused with duplicate_open_line', async () => {
      const first = makeLine();
      await store.repos.creditLines.insert(first);
      const second = makeLine({ walletAddress: first.walletAddress });
      await expectConflict(store.repos.creditLines.insert(second), 'duplicate_open_line');
      expect(await store.repos.creditLines.findById(second.id)).toBeNull();
    });

    it.each<CreditLineStatus>(['suspended', 'defaulted'])('a %s line still blocks a new line for its wallet', async (status) => {
      const first = makeLine({ status });
      await store.repos.creditLines.insert(first);
      await expectConflict(store.repos.creditLines.insert(makeLine({ walletAddress: first.walletAddress })), 'duplicate_open_line');
    });

    it('a closed line does not block a new line for the same wallet', async () => {
      const old = makeLine();
      await store.repos.creditLines.insert(old);
      await store.repos.creditLines.update({ ...old, status: 'closed', updatedAt: minutes(1) });
      const fresh = makeLine({ walletAddress: old.walletAddress, createdAt: minutes(2) });
      await store.repos.creditLines.insert(fresh);
      const lines = await store.repos.creditLines.list({ walletAddress: old.walletAddress }, { limit: 10 });
      expect(lines.map((l) => [l.id, l.status])).toEqual([
        [fresh.id, 'active'],
        [old.id, 'closed'],
      ]);
    });

    it('reopening a closed line while the wallet has another open line is refused with duplicate_open_line', async () => {
      const old = makeLine();
      await store.repos.creditLines.insert(old);
      const closed = { ...old, status: 'closed' as const, updatedAt: minutes(1) };
      await store.repos.creditLines.update(closed);
      const current = makeLine({ walletAddress: old.walletAddress, createdAt: minutes(2) });
      await store.repos.creditLines.insert(current);

      await expectConflict(store.repos.creditLines.update({ ...closed, status: 'active', updatedAt: minutes(3) }), 'duplicate_open_line');
      expect((await store.repos.creditLines.findById(old.id))?.status).toBe('closed');
    });

    it('an open line may be updated (status changes included) without conflicting with itself', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      await store.repos.creditLines.update({ ...line, status: 'suspended' });
      await store.repos.creditLines.update({ ...line, status: 'defaulted' });
      await store.repos.creditLines.update({ ...line, status: 'active' });
      expect((await store.repos.creditLines.findById(line.id))?.status).toBe('active');
    });

    describe('list', () => {
      // Seven lines, two pairs sharing a createdAt so the id tie-break matters.
      let lines: CreditLine[];
      let walletA: string;
      beforeEach(async () => {
        walletA = wallet();
        const closedOfA = makeLine({ walletAddress: walletA, createdAt: minutes(1), status: 'closed' });
        lines = [
          closedOfA,
          makeLine({ createdAt: minutes(2), status: 'suspended' }),
          makeLine({ createdAt: minutes(3) }),
          makeLine({ createdAt: minutes(3) }),
          makeLine({ walletAddress: walletA, createdAt: minutes(4) }),
          makeLine({ createdAt: minutes(5), status: 'suspended' }),
          makeLine({ createdAt: minutes(5), status: 'defaulted' }),
        ];
        // The closed line of wallet A is opened and then closed, as the service does, before A's current line exists.
        await store.repos.creditLines.insert({ ...closedOfA, status: 'active' });
        await store.repos.creditLines.update(closedOfA);
        // Insert out of order: ordering must come from the data, not from insertion order.
        for (const line of [lines[4]!, lines[2]!, lines[6]!, lines[1]!, lines[5]!, lines[3]!]) {
          await store.repos.creditLines.insert(line);
        }
      });

      /** Newest first on (createdAt, id), ids compared as lowercase text (the way PostgreSQL orders uuid). */
      const expectedOrder = (items: CreditLine[]) =>
        [...items].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

      it('returns every line newest first, ties broken by id descending', async () => {
        const listed = await store.repos.creditLines.list({}, { limit: 100 });
        expect(ids(listed)).toEqual(ids(expectedOrder(lines)));
        expect(listed).toEqual(expectedOrder(lines));
      });

      it('respects the limit', async () => {
        const listed = await store.repos.creditLines.list({}, { limit: 2 });
        expect(listed).toHaveLength(2);
        expect(ids(listed)).toEqual(ids((await store.repos.creditLines.list({}, { limit: 100 })).slice(0, 2)));
      });

      it('filters by status', async () => {
        const suspended = await store.repos.creditLines.list({ status: 'suspended' }, { limit: 100 });
        expect(ids(suspended)).toEqual([lines[5]!.id, lines[1]!.id]);
        expect(suspended.every((l) => l.status === 'suspended')).toBe(true);
        expect(ids(await store.repos.creditLines.list({ status: 'defaulted' }, { limit: 100 }))).toEqual([lines[6]!.id]);
      });

      it('filters by wallet, and by wallet and status together', async () => {
        const ofA = await store.repos.creditLines.list({ walletAddress: walletA }, { limit: 100 });
        expect(ids(ofA)).toEqual([lines[4]!.id, lines[0]!.id]);
        expect(ofA.every((l) => l.walletAddress === walletA)).toBe(true);

        expect(ids(await store.repos.creditLines.list({ walletAddress: walletA, status: 'closed' }, { limit: 100 }))).toEqual([lines[0]!.id]);
        expect(ids(await store.repos.creditLines.list({ walletAddress: walletA, status: 'active' }, { limit: 100 }))).toEqual([lines[4]!.id]);
        expect(await store.repos.creditLines.list({ walletAddress: walletA, status: 'suspended' }, { limit: 100 })).toEqual([]);
        expect(await store.repos.creditLines.list({ walletAddress: wallet() }, { limit: 100 })).toEqual([]);
      });

      it('keyset pages with `after` are disjoint and together cover every line in order', async () => {
        const all = await store.repos.creditLines.list({}, { limit: 100 });
        for (const pageSize of [1, 2, 3, 4]) {
          const pages: CreditLine[][] = [];
          let after: { createdAt: Date; id: string } | undefined;
          for (;;) {
            const page = await store.repos.creditLines.list({}, { limit: pageSize, after });
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(pageSize);
            pages.push(page);
            const last = page.at(-1)!;
            after = { createdAt: last.createdAt, id: last.id };
            expect(pages.length).toBeLessThanOrEqual(all.length);
          }
          const seen = pages.flat().map((l) => l.id);
          expect(new Set(seen).size).toBe(seen.length);
          expect(seen).toEqual(ids(all));
        }
      });

      it('the cursor splits lines that share a createdAt by id', async () => {
        const [first, second] = [lines[2]!, lines[3]!].sort((a, b) => (a.id < b.id ? 1 : -1));
        const afterFirst = await store.repos.creditLines.list({}, { limit: 100, after: { createdAt: first!.createdAt, id: first!.id } });
        expect(ids(afterFirst)[0]).toBe(second!.id);
        expect(ids(afterFirst)).not.toContain(first!.id);
      });

      it('paging composes with a filter', async () => {
        const [newer, older] = await store.repos.creditLines.list({ status: 'active' }, { limit: 2 });
        const rest = await store.repos.creditLines.list({ status: 'active' }, { limit: 100, after: { createdAt: older!.createdAt, id: older!.id } });
        const all = await store.repos.creditLines.list({ status: 'active' }, { limit: 100 });
        expect([newer!.id, older!.id, ...ids(rest)]).toEqual(ids(all));
        expect(rest.every((l) => l.status === 'active')).toBe(true);
      });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('credit lines bound to the contract', () => {
    const contract = () => StrKey.encodeContract(randomBytes(32));

    it('contractId and riskScore round-trip, and survive an update', async () => {
      const contractId = contract();
      const line = makeLine({ contractId, riskScore: 42 });
      await store.repos.creditLines.insert(line);
      expect(await store.repos.creditLines.findById(line.id)).toEqual(line);
      await store.repos.creditLines.update({ ...line, riskScore: 77, updatedAt: minutes(1) });
      expect(await store.repos.creditLines.findById(line.id)).toMatchObject({ contractId, riskScore: 77 });
    });

    it('findByChainIdentityForUpdate finds the line by contract and wallet, and nothing else', async () => {
      const contractId = contract();
      const bound = makeLine({ contractId, riskScore: 10 });
      const unbound = makeLine();
      await store.repos.creditLines.insert(bound);
      await store.repos.creditLines.insert(unbound);
      const found = await store.transaction((repos) => repos.creditLines.findByChainIdentityForUpdate(contractId, bound.walletAddress));
      expect(found).toEqual(bound);
      await store.transaction(async (repos) => {
        expect(await repos.creditLines.findByChainIdentityForUpdate(contract(), bound.walletAddress)).toBeNull();
        expect(await repos.creditLines.findByChainIdentityForUpdate(contractId, unbound.walletAddress)).toBeNull();
      });
    });

    it('listBound returns only the lines of that contract, in id order, paging with afterId', async () => {
      const contractId = contract();
      const bound: CreditLine[] = [];
      for (let i = 0; i < 5; i++) bound.push(makeLine({ contractId, createdAt: minutes(i) }));
      for (const line of bound) await store.repos.creditLines.insert(line);
      await store.repos.creditLines.insert(makeLine({ contractId: contract() }));
      await store.repos.creditLines.insert(makeLine());
      const byId = [...bound].sort((a, b) => (a.id < b.id ? -1 : 1));

      expect(ids(await store.repos.creditLines.listBound(contractId, { limit: 100 }))).toEqual(ids(byId));
      const first = await store.repos.creditLines.listBound(contractId, { limit: 2 });
      const second = await store.repos.creditLines.listBound(contractId, { limit: 2, afterId: first.at(-1)!.id });
      const third = await store.repos.creditLines.listBound(contractId, { limit: 2, afterId: second.at(-1)!.id });
      expect(ids([...first, ...second, ...third])).toEqual(ids(byId));
      expect(await store.repos.creditLines.listBound(contractId, { limit: 2, afterId: third.at(-1)!.id })).toEqual([]);
      expect(await store.repos.creditLines.listBound(contract(), { limit: 10 })).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('ledger', () => {
    it('append assigns a strictly increasing seq and returns the stored entry', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      const entries = [
        makeEntry(line.id, { type: 'draw', amount: 100n, principalAmount: 100n, utilizedAfter: 100n }),
        makeEntry(line.id, { type: 'interest', amount: 3n, interestAmount: 3n, principalAmount: 0n, utilizedAfter: 103n, createdAt: minutes(1) }),
        makeEntry(line.id, { type: 'repay', amount: 50n, interestAmount: 3n, principalAmount: 47n, utilizedAfter: 53n, createdAt: minutes(2) }),
      ];
      const appended: LedgerEntry[] = [];
      for (const entry of entries) appended.push(await store.repos.ledger.append(entry));
      appended.forEach((stored, i) => {
        expect(typeof stored.seq).toBe('bigint');
        expect(stored).toEqual({ ...entries[i], seq: stored.seq });
        if (i > 0) expect(stored.seq).toBeGreaterThan(appended[i - 1]!.seq);
      });
    });

    it('listByLine returns only that line, newest first, and pages with `after`', async () => {
      const a = makeLine();
      const b = makeLine();
      await store.repos.creditLines.insert(a);
      await store.repos.creditLines.insert(b);
      const ofA: LedgerEntry[] = [];
      for (let i = 1; i <= 7; i++) {
        ofA.push(await store.repos.ledger.append(makeEntry(a.id, { amount: BigInt(i), principalAmount: BigInt(i), utilizedAfter: BigInt(i) })));
        await store.repos.ledger.append(makeEntry(b.id));
      }
      const newestFirst = [...ofA].reverse();

      expect(await store.repos.ledger.listByLine(a.id, { limit: 100 })).toEqual(newestFirst);

      const pages: LedgerEntry[][] = [];
      let after: bigint | undefined;
      for (;;) {
        const page = await store.repos.ledger.listByLine(a.id, { limit: 3, after });
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(3);
        pages.push(page);
        after = page.at(-1)!.seq;
        expect(pages.length, 'paging must terminate').toBeLessThanOrEqual(ofA.length);
      }
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(newestFirst);
      expect(await store.repos.ledger.listByLine(randomUUID(), { limit: 10 })).toEqual([]);
    });

    it('ledger amounts up to the i128 maximum survive a round trip exactly', async () => {
      const line = makeLine({ creditLimit: I128_MAX });
      await store.repos.creditLines.insert(line);
      const entry = makeEntry(line.id, { amount: I128_MAX, principalAmount: I128_MAX, utilizedAfter: I128_MAX });
      await store.repos.ledger.append(entry);
      const [stored] = await store.repos.ledger.listByLine(line.id, { limit: 1 });
      expect(stored?.amount).toBe(I128_MAX);
      expect(stored?.utilizedAfter).toBe(I128_MAX);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('domain events', () => {
    it('append assigns increasing seqs and listByAggregate returns that aggregate oldest first', async () => {
      const id = randomUUID();
      const first = await store.repos.events.append(makeEvent(id, { type: 'credit_line.created', payload: { creditLine: { id, limit: '10.0000000' }, tags: ['a', 'b'], n: 1, ok: true, none: null } }));
      await store.repos.events.append(makeEvent(randomUUID()));
      await store.repos.events.append(makeEvent(id, { aggregateType: 'something_else' }));
      const second = await store.repos.events.append(makeEvent(id, { type: 'credit_line.drawn', createdAt: minutes(1) }));
      const third = await store.repos.events.append(makeEvent(id, { type: 'credit_line.repaid', createdAt: minutes(2) }));

      expect(second.seq).toBeGreaterThan(first.seq);
      expect(third.seq).toBeGreaterThan(second.seq);
      const listed = await store.repos.events.listByAggregate('credit_line', id);
      expect(listed).toEqual([first, second, third]);
      expect(listed[0]!.payload).toEqual({ creditLine: { id, limit: '10.0000000' }, tags: ['a', 'b'], n: 1, ok: true, none: null });
      expect(await store.repos.events.listByAggregate('credit_line', randomUUID())).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('risk evaluations', () => {
    it('insert returns the evaluation with a seq, and findById round-trips every field exactly', async () => {
      const evaluation = makeEvaluation({ creditLimit: 98_765_432_109_876_543_210n, evaluatedAt: minutes(1), expiresAt: minutes(61) });
      const stored = await store.repos.riskEvaluations.insert(evaluation);
      expect(typeof stored.seq).toBe('bigint');
      expect(stored).toEqual({ ...evaluation, seq: stored.seq });

      const found = (await store.repos.riskEvaluations.findById(evaluation.id))!;
      expect(found).toEqual(stored);
      expect(found.creditLimit).toBe(98_765_432_109_876_543_210n);
      expect(typeof found.creditLimit).toBe('bigint');
      expect(found.signals).toEqual(evaluation.signals);
      expect(found.signals.map((s) => s.points)).toEqual([13.7, 16.67, -1.61, 0]);
      expect(found.signals[1]!.value).toBe(10 / 12);
      expect(found.signals[3]!.value).toBeNull();
      expect(found.inputs.ratios).toEqual({ tiny: 1e-7, third: 1 / 3, negative: -0.125 });
      expect(found.inputs).toEqual(evaluation.inputs);
      expect((found.inputs.activity as { balances: Record<string, unknown> }).balances.XLM).toBe('1234.5678901');
      expect(found.evaluatedAt).toBeInstanceOf(Date);
      expect(found.evaluatedAt.getTime()).toBe(minutes(1).getTime());
      expect(found.expiresAt.getTime()).toBe(minutes(61).getTime());
      expect(found.application).toBeNull();

      const declined = await store.repos.riskEvaluations.insert(makeEvaluation({ decision: 'decline', score: 0, band: 'E', creditLimit: 0n, interestRateBps: 0, signals: [], inputs: {} }));
      expect(declined.seq).toBeGreaterThan(stored.seq);
      expect(await store.repos.riskEvaluations.findById(declined.id)).toEqual(declined);
      expect(await store.repos.riskEvaluations.findById(randomUUID())).toBeNull();
    });

    it('the evaluation handed back is a copy: mutating it does not change what is stored', async () => {
      const evaluation = makeEvaluation();
      const stored = await store.repos.riskEvaluations.insert(evaluation);
      const original = structuredClone(stored);
      // Neither the input, nor what insert returned, nor what findById returned is the stored object.
      evaluation.signals.pop();
      (evaluation.inputs.history as Record<string, unknown>).repayments = 0;
      stored.signals[0]!.points = 99;
      const found = (await store.repos.riskEvaluations.findById(stored.id))!;
      found.signals[1]!.points = 99;
      (found.inputs.activity as { balances: Record<string, unknown> }).balances.XLM = '0';
      found.creditLimit = 1n;
      expect(await store.repos.riskEvaluations.findById(stored.id)).toEqual(original);
      expect((await store.repos.riskEvaluations.latestForWallet(stored.walletAddress))!.signals).toHaveLength(4);

      // Nor is the application handed to markApplied.
      const line = makeLine({ walletAddress: stored.walletAddress });
      await store.repos.creditLines.insert(line);
      const application = makeApplication(line.id);
      await store.repos.riskEvaluations.markApplied(stored.id, application);
      application.by = 'admin:someone-else';
      application.at.setTime(0);
      expect((await store.repos.riskEvaluations.findById(stored.id))?.application).toEqual(makeApplication(line.id));
    });

    it('latestForWallet returns the newest by insertion for that wallet only; null for an unknown wallet', async () => {
      const walletA = wallet();
      const walletB = wallet();
      expect(await store.repos.riskEvaluations.latestForWallet(walletA)).toBeNull();

      await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: walletA, evaluatedAt: minutes(10) }));
      const onlyOfB = await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: walletB, evaluatedAt: minutes(20) }));
      expect(await store.repos.riskEvaluations.latestForWallet(walletB)).toEqual(onlyOfB);
      // Inserted later with an earlier evaluatedAt: insertion order decides.
      const newestOfA = await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: walletA, evaluatedAt: minutes(5), score: 40 }));
      await store.repos.riskEvaluations.insert(makeEvaluation({ evaluatedAt: minutes(30) }));

      expect(await store.repos.riskEvaluations.latestForWallet(walletA)).toEqual(newestOfA);
      expect(await store.repos.riskEvaluations.latestForWallet(walletB)).toEqual(onlyOfB);
      expect(await store.repos.riskEvaluations.latestForWallet(wallet())).toBeNull();
    });

    it('listByWallet pages newest first with `limit` and `after`, and never mixes wallets', async () => {
      const walletA = wallet();
      const walletB = wallet();
      const ofA: RiskEvaluation[] = [];
      const ofB: RiskEvaluation[] = [];
      for (let i = 0; i < 5; i++) {
        ofA.push(await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: walletA, score: 50 + i, evaluatedAt: minutes(10 - i) })));
        if (i < 3) ofB.push(await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: walletB, score: 10 + i, evaluatedAt: minutes(i) })));
      }
      // A history lists summaries: everything but the explanation (signals, inputs).
      const summary = ({ signals: _s, inputs: _i, ...rest }: RiskEvaluation) => rest;
      const newestFirst = [...ofA].reverse().map(summary);

      expect(await store.repos.riskEvaluations.listByWallet(walletA, { limit: 100 })).toEqual(newestFirst);
      expect(await store.repos.riskEvaluations.listByWallet(walletB, { limit: 100 })).toEqual([...ofB].reverse().map(summary));

      const pages: RiskEvaluationSummary[][] = [];
      let after: bigint | undefined;
      for (;;) {
        const page = await store.repos.riskEvaluations.listByWallet(walletA, { limit: 2, after });
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(2);
        expect(page.every((e) => e.walletAddress === walletA)).toBe(true);
        pages.push(page);
        after = page.at(-1)!.seq;
        expect(pages.length, 'paging must terminate').toBeLessThanOrEqual(ofA.length);
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual(newestFirst);

      // A cursor taken from another wallet's evaluation still returns only this wallet's, older than it.
      const middleOfB = ofB[1]!;
      expect(ids(await store.repos.riskEvaluations.listByWallet(walletA, { limit: 100, after: middleOfB.seq }))).toEqual(
        ids(newestFirst.filter((e) => e.seq < middleOfB.seq)),
      );
      expect(await store.repos.riskEvaluations.listByWallet(wallet(), { limit: 10 })).toEqual([]);
    });

    it('markApplied records the application once; a second call returns false and keeps the first', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      const otherLine = makeLine();
      await store.repos.creditLines.insert(otherLine);
      const stored = await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: line.walletAddress }));
      const untouched = await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: line.walletAddress, evaluatedAt: minutes(1) }));

      const application = makeApplication(line.id, { creditLimit: I128_MAX, interestRateBps: 1150, rateConstraint: 'max_step' });
      expect(await store.repos.riskEvaluations.markApplied(stored.id, application)).toBe(true);
      const applied = (await store.repos.riskEvaluations.findById(stored.id))!;
      expect(applied).toEqual({ ...stored, application });
      expect(applied.application!.creditLimit).toBe(I128_MAX);
      expect(typeof applied.application!.creditLimit).toBe('bigint');
      expect(applied.application!.at).toBeInstanceOf(Date);

      const second = makeApplication(otherLine.id, { at: minutes(6), by: 'admin:other', creditLimit: 1n, interestRateBps: 1200, rateConstraint: 'none' });
      expect(await store.repos.riskEvaluations.markApplied(stored.id, second)).toBe(false);
      expect(await store.repos.riskEvaluations.findById(stored.id)).toEqual({ ...stored, application });

      // The other evaluation of the wallet is not applied; the listings show the application too.
      expect(await store.repos.riskEvaluations.findById(untouched.id)).toEqual(untouched);
      const summary = ({ signals: _s, inputs: _i, ...rest }: RiskEvaluation) => rest;
      expect(await store.repos.riskEvaluations.listByWallet(line.walletAddress, { limit: 10 })).toEqual([summary(untouched), summary({ ...stored, application })]);
      expect(await store.repos.riskEvaluations.markApplied(randomUUID(), makeApplication(line.id))).toBe(false);
    });

    it('markApplied with rateConstraint none and min_interval round-trips too', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      for (const rateConstraint of ['none', 'min_interval'] as const) {
        const stored = await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: line.walletAddress }));
        const application = makeApplication(line.id, { rateConstraint, interestRateBps: 0, creditLimit: 0n });
        expect(await store.repos.riskEvaluations.markApplied(stored.id, application)).toBe(true);
        expect((await store.repos.riskEvaluations.findById(stored.id))?.application).toEqual(application);
      }
    });

    it('concurrent markApplied calls of one evaluation: exactly one wins', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      const stored = await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: line.walletAddress }));
      const attempts = Array.from({ length: 5 }, (_, i) => makeApplication(line.id, { by: `admin:${i}`, interestRateBps: 1000 + i }));
      const results = await Promise.all(attempts.map((a) => store.transaction((repos) => repos.riskEvaluations.markApplied(stored.id, a))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = attempts[results.indexOf(true)]!;
      expect((await store.repos.riskEvaluations.findById(stored.id))?.application).toEqual(winner);
    });

    it('markApplied inside a unit of work that throws leaves the evaluation unapplied', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      const stored = await store.repos.riskEvaluations.insert(makeEvaluation({ walletAddress: line.walletAddress }));
      await expect(
        store.transaction(async (repos) => {
          expect(await repos.riskEvaluations.markApplied(stored.id, makeApplication(line.id))).toBe(true);
          throw new Error('line update failed');
        }),
      ).rejects.toThrow('line update failed');
      expect(await store.repos.riskEvaluations.findById(stored.id)).toEqual(stored);
      expect(await store.repos.riskEvaluations.markApplied(stored.id, makeApplication(line.id))).toBe(true);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('credit history', () => {
    const historyOf = (walletAddress: string) => store.repos.creditHistory.forWallet(walletAddress);

    /** Wallet A: a closed line (inserted after the current one) and a current line, each with a ledger; wallet B: one line. */
    async function twoLinesAndANeighbour() {
      const walletA = wallet();
      const current = makeLine({ walletAddress: walletA, createdAt: minutes(100), creditLimit: 1_000_0000000n, utilized: 30_0000000n });
      const closed = makeLine({ walletAddress: walletA, createdAt: minutes(1), creditLimit: 500_0000000n, status: 'closed', utilized: 0n, updatedAt: minutes(50) });
      const neighbour = makeLine({ createdAt: minutes(0), utilized: 70_0000000n });
      // Insertion order must not decide: the newer line goes in first.
      await store.repos.creditLines.insert(current);
      await store.repos.creditLines.insert(closed);
      await store.repos.creditLines.insert(neighbour);

      const append = (line: CreditLine, type: LedgerEntry['type'], amount: bigint, utilizedAfter: bigint, createdAt: Date) =>
        store.repos.ledger.append(
          makeEntry(line.id, { type, amount, interestAmount: type === 'interest' ? amount : 0n, principalAmount: type === 'interest' ? 0n : amount, utilizedAfter, createdAt }),
        );
      // Interleaved across the three lines.
      await append(closed, 'draw', 100_0000000n, 100_0000000n, minutes(2));
      await append(neighbour, 'draw', 70_0000000n, 70_0000000n, minutes(3));
      await append(closed, 'interest', 1_0000000n, 101_0000000n, minutes(20));
      await append(current, 'draw', 50_0000000n, 50_0000000n, minutes(101));
      await append(closed, 'repay', 101_0000000n, 0n, minutes(40));
      await append(current, 'repay', 20_0000000n, 30_0000000n, minutes(130));
      return { walletA, current, closed, neighbour };
    }

    it('a wallet without lines has an empty history', async () => {
      // Events of some other aggregate are no lines of this wallet.
      await store.repos.events.append(makeEvent(randomUUID(), { type: 'credit_line.defaulted' }));
      expect(await historyOf(wallet())).toEqual({ lines: [], defaults: 0, liquidations: 0 });
    });

    it("returns the wallet's lines in creation order, each with its ledger oldest first, and nothing of other wallets", async () => {
      const { walletA, current, closed, neighbour } = await twoLinesAndANeighbour();
      expect(await historyOf(walletA)).toEqual({
        lines: [
          {
            line: { id: closed.id, createdAt: minutes(1), status: 'closed', creditLimit: 500_0000000n, utilized: 0n },
            entries: [
              { type: 'draw', amount: 100_0000000n, utilizedAfter: 100_0000000n, createdAt: minutes(2) },
              { type: 'interest', amount: 1_0000000n, utilizedAfter: 101_0000000n, createdAt: minutes(20) },
              { type: 'repay', amount: 101_0000000n, utilizedAfter: 0n, createdAt: minutes(40) },
            ],
          },
          {
            line: { id: current.id, createdAt: minutes(100), status: 'active', creditLimit: 1_000_0000000n, utilized: 30_0000000n },
            entries: [
              { type: 'draw', amount: 50_0000000n, utilizedAfter: 50_0000000n, createdAt: minutes(101) },
              { type: 'repay', amount: 20_0000000n, utilizedAfter: 30_0000000n, createdAt: minutes(130) },
            ],
          },
        ],
        defaults: 0,
        liquidations: 0,
      });
      expect(await historyOf(neighbour.walletAddress)).toEqual({
        lines: [
          {
            line: { id: neighbour.id, createdAt: minutes(0), status: 'active', creditLimit: 1_000_0000000n, utilized: 70_0000000n },
            entries: [{ type: 'draw', amount: 70_0000000n, utilizedAfter: 70_0000000n, createdAt: minutes(3) }],
          },
        ],
        defaults: 0,
        liquidations: 0,
      });
    });

    it('lines of a wallet created at the same instant come in id order', async () => {
      const walletA = wallet();
      const twins = [makeLine({ walletAddress: walletA, status: 'closed' }), makeLine({ walletAddress: walletA, status: 'closed' })];
      for (const line of twins) await store.repos.creditLines.insert(line);
      await store.repos.ledger.append(makeEntry(twins[0]!.id));
      const byId = [...twins].sort((a, b) => (a.id < b.id ? -1 : 1));
      const history = await historyOf(walletA);
      expect(history.lines.map((l) => l.entries.length)).toEqual(byId.map((l) => (l.id === twins[0]!.id ? 1 : 0)));
    });

    it('a line without ledger entries is listed with no entries, and the line is read as it now is', async () => {
      const line = makeLine({ creditLimit: I128_MAX });
      await store.repos.creditLines.insert(line);
      await store.repos.creditLines.update({ ...line, status: 'suspended', utilized: I128_MAX - 1n, updatedAt: minutes(1) });
      const history = await historyOf(line.walletAddress);
      expect(history).toEqual({ lines: [{ line: { id: line.id, createdAt: T0, status: 'suspended', creditLimit: I128_MAX, utilized: I128_MAX - 1n }, entries: [] }], defaults: 0, liquidations: 0 });
      expect(typeof history.lines[0]!.line.utilized).toBe('bigint');
    });

    it("counts defaulted and liquidated events of the wallet's lines only", async () => {
      const { walletA, current, closed, neighbour } = await twoLinesAndANeighbour();
      const events: [string, Partial<Omit<DomainEvent, 'seq'>>][] = [
        [closed.id, { type: 'credit_line.created' }],
        [closed.id, { type: 'credit_line.defaulted', createdAt: minutes(30) }],
        [closed.id, { type: 'liquidation.executed', createdAt: minutes(31) }],
        [current.id, { type: 'credit_line.drawn', createdAt: minutes(101) }],
        [current.id, { type: 'liquidation.executed', createdAt: minutes(140) }],
        [current.id, { type: 'liquidation.executed', createdAt: minutes(141) }],
        [current.id, { type: 'credit_line.defaulted', createdAt: minutes(142) }],
        [current.id, { type: 'credit_line.reinstated', createdAt: minutes(143) }],
        // Same ids under another aggregate type: not events of the line.
        [closed.id, { type: 'credit_line.defaulted', aggregateType: 'collateral' }],
        [current.id, { type: 'liquidation.executed', aggregateType: 'collateral' }],
        // Another wallet's line.
        [neighbour.id, { type: 'credit_line.defaulted' }],
        [neighbour.id, { type: 'liquidation.executed' }],
        // A line that is not stored at all.
        [randomUUID(), { type: 'credit_line.defaulted' }],
      ];
      for (const [aggregateId, overrides] of events) await store.repos.events.append(makeEvent(aggregateId, overrides));

      const history = await historyOf(walletA);
      expect(history.defaults).toBe(2);
      expect(history.liquidations).toBe(3);
      expect(history.lines.map((l) => l.line.createdAt)).toEqual([minutes(1), minutes(100)]);
      expect(await historyOf(neighbour.walletAddress)).toMatchObject({ defaults: 1, liquidations: 1 });
      expect(await historyOf(wallet())).toEqual({ lines: [], defaults: 0, liquidations: 0 });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('collateral assets', () => {
    const assets = () => store.repos.collateralAssets;

    it('an asset of each price-source kind round-trips; listAssets is in code order; an unknown code is not found', async () => {
      const sources: PriceSource[] = [
        { kind: 'reflector', contractId: StrKey.encodeContract(randomBytes(32)), asset: { stellar: StrKey.encodeContract(randomBytes(32)) } },
        { kind: 'reflector', contractId: StrKey.encodeContract(randomBytes(32)), asset: { other: 'BTC' } },
        { kind: 'horizon', base: 'native', counter: { code: 'USDC', issuer: wallet() } },
        { kind: 'horizon', base: { code: 'AQUA', issuer: wallet() }, counter: { code: 'USDC', issuer: wallet() } },
        { kind: 'manual' },
      ];
      const inserted = [
        makeAsset({ code: 'XLM', priceSource: sources[2]!, decimals: 7 }),
        makeAsset({ code: 'BTC', priceSource: sources[1]!, decimals: 8, createdAt: minutes(1) }),
        makeAsset({ code: 'SOLVBTC1', priceSource: sources[0]!, decimals: 18, createdAt: minutes(2) }),
        makeAsset({ code: 'AQUA', priceSource: sources[3]!, decimals: 0, createdAt: minutes(3) }),
        makeAsset({ code: 'EURC', priceSource: sources[4]!, decimals: 6, createdAt: minutes(4) }),
      ];
      for (const asset of inserted) await assets().insertAsset(asset);
      for (const asset of inserted) expect(await assets().findAsset(asset.code)).toEqual(asset);
      expect(await assets().listAssets()).toEqual([...inserted].sort((a, b) => (a.code < b.code ? -1 : 1)));
      expect(await assets().findAsset('NOPE')).toBeNull();
    });

    it('a second asset with the same code is refused with asset_exists and the first is kept', async () => {
      const asset = makeAsset();
      await assets().insertAsset(asset);
      await expectConflict(assets().insertAsset(makeAsset({ decimals: 2, priceSource: { kind: 'horizon', base: 'native', counter: { code: 'USDC', issuer: wallet() } } })), 'asset_exists');
      expect(await assets().listAssets()).toEqual([asset]);
    });

    it('parameter versions round-trip every field; paramsHistory is newest first; currentParams picks the highest version', async () => {
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      await assets().insertAsset(makeAsset({ code: 'BTC' }));
      await assets().insertAsset(makeAsset({ code: 'EURC' }));
      const v1 = makeParams('XLM', 1, { params: { ...DEFAULT_ASSET_PARAMS } });
      const v2 = makeParams('XLM', 2, { createdBy: 'admin:other', effectiveFrom: minutes(90) });
      const v3 = makeParams('XLM', 3, { params: { ...DISTINCT_PARAMS, baseLtvBps: 5_000, yieldAprBps: 100_000 } });
      const btc = makeParams('BTC', 7);
      // Out of order: the highest version wins, not the last inserted.
      for (const v of [v2, v3, btc, v1]) await assets().insertParams(v);

      expect(await assets().paramsHistory('XLM')).toEqual([v3, v2, v1]);
      expect(await assets().paramsHistory('BTC')).toEqual([btc]);
      expect(await assets().paramsHistory('EURC')).toEqual([]);
      const current = await assets().currentParams(['XLM', 'BTC', 'EURC', 'NOPE']);
      expect([...current.keys()].sort()).toEqual(['BTC', 'XLM']);
      expect(current.get('XLM')).toEqual(v3);
      expect(current.get('BTC')).toEqual(btc);
      expect(await assets().currentParams([])).toEqual(new Map());
      expect(await assets().currentParams(['BTC'])).toEqual(new Map([['BTC', btc]]));
      // Every field, by name: the distinct values catch a swapped column.
      const [stored] = await assets().paramsHistory('BTC');
      expect(stored!.params).toEqual(DISTINCT_PARAMS);
      expect(Object.keys(stored!.params).sort()).toEqual(Object.keys(DEFAULT_ASSET_PARAMS).sort());
      expect(stored!.effectiveFrom).toBeInstanceOf(Date);
    });

    it('a version that exists is refused with params_version_conflict; other assets number their versions independently', async () => {
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      await assets().insertAsset(makeAsset({ code: 'BTC' }));
      const first = makeParams('XLM', 1);
      await assets().insertParams(first);
      await expectConflict(assets().insertParams(makeParams('XLM', 1, { createdBy: 'admin:late', params: { ...DEFAULT_ASSET_PARAMS } })), 'params_version_conflict');
      await assets().insertParams(makeParams('BTC', 1));
      expect(await assets().paramsHistory('XLM')).toEqual([first]);
    });

    it('concurrent changes writing the same next version: exactly one wins', async () => {
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      await assets().insertParams(makeParams('XLM', 1));
      const attempts = Array.from({ length: 5 }, (_, i) => makeParams('XLM', 2, { createdBy: `admin:${i}` }));
      const results = await Promise.allSettled(
        attempts.map((v) =>
          store.transaction(async (repos) => {
            await repos.collateralAssets.insertParams(v);
            await sleep(5);
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') await expectConflict(Promise.reject(r.reason), 'params_version_conflict');
      const winner = attempts[results.findIndex((r) => r.status === 'fulfilled')]!;
      expect((await assets().currentParams(['XLM'])).get('XLM')).toEqual(winner);
    });

    it('parameters, prices and volatility of an unknown asset are refused', async () => {
      await expect(assets().insertParams(makeParams('NOPE', 1))).rejects.toThrow();
      await expect(assets().recordPrice(makePrice('NOPE', T0, 1n))).rejects.toThrow();
      await expect(assets().recordVolatility([makeVolatility('NOPE', 7, T0, 10)])).rejects.toThrow();
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      // One batch: the unknown asset fails all of it.
      await expect(assets().recordVolatility([makeVolatility('XLM', 7, T0, 10), makeVolatility('NOPE', 7, T0, 10)])).rejects.toThrow();
      expect(await assets().latestVolatility(['XLM'])).toEqual(new Map());
    });

    it('recordPrice assigns growing ids and returns the stored observation; prices beyond 2^64 round-trip', async () => {
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      await assets().insertAsset(makeAsset({ code: 'BTC' }));
      const a = await assets().recordPrice(makePrice('XLM', T0, 12_345_678_901_234n, { source: `reflector:${StrKey.encodeContract(randomBytes(32))}` }));
      const b = await assets().recordPrice(makePrice('BTC', minutes(1), BEYOND_U64 * 1_000_000n, { source: 'horizon' }));
      const c = await assets().recordPrice(makePrice('XLM', minutes(2), 1n));
      expect(typeof a.id).toBe('bigint');
      expect(b.id).toBeGreaterThan(a.id);
      expect(c.id).toBeGreaterThan(b.id);
      expect(b).toEqual({ ...makePrice('BTC', minutes(1), BEYOND_U64 * 1_000_000n, { source: 'horizon' }), id: b.id });
      const latest = await assets().latestPrices(['XLM', 'BTC']);
      expect(latest.get('BTC')).toEqual(b);
      expect(latest.get('BTC')!.price1e14).toBe(BEYOND_U64 * 1_000_000n);
      expect(latest.get('XLM')).toEqual(c);
    });

    it('latestPrices takes the latest observedAt (not the latest recorded), ties broken by the later id', async () => {
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      await assets().insertAsset(makeAsset({ code: 'BTC' }));
      await assets().insertAsset(makeAsset({ code: 'EURC' }));
      await assets().recordPrice(makePrice('XLM', minutes(10), 100n));
      const newestXlm = await assets().recordPrice(makePrice('XLM', minutes(20), 200n));
      // Recorded later but observed earlier: not the latest.
      await assets().recordPrice(makePrice('XLM', minutes(15), 150n, { recordedAt: minutes(60) }));
      await assets().recordPrice(makePrice('BTC', minutes(30), 300n));
      const tieWinner = await assets().recordPrice(makePrice('BTC', minutes(30), 301n, { source: 'second' }));
      await assets().recordPrice(makePrice('BTC', minutes(29), 299n));

      const latest = await assets().latestPrices(['XLM', 'BTC', 'EURC', 'NOPE']);
      expect([...latest.keys()].sort()).toEqual(['BTC', 'XLM']);
      expect(latest.get('XLM')).toEqual(newestXlm);
      expect(latest.get('BTC')).toEqual(tieWinner);
      expect(await assets().latestPrices([])).toEqual(new Map());
    });

    it('dailyCloses gives the last observation of each UTC day since `since`, oldest day first', async () => {
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      await assets().insertAsset(makeAsset({ code: 'BTC' }));
      const observations: Array<[string, bigint]> = [
        ['2024-12-30T12:00:00.000Z', 1n], // before `since`
        ['2024-12-31T00:00:00.000Z', 2n], // exactly `since`: counted, the only one of its day
        ['2025-01-01T23:59:59.999Z', 13n], // the close of Jan 1, a millisecond before midnight
        ['2025-01-01T00:00:00.000Z', 11n],
        ['2025-01-02T00:00:00.000Z', 21n], // just after midnight: Jan 2, not Jan 1
        ['2025-01-01T12:00:00.000Z', 12n],
        ['2025-01-03T18:00:00.000Z', 31n],
        ['2025-01-03T18:00:00.000Z', 32n], // same instant, recorded later: the higher id closes the day
        ['2025-01-02T06:30:00.000Z', 22n],
        ['2025-01-03T09:00:00.000Z', 30n],
      ];
      for (const [iso, price] of observations) await assets().recordPrice(makePrice('XLM', at(iso), price));
      await assets().recordPrice(makePrice('BTC', at('2025-01-04T12:00:00.000Z'), 999n));

      expect(await assets().dailyCloses('XLM', at('2024-12-31T00:00:00.000Z'))).toEqual([
        { day: '2024-12-31', price1e14: 2n },
        { day: '2025-01-01', price1e14: 13n },
        { day: '2025-01-02', price1e14: 22n },
        { day: '2025-01-03', price1e14: 32n },
      ]);
      // `since` inside a day: that day closes on what is left of it.
      expect(await assets().dailyCloses('XLM', at('2025-01-02T03:00:00.000Z'))).toEqual([
        { day: '2025-01-02', price1e14: 22n },
        { day: '2025-01-03', price1e14: 32n },
      ]);
      expect(await assets().dailyCloses('XLM', at('2025-01-05T00:00:00.000Z'))).toEqual([]);
      expect(await assets().dailyCloses('EURC', T0)).toEqual([]);
    });

    it('latestVolatility gives the latest figure per asset and window; a repeat of (asset, window, computedAt) is ignored', async () => {
      await assets().insertAsset(makeAsset({ code: 'XLM' }));
      await assets().insertAsset(makeAsset({ code: 'BTC' }));
      await assets().insertAsset(makeAsset({ code: 'EURC' }));
      const latestXlm7 = makeVolatility('XLM', 7, minutes(20), 4_500);
      const latestXlm30 = makeVolatility('XLM', 30, minutes(10), 6_100);
      const onlyBtc30 = makeVolatility('BTC', 30, minutes(5), 3_000);
      await assets().recordVolatility([makeVolatility('XLM', 7, minutes(10), 4_000), latestXlm30, onlyBtc30]);
      // The batch repeats a key of its own and one already stored: both repeats are skipped.
      await assets().recordVolatility([latestXlm7, { ...latestXlm7, sigmaBps: 1 }, { ...latestXlm30, sigmaBps: 2, returns: 3 }, makeVolatility('XLM', 30, minutes(5), 7_000)]);
      await assets().recordVolatility([]);

      const latest = await assets().latestVolatility(['XLM', 'BTC', 'EURC']);
      expect([...latest.keys()].sort()).toEqual(['BTC', 'XLM']);
      expect(latest.get('XLM')).toEqual({ 7: latestXlm7, 30: latestXlm30 });
      expect(latest.get('BTC')).toEqual({ 30: onlyBtc30 });
      expect(await assets().latestVolatility([])).toEqual(new Map());
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('collateral positions', () => {
    const positions = () => store.repos.collateralPositions;
    beforeEach(async () => {
      for (const code of ['XLM', 'BTC', 'AQUA', 'USDC']) await store.repos.collateralAssets.insertAsset(makeAsset({ code }));
    });

    it('a position round-trips every field, quantities beyond 2^64 included; an unknown id is not found', async () => {
      const position = makePosition({ quantity: I128_MAX, yieldEarned: BEYOND_U64, yieldCheckpointAt: minutes(3), createdAt: minutes(1), updatedAt: minutes(4) });
      await positions().insert(position);
      const found = await positions().findById(position.id);
      expect(found).toEqual(position);
      expect(typeof found!.quantity).toBe('bigint');
      expect(await positions().findById(randomUUID())).toBeNull();
      // What was handed back is a copy.
      found!.quantity = 0n;
      expect(await positions().findById(position.id)).toEqual(position);
    });

    it("listByWallet and listByWalletForUpdate return the wallet's positions in asset order", async () => {
      const owner = wallet();
      const mine = ['XLM', 'AQUA', 'BTC'].map((assetCode, i) => makePosition({ walletAddress: owner, assetCode, quantity: BigInt(i) }));
      for (const p of mine) await positions().insert(p);
      await positions().insert(makePosition({ assetCode: 'AQUA' }));
      const ordered = [...mine].sort((a, b) => (a.assetCode < b.assetCode ? -1 : 1));
      expect(await positions().listByWallet(owner)).toEqual(ordered);
      expect(await store.transaction((repos) => repos.collateralPositions.listByWalletForUpdate(owner))).toEqual(ordered);
      expect(await positions().listByWallet(wallet())).toEqual([]);
    });

    it('a second position of a wallet in the same asset is refused', async () => {
      const position = makePosition();
      await positions().insert(position);
      await expect(positions().insert(makePosition({ walletAddress: position.walletAddress, quantity: 5n }))).rejects.toThrow();
      await positions().insert(makePosition({ walletAddress: position.walletAddress, assetCode: 'BTC' }));
      expect((await positions().listByWallet(position.walletAddress)).map((p) => [p.assetCode, p.quantity])).toEqual([
        ['BTC', 1_000_0000000n],
        ['XLM', position.quantity],
      ]);
    });

    it('update changes the balances and their timestamps only, not the identity of the position', async () => {
      const position = makePosition();
      await positions().insert(position);
      const updated = { ...position, quantity: BEYOND_U64, yieldEarned: 7n, yieldCheckpointAt: minutes(10), updatedAt: minutes(11) };
      await positions().update({ ...updated, walletAddress: wallet(), assetCode: 'BTC', createdAt: minutes(99) });
      expect(await positions().findById(position.id)).toEqual(updated);
      // An update of a position that does not exist is a no-op.
      await positions().update(makePosition());
      expect(await positions().listByWallet(position.walletAddress)).toEqual([updated]);
    });

    it('appendMovement assigns growing seqs; movements are newest first, page with `after`, and never mix positions', async () => {
      const position = makePosition();
      const other = makePosition({ assetCode: 'BTC' });
      await positions().insert(position);
      await positions().insert(other);
      const executionId = randomUUID();
      const specs: Array<Partial<Omit<CollateralMovement, 'seq'>>> = [
        { type: 'deposit', quantity: BEYOND_U64, quantityAfter: BEYOND_U64 },
        { type: 'yield', quantity: 3n, quantityAfter: BEYOND_U64 + 3n, createdAt: minutes(1) },
        { type: 'withdrawal', quantity: 1n, quantityAfter: BEYOND_U64 + 2n, createdAt: minutes(2) },
        { type: 'stop_loss_sale', quantity: 2n, quantityAfter: BEYOND_U64, executionId, createdAt: minutes(3) },
        { type: 'liquidation_seizure', quantity: BEYOND_U64, quantityAfter: 0n, executionId, createdAt: minutes(4) },
      ];
      const appended: CollateralMovement[] = [];
      for (const spec of specs) {
        const movement = makeMovement(position.id, spec);
        const stored = await positions().appendMovement(movement);
        expect(stored).toEqual({ ...movement, seq: stored.seq });
        expect(typeof stored.seq).toBe('bigint');
        if (appended.length > 0) expect(stored.seq).toBeGreaterThan(appended.at(-1)!.seq);
        appended.push(stored);
        await positions().appendMovement(makeMovement(other.id));
      }
      const newestFirst = [...appended].reverse();
      expect(await positions().movements(position.id, { limit: 100 })).toEqual(newestFirst);

      const pages: CollateralMovement[][] = [];
      let after: bigint | undefined;
      for (;;) {
        const page = await positions().movements(position.id, { limit: 2, after });
        if (page.length === 0) break;
        pages.push(page);
        after = page.at(-1)!.seq;
        expect(pages.length, 'paging must terminate').toBeLessThanOrEqual(appended.length);
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual(newestFirst);
      expect(await positions().movements(other.id, { limit: 100 })).toHaveLength(5);
      expect(await positions().movements(randomUUID(), { limit: 10 })).toEqual([]);
    });

    it('a position in an unknown asset, and a movement of an unknown position, are refused', async () => {
      await expect(positions().insert(makePosition({ assetCode: 'NOPE' }))).rejects.toThrow();
      await expect(positions().appendMovement(makeMovement(randomUUID()))).rejects.toThrow();
    });

    it('holdersOf lists the wallets holding a non-zero quantity of the asset in address order, paging after a wallet', async () => {
      const holders = Array.from({ length: 5 }, () => wallet());
      for (const w of holders) await positions().insert(makePosition({ walletAddress: w, assetCode: 'XLM', quantity: 1n }));
      // Emptied positions and other assets are no holders of XLM.
      const emptied = makePosition({ assetCode: 'XLM', quantity: 5n });
      await positions().insert(emptied);
      await positions().update({ ...emptied, quantity: 0n });
      await positions().insert(makePosition({ assetCode: 'XLM', quantity: 0n }));
      await positions().insert(makePosition({ assetCode: 'BTC', quantity: 10n }));
      await positions().insert(makePosition({ walletAddress: holders[0]!, assetCode: 'BTC', quantity: 0n }));
      const sorted = [...holders].sort();

      expect(await positions().holdersOf('XLM', { limit: 100 })).toEqual(sorted);
      const first = await positions().holdersOf('XLM', { limit: 2 });
      const second = await positions().holdersOf('XLM', { limit: 2, afterWallet: first.at(-1)! });
      const third = await positions().holdersOf('XLM', { limit: 2, afterWallet: second.at(-1)! });
      expect([...first, ...second, ...third]).toEqual(sorted);
      expect(third).toHaveLength(1);
      expect(await positions().holdersOf('XLM', { limit: 2, afterWallet: third.at(-1)! })).toEqual([]);
      // A cursor that is no holder still pages from its place in the order.
      expect(await positions().holdersOf('XLM', { limit: 100, afterWallet: emptied.walletAddress })).toEqual(sorted.filter((w) => w > emptied.walletAddress));
      expect(await positions().holdersOf('BTC', { limit: 100 })).toHaveLength(1);
      expect(await positions().holdersOf('AQUA', { limit: 100 })).toEqual([]);
    });

    it("accounts gives every requested wallet its positions and its open collateral-backed line's debt, rate and id", async () => {
      const withLine = wallet();
      const positionsOfWithLine = [makePosition({ walletAddress: withLine, assetCode: 'XLM' }), makePosition({ walletAddress: withLine, assetCode: 'BTC', quantity: 0n })];
      for (const p of positionsOfWithLine) await positions().insert(p);
      // An earlier collateral-backed line, closed: ignored; the open one counts.
      const closedBacked = makeLine({ walletAddress: withLine, collateralBacked: true, status: 'closed', utilized: 1n, createdAt: minutes(-10) });
      await store.repos.creditLines.insert(closedBacked);
      const open = makeLine({ walletAddress: withLine, collateralBacked: true, status: 'suspended', utilized: BEYOND_U64, interestRateBps: 875 });
      await store.repos.creditLines.insert(open);

      // A wallet with positions and only a line that is not collateral-backed.
      const plainLineWallet = wallet();
      const plainPosition = makePosition({ walletAddress: plainLineWallet, assetCode: 'AQUA', quantity: 9n });
      await positions().insert(plainPosition);
      await store.repos.creditLines.insert(makeLine({ walletAddress: plainLineWallet, utilized: 500n }));
      // A wallet with only a closed collateral-backed line, one with a line but no positions, and one with nothing.
      const closedOnly = wallet();
      await store.repos.creditLines.insert(makeLine({ walletAddress: closedOnly, collateralBacked: true, status: 'closed', utilized: 3n }));
      const lineOnly = wallet();
      const lineOfLineOnly = makeLine({ walletAddress: lineOnly, collateralBacked: true, status: 'defaulted', utilized: 0n, interestRateBps: 0 });
      await store.repos.creditLines.insert(lineOfLineOnly);
      const nothing = wallet();
      // Not asked for: absent.
      await positions().insert(makePosition());

      const accounts = await positions().accounts([withLine, plainLineWallet, closedOnly, lineOnly, nothing]);
      expect([...accounts.keys()].sort()).toEqual([withLine, plainLineWallet, closedOnly, lineOnly, nothing].sort());
      expect(accounts.get(withLine)).toEqual({
        positions: [...positionsOfWithLine].sort((a, b) => (a.assetCode < b.assetCode ? -1 : 1)),
        debt: BEYOND_U64,
        lineId: open.id,
        interestRateBps: 875,
        lastAccrualAt: open.lastAccrualAt,
      });
      const none = { debt: 0n, lineId: null, interestRateBps: null, lastAccrualAt: null };
      expect(accounts.get(plainLineWallet)).toEqual({ positions: [plainPosition], ...none });
      expect(accounts.get(closedOnly)).toEqual({ positions: [], ...none });
      expect(accounts.get(lineOnly)).toEqual({ positions: [], debt: 0n, lineId: lineOfLineOnly.id, interestRateBps: 0, lastAccrualAt: lineOfLineOnly.lastAccrualAt });
      expect(accounts.get(nothing)).toEqual({ positions: [], ...none });
      expect(await positions().accounts([])).toEqual(new Map());
      // A wallet asked for twice is one account; inside a unit of work the answer is the same.
      expect(await positions().accounts([withLine, withLine])).toEqual(new Map([[withLine, accounts.get(withLine)]]));
      expect(await store.transaction((repos) => repos.collateralPositions.accounts([withLine, plainLineWallet, closedOnly, lineOnly, nothing]))).toEqual(accounts);
      // Bounded to the wallets' span (as the monitor reads a run of holders): the same accounts.
      // (Addresses are upper-case letters and 2-7 of one length: every collation orders them as code points do.)
      const ordered = [withLine, plainLineWallet, closedOnly, lineOnly, nothing].sort();
      expect(await positions().accounts(ordered, { first: ordered[0]!, last: ordered.at(-1)! })).toEqual(accounts);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('risk executions', () => {
    const executions = () => store.repos.riskExecutions;
    async function openLine(overrides: Partial<CreditLine> = {}): Promise<CreditLine> {
      const line = makeLine({ collateralBacked: true, ...overrides });
      await store.repos.creditLines.insert(line);
      return line;
    }

    it('reads, inserts and cancels the pending orders of a batch in one statement each', async () => {
      const [a, b, c] = [await openLine(), await openLine(), await openLine()];
      const pendingA = makeExecution(a);
      await executions().insert(pendingA);
      expect([...(await executions().pendingFor([a.walletAddress, b.walletAddress])).keys()]).toEqual([a.walletAddress]);
      // A wallet that already has a pending order is skipped, the others go in.
      expect(await executions().insertMany([makeExecution(a), makeExecution(b), makeExecution(c)])).toBe(2);
      const pending = await executions().pendingFor([a.walletAddress, b.walletAddress, c.walletAddress]);
      expect(pending.get(a.walletAddress)?.id).toBe(pendingA.id);
      expect(await executions().cancelMany([{ id: pendingA.id, reason: 'recovered' }, { id: randomUUID(), reason: 'unknown' }], minutes(5))).toBe(1);
      expect(await executions().findById(pendingA.id)).toMatchObject({ status: 'cancelled', cancelReason: 'recovered', settledAt: minutes(5) });
      expect(await executions().cancelMany([{ id: pendingA.id, reason: 'again' }], minutes(6))).toBe(0);
      expect(await executions().insertMany([])).toBe(0);
    });

    it('locks risk states, reading an account never seen as having none', async () => {
      const [seen, fresh] = [wallet(), wallet()];
      await executions().putRiskStates([{ walletAddress: seen, band: 'warning', healthFactorBps: 10_500, updatedAt: minutes(1) }]);
      const locked = await store.transaction((repos) => repos.riskExecutions.lockRiskStates([fresh, seen]));
      expect([...locked.values()]).toEqual([{ walletAddress: seen, band: 'warning', healthFactorBps: 10_500, updatedAt: minutes(1) }]);
      expect(await executions().riskStates([fresh])).toEqual(new Map());
    });

    it.each<[string, () => ExecutionPlan]>([
      ['stop_loss', () => stopLossPlan()],
      ['stop_loss (no health factors)', () => stopLossPlan({ healthFactorBefore: null, healthFactorAfter: null })],
      ['liquidation', () => liquidationPlan()],
      ['bad_debt', () => badDebtPlan()],
    ])('a %s order round-trips every field, plan bigints beyond 2^64 included', async (_label, plan) => {
      const line = await openLine();
      const execution = makeExecution(line, { plan: plan(), trigger: 'admin', createdBy: 'admin:abc123', createdAt: minutes(3) });
      await executions().insert(execution);
      const found = await executions().findById(execution.id);
      expect(found).toEqual(execution);
      expect(found!.plan).toEqual(execution.plan);
      expect(found!.plan.debtBefore).toBe(execution.plan.debtBefore);
      expect(typeof found!.plan.debtBefore).toBe('bigint');
      expect(await store.transaction((repos) => repos.riskExecutions.findByIdForUpdate(execution.id))).toEqual(execution);
      expect(await executions().findPending(line.walletAddress)).toEqual(execution);
      expect(await executions().findById(randomUUID())).toBeNull();
      expect(await store.transaction((repos) => repos.riskExecutions.findByIdForUpdate(randomUUID()))).toBeNull();
      // What was handed back is a copy.
      (found!.plan as StopLossPlan).debtBefore = 0n;
      found!.paramsVersions.XLM = 99;
      expect(await executions().findById(execution.id)).toEqual(execution);
    });

    it('a settled order with its fill round-trips on insert too', async () => {
      const line = await openLine();
      const execution = makeExecution(line, { status: 'filled', fill: makeFill({ reference: null }), settledAt: minutes(9), paramsVersions: {} });
      await executions().insert(execution);
      expect(await executions().findById(execution.id)).toEqual(execution);
      expect(await executions().findPending(line.walletAddress)).toBeNull();
    });

    it('a second pending order for the account is refused with execution_pending; settled ones do not count', async () => {
      const line = await openLine();
      await executions().insert(makeExecution(line, { status: 'cancelled', cancelReason: 'price moved', settledAt: minutes(1) }));
      const pending = makeExecution(line, { createdAt: minutes(2) });
      await executions().insert(pending);
      const refused = makeExecution(line, { plan: liquidationPlan(), createdAt: minutes(3) });
      await expectConflict(executions().insert(refused), 'execution_pending');
      expect(await executions().findById(refused.id)).toBeNull();
      // A settled order may still be recorded while one is pending; another account is not blocked.
      await executions().insert(makeExecution(line, { status: 'filled', fill: makeFill(), settledAt: minutes(4), createdAt: minutes(4) }));
      await executions().insert(makeExecution(await openLine()));
      // Once settled, the account may get a new pending order.
      expect(await executions().settle(pending.id, { status: 'filled', fill: makeFill(), cancelReason: null, at: minutes(5) })).toBe(true);
      await executions().insert(refused);
      expect(await executions().findPending(line.walletAddress)).toEqual(refused);
    });

    it('an order for an unknown credit line is refused', async () => {
      await expect(executions().insert(makeExecution(makeLine()))).rejects.toThrow();
    });

    it('concurrent pending orders for one account: exactly one is inserted, the rest get execution_pending', async () => {
      const line = await openLine();
      const attempts = Array.from({ length: 5 }, (_, i) => makeExecution(line, { createdAt: minutes(i) }));
      const results = await Promise.allSettled(
        attempts.map((execution) =>
          store.transaction(async (repos) => {
            await repos.riskExecutions.insert(execution);
            await sleep(5);
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') await expectConflict(Promise.reject(r.reason), 'execution_pending');
      const winner = attempts[results.findIndex((r) => r.status === 'fulfilled')]!;
      expect(await executions().findPending(line.walletAddress)).toEqual(winner);
      expect(ids(await executions().list({ walletAddress: line.walletAddress }, { limit: 100 }))).toEqual([winner.id]);
    });

    it('settle fills a pending order once; a second settle returns false and keeps the first outcome', async () => {
      const line = await openLine();
      const execution = makeExecution(line);
      await executions().insert(execution);
      const fill = makeFill();
      expect(await executions().settle(execution.id, { status: 'filled', fill, cancelReason: null, at: minutes(7) })).toBe(true);
      const filled = { ...execution, status: 'filled' as const, fill, settledAt: minutes(7) };
      expect(await executions().findById(execution.id)).toEqual(filled);
      expect((await executions().findById(execution.id))!.fill!.collateralQuantity).toBe(BEYOND_U64 * 2n);

      expect(await executions().settle(execution.id, { status: 'cancelled', fill: null, cancelReason: 'late', at: minutes(8) })).toBe(false);
      expect(await executions().findById(execution.id)).toEqual(filled);
      expect(await executions().findPending(line.walletAddress)).toBeNull();
      expect(await executions().settle(randomUUID(), { status: 'filled', fill, cancelReason: null, at: minutes(8) })).toBe(false);
    });

    it('settle cancels with a reason and no fill', async () => {
      const line = await openLine();
      const execution = makeExecution(line, { plan: badDebtPlan() });
      await executions().insert(execution);
      expect(await executions().settle(execution.id, { status: 'cancelled', fill: null, cancelReason: 'health restored', at: minutes(2) })).toBe(true);
      expect(await executions().findById(execution.id)).toEqual({ ...execution, status: 'cancelled', cancelReason: 'health restored', settledAt: minutes(2) });
    });

    it('concurrent settles of one order: exactly one wins', async () => {
      const line = await openLine();
      const execution = makeExecution(line);
      await executions().insert(execution);
      const fills = Array.from({ length: 5 }, (_, i) => makeFill({ filledBy: `keeper:${i}` }));
      const results = await Promise.all(
        fills.map((fill) =>
          store.transaction(async (repos) => {
            const locked = await repos.riskExecutions.findByIdForUpdate(execution.id);
            await sleep(5);
            return locked?.status === 'pending' && (await repos.riskExecutions.settle(execution.id, { status: 'filled', fill, cancelReason: null, at: minutes(1) }));
          }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await executions().findById(execution.id))!.fill).toEqual(fills[results.indexOf(true)]);
    });

    it('a settle inside a unit of work that throws leaves the order pending', async () => {
      const line = await openLine();
      const execution = makeExecution(line);
      await executions().insert(execution);
      await expect(
        store.transaction(async (repos) => {
          expect(await repos.riskExecutions.settle(execution.id, { status: 'filled', fill: makeFill(), cancelReason: null, at: minutes(1) })).toBe(true);
          expect((await repos.riskExecutions.findById(execution.id))?.status).toBe('filled');
          throw new Error('ledger write failed');
        }),
      ).rejects.toThrow('ledger write failed');
      expect(await executions().findById(execution.id)).toEqual(execution);
      expect(await executions().findPending(line.walletAddress)).toEqual(execution);
      expect(await executions().settle(execution.id, { status: 'cancelled', fill: null, cancelReason: 'retry', at: minutes(2) })).toBe(true);
    });

    describe('list', () => {
      let all: RiskExecution[];
      let lineA: CreditLine;
      beforeEach(async () => {
        lineA = await openLine();
        const lineB = await openLine();
        const lineC = await openLine();
        const settled = (line: CreditLine, createdAt: Date, status: 'filled' | 'cancelled') =>
          makeExecution(line, { createdAt, status, settledAt: createdAt, fill: status === 'filled' ? makeFill() : null, cancelReason: status === 'cancelled' ? 'stale price' : null });
        all = [
          settled(lineA, minutes(1), 'filled'),
          settled(lineB, minutes(2), 'cancelled'),
          settled(lineA, minutes(3), 'cancelled'),
          settled(lineC, minutes(3), 'filled'),
          settled(lineB, minutes(3), 'filled'),
          makeExecution(lineA, { createdAt: minutes(4), plan: liquidationPlan() }),
          makeExecution(lineC, { createdAt: minutes(4) }),
        ];
        // Inserted out of order: the order must come from the data.
        for (const i of [4, 0, 6, 2, 5, 1, 3]) await executions().insert(all[i]!);
      });
      /** Newest first on (createdAt, id), ids compared as lowercase text (the way PostgreSQL orders uuid). */
      const newestFirst = (items: RiskExecution[]) =>
        [...items].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

      it('returns every order newest first, ties broken by id descending, and pages with `after` through ties', async () => {
        expect(await executions().list({}, { limit: 100 })).toEqual(newestFirst(all));
        for (const pageSize of [1, 2, 3]) {
          const seen: RiskExecution[] = [];
          let after: { createdAt: Date; id: string } | undefined;
          for (;;) {
            const page = await executions().list({}, { limit: pageSize, after });
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(pageSize);
            seen.push(...page);
            after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
            expect(seen.length, 'paging must terminate').toBeLessThanOrEqual(all.length);
          }
          expect(ids(seen)).toEqual(ids(newestFirst(all)));
        }
      });

      it('filters by wallet, by status, and by both, and pages within a filter', async () => {
        const ofA = all.filter((e) => e.walletAddress === lineA.walletAddress);
        expect(ids(await executions().list({ walletAddress: lineA.walletAddress }, { limit: 100 }))).toEqual(ids(newestFirst(ofA)));
        expect(ids(await executions().list({ status: 'filled' }, { limit: 100 }))).toEqual(ids(newestFirst(all.filter((e) => e.status === 'filled'))));
        expect(ids(await executions().list({ status: 'pending' }, { limit: 100 }))).toEqual(ids(newestFirst(all.filter((e) => e.status === 'pending'))));
        expect(ids(await executions().list({ walletAddress: lineA.walletAddress, status: 'cancelled' }, { limit: 100 }))).toEqual([all[2]!.id]);
        expect(await executions().list({ walletAddress: wallet() }, { limit: 100 })).toEqual([]);

        const [first] = await executions().list({ walletAddress: lineA.walletAddress }, { limit: 1 });
        const rest = await executions().list({ walletAddress: lineA.walletAddress }, { limit: 100, after: { createdAt: first!.createdAt, id: first!.id } });
        expect(ids([first!, ...rest])).toEqual(ids(newestFirst(ofA)));
      });
    });

    it('stop-loss settings: absent until put, then replaced by the next put; stopLossFor returns only the wallets that have them', async () => {
      const owner = wallet();
      expect(await executions().getStopLoss(owner)).toBeNull();
      const first: StopLossSettings = { walletAddress: owner, enabled: true, assetPriority: ['BTC', 'XLM', 'AQUA'], maxSlippageBps: 75, updatedAt: minutes(1) };
      await executions().putStopLoss(first);
      expect(await executions().getStopLoss(owner)).toEqual(first);
      const second: StopLossSettings = { walletAddress: owner, enabled: false, assetPriority: [], maxSlippageBps: null, updatedAt: minutes(2) };
      await executions().putStopLoss(second);
      expect(await executions().getStopLoss(owner)).toEqual(second);

      const other: StopLossSettings = { walletAddress: wallet(), enabled: true, assetPriority: ['XLM'], maxSlippageBps: 0, updatedAt: minutes(3) };
      await executions().putStopLoss(other);
      const found = await executions().stopLossFor([owner, other.walletAddress, wallet()]);
      expect(found).toEqual(new Map([[owner, second], [other.walletAddress, other]]));
      expect(await executions().stopLossFor([])).toEqual(new Map());
    });

    it('risk states: putRiskStates inserts and updates many at once; riskStates returns only the wallets that have one', async () => {
      const [a, b, c] = [wallet(), wallet(), wallet()];
      const initial: AccountRiskState[] = [
        { walletAddress: a, band: 'healthy', healthFactorBps: null, updatedAt: minutes(1) },
        { walletAddress: b, band: 'warning', healthFactorBps: 10_800, updatedAt: minutes(1) },
      ];
      await executions().putRiskStates(initial);
      expect(await executions().riskStates([a, b, c])).toEqual(new Map(initial.map((s) => [s.walletAddress, s])));

      const next: AccountRiskState[] = [
        { walletAddress: b, band: 'liquidatable', healthFactorBps: 9_100, updatedAt: minutes(2) },
        { walletAddress: c, band: 'stop_loss', healthFactorBps: 10_000, updatedAt: minutes(2) },
      ];
      await executions().putRiskStates(next);
      await executions().putRiskStates([]);
      expect(await executions().riskStates([a, b, c, wallet()])).toEqual(new Map([[a, initial[0]!], [b, next[0]!], [c, next[1]!]]));
      expect(await executions().riskStates([])).toEqual(new Map());
    });

    it('a batch naming a wallet twice keeps its last state', async () => {
      const owner = wallet();
      const last: AccountRiskState = { walletAddress: owner, band: 'warning', healthFactorBps: 10_900, updatedAt: minutes(2) };
      await executions().putRiskStates([{ walletAddress: owner, band: 'healthy', healthFactorBps: null, updatedAt: minutes(1) }, last]);
      expect(await executions().riskStates([owner])).toEqual(new Map([[owner, last]]));
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('repayments', () => {
    const repayments = () => store.repos.repayments;
    async function openLine(overrides: Partial<CreditLine> = {}): Promise<CreditLine> {
      const line = makeLine(overrides);
      await store.repos.creditLines.insert(line);
      return line;
    }

    it('insertOrGet stores a new repayment (created) and findById round-trips every field, amounts beyond 2^64 included', async () => {
      const line = await openLine();
      const repayment = makeRepayment(line, { failureReason: 'card declined', parkedReason: 'line closed', appliedAmount: 3n, creditedAmount: 4n, reversedAmount: 5n, updatedAt: minutes(9) });
      expect(await repayments().insertOrGet(repayment)).toEqual({ repayment, created: true });
      const found = await repayments().findById(repayment.id);
      expect(found).toEqual(repayment);
      expect(typeof found!.fiatAmount).toBe('bigint');
      expect(found!.amount).toBe(BEYOND_U64 * 1_000n + 7n);
      expect(await repayments().findById(randomUUID())).toBeNull();
      // What was handed back is a copy.
      found!.amount = 0n;
      found!.createdAt.setTime(0);
      expect(await repayments().findById(repayment.id)).toEqual(repayment);
    });

    it('an anchor repayment with a 7-decimal amount and a memo as its reference round-trips too', async () => {
      const line = await openLine();
      const repayment = makeRepayment(line, { provider: 'anchor', providerRef: 'rp-0123456789abcdef01234567', currency: 'usdc', fiatAmount: 1n, fxRate1e14: 10n ** 14n, amount: 1n });
      await repayments().insertOrGet(repayment);
      expect(await repayments().findById(repayment.id)).toEqual(repayment);
    });

    it('a second insert of the same (provider, providerRef) returns the stored row with created false, and stores nothing new', async () => {
      const line = await openLine();
      const first = makeRepayment(line);
      await repayments().insertOrGet(first);
      const retry = makeRepayment(line, { providerRef: first.providerRef, fiatAmount: 1n, amount: 1n, createdAt: minutes(5) });
      expect(await repayments().insertOrGet(retry)).toEqual({ repayment: first, created: false });
      expect(await repayments().findById(retry.id)).toBeNull();
      expect(ids(await repayments().list({ creditLineId: line.id }, { limit: 10 }))).toEqual([first.id]);
      // The same reference at the other provider is another payment.
      const anchor = makeRepayment(line, { provider: 'anchor', providerRef: first.providerRef });
      expect(await repayments().insertOrGet(anchor)).toEqual({ repayment: anchor, created: true });
    });

    it('concurrent insertOrGet of one payment: exactly one is created, every caller gets that row', async () => {
      const line = await openLine();
      const providerRef = 'pi_racing';
      const attempts = Array.from({ length: 5 }, (_, i) => makeRepayment(line, { providerRef, createdAt: minutes(i) }));
      const results = await Promise.all(
        attempts.map((repayment) =>
          store.transaction(async (repos) => {
            const result = await repos.repayments.insertOrGet(repayment);
            await sleep(5);
            return result;
          }),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.repayment;
      for (const r of results) expect(r.repayment).toEqual(winner);
      expect(await repayments().list({ creditLineId: line.id }, { limit: 10 })).toEqual([winner]);
    });

    it('a repayment for an unknown line, or with an id that is taken, is refused', async () => {
      await expect(repayments().insertOrGet(makeRepayment(makeLine()))).rejects.toThrow();
      const line = await openLine();
      const stored = makeRepayment(line);
      await repayments().insertOrGet(stored);
      await expect(repayments().insertOrGet(makeRepayment(line, { id: stored.id }))).rejects.toThrow();
      expect(await repayments().findById(stored.id)).toEqual(stored);
    });

    it('findByProviderRefForUpdate finds by provider and reference, inside a transaction too; nothing else', async () => {
      const line = await openLine();
      const stripe = makeRepayment(line);
      const anchor = makeRepayment(line, { provider: 'anchor', providerRef: 'rp-memo' });
      for (const r of [stripe, anchor]) await repayments().insertOrGet(r);
      expect(await repayments().findByProviderRefForUpdate('stripe', stripe.providerRef)).toEqual(stripe);
      expect(await store.transaction((repos) => repos.repayments.findByProviderRefForUpdate('anchor', 'rp-memo'))).toEqual(anchor);
      expect(await repayments().findByProviderRefForUpdate('anchor', stripe.providerRef)).toBeNull();
      expect(await repayments().findByProviderRefForUpdate('stripe', 'rp-memo')).toBeNull();
      expect(await repayments().findByProviderRefForUpdate('anchor', '')).toBeNull();
    });

    it('findByProviderRefs returns the repayments of that provider among the references, bigints intact', async () => {
      const line = await openLine();
      const [a, b, c] = [makeRepayment(line), makeRepayment(line, { fiatAmount: 2n }), makeRepayment(line)];
      const otherProvider = makeRepayment(line, { provider: 'anchor', providerRef: a.providerRef });
      for (const r of [a, b, c, otherProvider]) await repayments().insertOrGet(r);
      const found = await repayments().findByProviderRefs('stripe', [a.providerRef, b.providerRef, 'pi_unknown']);
      expect([...found].sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual([a, b].sort((x, y) => (x.id < y.id ? -1 : 1)));
      expect(await repayments().findByProviderRefs('anchor', [a.providerRef])).toEqual([otherProvider]);
      expect(await repayments().findByProviderRefs('stripe', [])).toEqual([]);
      expect(await repayments().findByProviderRefs('stripe', ['pi_unknown'])).toEqual([]);
    });

    it('update changes the status, amounts, reasons and updatedAt, and never what identifies the payment or what was asked', async () => {
      const line = await openLine();
      const other = await openLine();
      const repayment = makeRepayment(line);
      await repayments().insertOrGet(repayment);
      const changed: Repayment = {
        ...repayment,
        status: 'refunded',
        amount: BEYOND_U64 * 2n,
        appliedAmount: BEYOND_U64,
        creditedAmount: 11n,
        reversedAmount: BEYOND_U64 + 11n,
        failureReason: 'late failure',
        parkedReason: 'was parked',
        updatedAt: minutes(30),
      };
      // Immutable: the line, wallet, provider and reference, the currency, what was asked and at which rate, the creation time.
      await repayments().update({
        ...changed,
        creditLineId: other.id,
        walletAddress: other.walletAddress,
        provider: 'anchor',
        providerRef: 'pi_rewritten',
        currency: 'eur',
        fiatAmount: 1n,
        fxRate1e14: 1n,
        createdAt: minutes(60),
      });
      expect(await repayments().findById(repayment.id)).toEqual(changed);
      expect(await repayments().findByProviderRefForUpdate('stripe', repayment.providerRef)).toEqual(changed);
      expect(await repayments().list({ creditLineId: other.id }, { limit: 10 })).toEqual([]);

      // Back to nulls.
      const cleared = { ...changed, status: 'succeeded' as const, failureReason: null, parkedReason: null, updatedAt: minutes(31) };
      await repayments().update(cleared);
      expect(await repayments().findById(repayment.id)).toEqual(cleared);
    });

    it('update of an unknown repayment stores nothing', async () => {
      const line = await openLine();
      const ghost = makeRepayment(line);
      await repayments().update(ghost);
      expect(await repayments().findById(ghost.id)).toBeNull();
      expect(await repayments().list({ creditLineId: line.id }, { limit: 10 })).toEqual([]);
    });

    it('concurrent read-modify-write through findByProviderRefForUpdate: exactly one moves a pending repayment on', async () => {
      const line = await openLine();
      const repayment = makeRepayment(line);
      await repayments().insertOrGet(repayment);
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.transaction(async (repos) => {
            const locked = (await repos.repayments.findByProviderRefForUpdate('stripe', repayment.providerRef))!;
            await sleep(5);
            if (locked.status !== 'pending') return false;
            await repos.repayments.update({ ...locked, status: 'succeeded', appliedAmount: BigInt(i + 1), updatedAt: minutes(i + 1) });
            return true;
          }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await repayments().findById(repayment.id)).toEqual({ ...repayment, status: 'succeeded', appliedAmount: BigInt(winner + 1), updatedAt: minutes(winner + 1) });
    });

    describe('list', () => {
      let line: CreditLine;
      let all: Repayment[];
      beforeEach(async () => {
        line = await openLine();
        const other = await openLine();
        all = [minutes(1), minutes(2), minutes(2), minutes(2), minutes(3), minutes(4)].map((createdAt) => makeRepayment(line, { createdAt }));
        // Inserted out of order, with another line's repayments in between: the order must come from the data.
        for (const i of [3, 0, 5, 1, 4, 2]) {
          await repayments().insertOrGet(all[i]!);
          await repayments().insertOrGet(makeRepayment(other, { createdAt: minutes(2) }));
        }
      });
      const newestFirst = (items: Repayment[]) => [...items].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

      it('returns the line\'s repayments newest first, ties broken by id descending', async () => {
        expect(await repayments().list({ creditLineId: line.id }, { limit: 100 })).toEqual(newestFirst(all));
        expect(ids(await repayments().list({ creditLineId: line.id }, { limit: 2 }))).toEqual(ids(newestFirst(all).slice(0, 2)));
        expect(await repayments().list({ creditLineId: randomUUID() }, { limit: 100 })).toEqual([]);
      });

      it('filters by status across lines, and by line and status together', async () => {
        const parkedElsewhere = makeRepayment(await openLine(), { createdAt: minutes(5), status: 'parked', parkedReason: 'the line is closed' });
        await repayments().insertOrGet(parkedElsewhere);
        const parkedHere = { ...all[1]!, status: 'parked' as const, parkedReason: 'the line is closed', updatedAt: minutes(6) };
        await repayments().update(parkedHere);
        expect(ids(await repayments().list({ status: 'parked' }, { limit: 100 }))).toEqual([parkedElsewhere.id, parkedHere.id]);
        expect(ids(await repayments().list({ creditLineId: line.id, status: 'parked' }, { limit: 100 }))).toEqual([parkedHere.id]);
        expect(await repayments().list({ status: 'refunded' }, { limit: 100 })).toEqual([]);
        expect((await repayments().list({}, { limit: 100 })).length).toBe(13);
      });

      it('keyset pages with `after` are disjoint and together cover every repayment in order, through ties', async () => {
        for (const pageSize of [1, 2, 4]) {
          const seen: Repayment[] = [];
          let after: { createdAt: Date; id: string } | undefined;
          for (;;) {
            const page = await repayments().list({ creditLineId: line.id }, { limit: pageSize, after });
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(pageSize);
            seen.push(...page);
            after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
            expect(seen.length, 'paging must terminate').toBeLessThanOrEqual(all.length);
          }
          expect(ids(seen)).toEqual(ids(newestFirst(all)));
        }
      });
    });

    it('listSettled returns the succeeded and refunded repayments of the provider changed in [from, to)', async () => {
      const line = await openLine();
      const from = minutes(10);
      const to = minutes(20);
      const inWindow = [
        makeRepayment(line, { status: 'succeeded', updatedAt: from }),
        makeRepayment(line, { status: 'refunded', updatedAt: minutes(15) }),
        makeRepayment(line, { status: 'succeeded', updatedAt: new Date(to.getTime() - 1) }),
      ];
      const outside = [
        makeRepayment(line, { status: 'succeeded', updatedAt: new Date(from.getTime() - 1) }),
        makeRepayment(line, { status: 'succeeded', updatedAt: to }),
        makeRepayment(line, { status: 'pending', updatedAt: minutes(15) }),
        makeRepayment(line, { status: 'failed', updatedAt: minutes(15) }),
        makeRepayment(line, { status: 'parked', updatedAt: minutes(15) }),
        makeRepayment(line, { provider: 'anchor', status: 'succeeded', updatedAt: minutes(15) }),
      ];
      for (const r of [...outside, ...inWindow]) await repayments().insertOrGet(r);
      const byId = (a: Repayment, b: Repayment) => (a.id < b.id ? -1 : 1);
      expect((await repayments().listSettled('stripe', from, to)).sort(byId)).toEqual([...inWindow].sort(byId));
      expect(await repayments().listSettled('anchor', from, to)).toEqual([outside[5]]);
      expect(await repayments().listSettled('stripe', to, minutes(30))).toEqual([outside[1]]);
      expect(await repayments().listSettled('stripe', minutes(40), minutes(50))).toEqual([]);

      // A repayment that moves into a settled state within the window is listed once it has.
      const pending = outside[2]!;
      await repayments().update({ ...pending, status: 'succeeded', updatedAt: minutes(16) });
      expect(ids(await repayments().listSettled('stripe', from, to))).toContain(pending.id);
    });

    describe('provider events', () => {
      it('claimEvent is true the first time and false for every repeat; providers claim their ids independently', async () => {
        const line = await openLine();
        const repayment = makeRepayment(line);
        await repayments().insertOrGet(repayment);
        const event = makeProviderEvent({ repaymentId: repayment.id });
        expect(await repayments().claimEvent(event)).toBe(true);
        expect(await repayments().claimEvent(event)).toBe(false);
        expect(await repayments().claimEvent({ ...event, type: 'charge.refunded', outcome: 'reversed', repaymentId: null, receivedAt: minutes(1) })).toBe(false);
        expect(await repayments().claimEvent({ ...event, provider: 'anchor' })).toBe(true);
        expect(await repayments().claimEvent({ ...event, provider: 'anchor' })).toBe(false);
        expect(await repayments().claimEvent(makeProviderEvent({ payload: {} }))).toBe(true);
      });

      it('claimDelivery is true once per signed request until it is forgotten, and forgets only what is older than asked', async () => {
        expect(await repayments().claimDelivery('stripe', 'sig-a', minutes(0), minutes(-10))).toBe(true);
        expect(await repayments().claimDelivery('stripe', 'sig-a', minutes(1), minutes(-9))).toBe(false);
        expect(await repayments().claimDelivery('anchor', 'sig-a', minutes(1), minutes(-9))).toBe(true);
        expect(await repayments().claimDelivery('stripe', 'sig-b', minutes(2), minutes(-8))).toBe(true);
        // received at 0 and 2: forgetting before 1 lets sig-a be claimed again, not sig-b
        expect(await repayments().claimDelivery('stripe', 'sig-c', minutes(11), minutes(1))).toBe(true);
        expect(await repayments().claimDelivery('stripe', 'sig-a', minutes(11), minutes(1))).toBe(true);
        expect(await repayments().claimDelivery('stripe', 'sig-b', minutes(11), minutes(1))).toBe(false);
      });

      it('concurrent claims of one signed request: exactly one wins', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, () => store.transaction((repos) => repos.repayments.claimDelivery('stripe', 'sig-race', minutes(0), minutes(-10)))));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('a claim inside a unit of work that throws is undone: the event can be claimed again', async () => {
        const event = makeProviderEvent();
        await expect(
          store.transaction(async (repos) => {
            expect(await repos.repayments.claimEvent(event)).toBe(true);
            expect(await repos.repayments.claimEvent(event)).toBe(false);
            throw new Error('applying failed');
          }),
        ).rejects.toThrow('applying failed');
        expect(await repayments().claimEvent(event)).toBe(true);
        expect(await repayments().claimEvent(event)).toBe(false);
      });

      it('concurrent claims of one event: exactly one is true', async () => {
        const event = makeProviderEvent();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.transaction(async (repos) => {
              const claimed = await repos.repayments.claimEvent({ ...event, receivedAt: minutes(i) });
              await sleep(5);
              return claimed;
            }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        // Outside transactions too.
        const other = makeProviderEvent();
        const direct = await Promise.all(Array.from({ length: 10 }, () => repayments().claimEvent(other)));
        expect(direct.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('settlement runs', () => {
      it('a run round-trips through insertRun and listRuns; finishRun records the outcome and nothing else', async () => {
        const run = makeSettlementRun();
        await repayments().insertRun(run);
        expect(await repayments().listRuns({ limit: 10 })).toEqual([run]);

        const finished: SettlementRun = { ...run, status: 'mismatch_found', chargesChecked: 120, payoutsChecked: 3, findingCount: 2, error: null, finishedAt: minutes(5) };
        // The window and the start are fixed when the run starts.
        await repayments().finishRun({ ...finished, windowFrom: minutes(100), windowTo: minutes(200), startedAt: minutes(300) });
        expect(await repayments().listRuns({ limit: 10 })).toEqual([finished]);

        const failed: SettlementRun = { ...finished, status: 'failed', error: 'provider timed out', finishedAt: minutes(6) };
        await repayments().finishRun(failed);
        expect(await repayments().listRuns({ limit: 10 })).toEqual([failed]);
      });

      it('finishRun of an unknown run stores nothing', async () => {
        await repayments().finishRun(makeSettlementRun({ status: 'clean', finishedAt: minutes(2) }));
        expect(await repayments().listRuns({ limit: 10 })).toEqual([]);
      });

      it('listRuns is newest first on (startedAt, id) and pages with `after` through ties', async () => {
        const runs = [minutes(1), minutes(2), minutes(2), minutes(2), minutes(3)].map((startedAt) => makeSettlementRun({ startedAt }));
        for (const i of [2, 4, 0, 3, 1]) await repayments().insertRun(runs[i]!);
        const newestFirst = [...runs].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
        expect(await repayments().listRuns({ limit: 100 })).toEqual(newestFirst);
        for (const pageSize of [1, 2, 3]) {
          const seen: SettlementRun[] = [];
          let after: { startedAt: Date; id: string } | undefined;
          for (;;) {
            const page = await repayments().listRuns({ limit: pageSize, after });
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(pageSize);
            seen.push(...page);
            after = { startedAt: page.at(-1)!.startedAt, id: page.at(-1)!.id };
            expect(seen.length, 'paging must terminate').toBeLessThanOrEqual(runs.length);
          }
          expect(ids(seen)).toEqual(ids(newestFirst));
        }
      });

      it("findings round-trip every field, nulls included, oldest first by (createdAt, id), and only the run's own", async () => {
        const run = makeSettlementRun();
        const other = makeSettlementRun();
        await repayments().insertRun(run);
        await repayments().insertRun(other);
        const findings = [
          makeFinding(run.id, { createdAt: minutes(3) }),
          makeFinding(run.id, { kind: 'missing_in_ledger', providerRef: 'ch_direct', repaymentId: null, expected: '777 usd', actual: null, createdAt: minutes(2) }),
          makeFinding(run.id, { kind: 'missing_at_provider', severity: 'warning', actual: null, createdAt: minutes(2) }),
          makeFinding(run.id, { kind: 'currency_mismatch', providerRef: null, repaymentId: null, expected: null, actual: null, createdAt: minutes(2) }),
        ];
        await repayments().addFindings(findings.slice(0, 2));
        await repayments().addFindings([]);
        await repayments().addFindings([...findings.slice(2), makeFinding(other.id)]);
        const oldestFirst = [...findings].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        expect(await repayments().findings([run.id])).toEqual(oldestFirst);
        expect(await repayments().findings([other.id])).toHaveLength(1);
        expect((await repayments().findings([other.id, run.id])).filter((f) => f.runId === run.id)).toEqual(oldestFirst);
        expect(await repayments().findings([])).toEqual([]);
        expect(await repayments().findings([randomUUID()])).toEqual([]);
      });

      it('findings of an unknown run are refused, all of the batch', async () => {
        const run = makeSettlementRun();
        await repayments().insertRun(run);
        await expect(repayments().addFindings([makeFinding(run.id), makeFinding(randomUUID())])).rejects.toThrow();
        expect(await repayments().findings([run.id])).toEqual([]);
      });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('incoming payments', () => {
    const payments = () => store.repos.incomingPayments;

    it('insert records the payments not seen before, and list round-trips every field oldest first', async () => {
      const a = makeIncomingPayment('100000000001', { createdAt: minutes(2) });
      const b = makeIncomingPayment('100000000002', { createdAt: minutes(1), memo: null, memoType: 'none', assetIssuer: null, amount: 1n });
      const c = makeIncomingPayment('100000000003', { createdAt: minutes(2), memo: '987654321', memoType: 'id' });
      expect(await payments().insert([a, b])).toBe(2);
      expect(await payments().insert([a, c, { ...b, amount: 5n }])).toBe(1);
      expect(await payments().insert([])).toBe(0);
      expect(await payments().list({}, 100)).toEqual([b, a, c]);
      expect(await payments().list({}, 2)).toEqual([b, a]);
      expect(await payments().list({ memo: '987654321' }, 100)).toEqual([c]);
    });

    it('markStatus moves a received payment on once; never from applied or unmatched; an unknown id is false', async () => {
      const [applied, unmatched, untouched] = ['200000000001', '200000000002', '200000000003'].map((id, i) => makeIncomingPayment(id, { createdAt: minutes(i) }));
      await payments().insert([applied!, unmatched!, untouched!]);

      expect(await payments().markStatus(applied!.id, 'applied')).toBe(true);
      expect(await payments().markStatus(unmatched!.id, 'unmatched')).toBe(true);
      for (const id of [applied!.id, unmatched!.id]) {
        expect(await payments().markStatus(id, 'applied')).toBe(false);
        expect(await payments().markStatus(id, 'unmatched')).toBe(false);
      }
      expect(await payments().markStatus('299999999999', 'applied')).toBe(false);

      expect(await payments().list({ status: 'received' }, 100)).toEqual([untouched]);
      expect(await payments().list({ status: 'applied' }, 100)).toEqual([{ ...applied, status: 'applied' }]);
      expect(await payments().list({ status: 'unmatched' }, 100)).toEqual([{ ...unmatched, status: 'unmatched' }]);
      // Re-inserting a payment already moved on does not put it back to received.
      expect(await payments().insert([applied!])).toBe(0);
      expect(await payments().list({ status: 'received' }, 100)).toEqual([untouched]);
    });

    it('a markStatus inside a unit of work that throws leaves the payment received', async () => {
      const payment = makeIncomingPayment('300000000001');
      await payments().insert([payment]);
      await expect(
        store.transaction(async (repos) => {
          expect(await repos.incomingPayments.markStatus(payment.id, 'applied')).toBe(true);
          throw new Error('apply failed');
        }),
      ).rejects.toThrow('apply failed');
      expect(await payments().list({ status: 'received' }, 10)).toEqual([payment]);
    });

    it('concurrent markStatus of one payment: exactly one wins', async () => {
      const payment = makeIncomingPayment('400000000001');
      await payments().insert([payment]);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.transaction(async (repos) => {
            const moved = await repos.incomingPayments.markStatus(payment.id, i % 2 === 0 ? 'applied' : 'unmatched');
            await sleep(5);
            return moved;
          }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await payments().list({}, 10)).toEqual([{ ...payment, status: winner % 2 === 0 ? 'applied' : 'unmatched' }]);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('audit log', () => {
    let entries: AuditEntry[];
    const lineA = randomUUID();
    const lineB = randomUUID();
    beforeEach(async () => {
      entries = [];
      const specs: Partial<Omit<AuditEntry, 'seq'>>[] = [
        { targetType: 'credit_line', targetId: lineA, action: 'credit_line.open', before: null },
        { targetType: 'credit_line', targetId: lineB },
        { targetType: 'api_key', targetId: lineA, requestId: null },
        { targetType: 'credit_line', targetId: lineA, action: 'credit_line.close', createdAt: minutes(1) },
        { targetType: 'credit_line', targetId: lineA, action: 'credit_line.reinstate', createdAt: minutes(2), after: null },
      ];
      for (const spec of specs) entries.push(await store.repos.audit.append(makeAudit(spec)));
    });

    it('append returns the stored entry with an increasing seq, nulls intact', async () => {
      for (let i = 1; i < entries.length; i++) expect(entries[i]!.seq).toBeGreaterThan(entries[i - 1]!.seq);
      expect(entries[0]!.before).toBeNull();
      expect(entries[2]!.requestId).toBeNull();
      expect(entries[4]!.after).toBeNull();
      expect(entries[1]!.before).toEqual({ status: 'active' });
    });

    it('list without a filter returns everything newest first', async () => {
      expect(await store.repos.audit.list({}, { limit: 100 })).toEqual([...entries].reverse());
    });

    it('list filters by target type, by target id, and by both', async () => {
      expect(ids(await store.repos.audit.list({ targetType: 'api_key' }, { limit: 100 }))).toEqual([entries[2]!.id]);
      expect(ids(await store.repos.audit.list({ targetId: lineA }, { limit: 100 }))).toEqual(ids([entries[4]!, entries[3]!, entries[2]!, entries[0]!]));
      expect(ids(await store.repos.audit.list({ targetType: 'credit_line', targetId: lineA }, { limit: 100 }))).toEqual(
        ids([entries[4]!, entries[3]!, entries[0]!]),
      );
      expect(await store.repos.audit.list({ targetType: 'credit_line', targetId: randomUUID() }, { limit: 100 })).toEqual([]);
    });

    it('list pages with `after` and `limit`, within a filter too', async () => {
      const first = await store.repos.audit.list({}, { limit: 2 });
      const second = await store.repos.audit.list({}, { limit: 2, after: first.at(-1)!.seq });
      const third = await store.repos.audit.list({}, { limit: 2, after: second.at(-1)!.seq });
      expect(ids([...first, ...second, ...third])).toEqual(ids([...entries].reverse()));
      expect(third).toHaveLength(1);
      expect(await store.repos.audit.list({}, { limit: 2, after: third.at(-1)!.seq })).toEqual([]);

      const filteredFirst = await store.repos.audit.list({ targetType: 'credit_line', targetId: lineA }, { limit: 1 });
      const filteredRest = await store.repos.audit.list({ targetType: 'credit_line', targetId: lineA }, { limit: 10, after: filteredFirst[0]!.seq });
      expect(ids([...filteredFirst, ...filteredRest])).toEqual(ids([entries[4]!, entries[3]!, entries[0]!]));
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('idempotency keys', () => {
    it('the first claim wins; a second claim gets the in_flight record', async () => {
      const claim = makeClaim();
      expect(await store.repos.idempotency.claim(claim, T0)).toEqual({ claimed: true });
      const second = await store.repos.idempotency.claim({ ...claim, requestHash: 'hash-b', createdAt: minutes(1), expiresAt: minutes(61) }, minutes(1));
      expect(second).toEqual({
        claimed: false,
        existing: { ...claim, status: 'in_flight', responseStatus: null, responseBody: null },
      });
    });

    it('keys are scoped per principal', async () => {
      const claim = makeClaim();
      expect(await store.repos.idempotency.claim(claim, T0)).toEqual({ claimed: true });
      expect(await store.repos.idempotency.claim({ ...claim, principal: 'admin:other' }, T0)).toEqual({ claimed: true });
      expect(await store.repos.idempotency.claim({ ...claim, key: `${claim.key}-other` }, T0)).toEqual({ claimed: true });
    });

    it('after complete, a claim returns the completed record with the stored status and body', async () => {
      const claim = makeClaim();
      await store.repos.idempotency.claim(claim, T0);
      const body = { data: { id: 'x', amounts: ['1.0000000', '2.0000000'], nested: { ok: true, count: 3, none: null } }, error: null };
      await store.repos.idempotency.complete(claim.principal, claim.key, 201, body);
      const result = await store.repos.idempotency.claim({ ...claim, createdAt: minutes(1), expiresAt: minutes(61) }, minutes(1));
      expect(result).toEqual({
        claimed: false,
        existing: { ...claim, status: 'completed', responseStatus: 201, responseBody: body },
      });
    });

    it('an error response body round-trips too', async () => {
      const claim = makeClaim();
      await store.repos.idempotency.claim(claim, T0);
      const body = { data: null, error: { code: 'insufficient_credit', message: 'no', details: { available: '2.0000000' }, requestId: 'r' } };
      await store.repos.idempotency.complete(claim.principal, claim.key, 422, body);
      const result = await store.repos.idempotency.claim(claim, T0);
      expect(result.claimed).toBe(false);
      if (!result.claimed) {
        expect(result.existing.responseStatus).toBe(422);
        expect(result.existing.responseBody).toEqual(body);
      }
    });

    it('release frees an in_flight key so it can be claimed again', async () => {
      const claim = makeClaim();
      await store.repos.idempotency.claim(claim, T0);
      await store.repos.idempotency.release(claim.principal, claim.key);
      expect(await store.repos.idempotency.claim({ ...claim, requestHash: 'hash-b' }, T0)).toEqual({ claimed: true });
      const after = await store.repos.idempotency.claim(claim, T0);
      expect(after.claimed === false && after.existing.requestHash).toBe('hash-b');
    });

    it('release does not free a completed key', async () => {
      const claim = makeClaim();
      await store.repos.idempotency.claim(claim, T0);
      await store.repos.idempotency.complete(claim.principal, claim.key, 200, { data: 1, error: null });
      await store.repos.idempotency.release(claim.principal, claim.key);
      const result = await store.repos.idempotency.claim(claim, T0);
      expect(result).toEqual({ claimed: false, existing: { ...claim, status: 'completed', responseStatus: 200, responseBody: { data: 1, error: null } } });
    });

    it('release and complete of an unknown key are harmless no-ops', async () => {
      await store.repos.idempotency.release('client:nobody', 'nothing');
      await store.repos.idempotency.complete('client:nobody', 'nothing', 200, { ok: true });
      expect(await store.repos.idempotency.claim(makeClaim({ principal: 'client:nobody', key: 'nothing' }), T0)).toEqual({ claimed: true });
    });

    it.each([
      ['in_flight', false],
      ['completed', true],
    ] as const)('an expired %s record is replaced by the next claim', async (_label, completed) => {
      const claim = makeClaim({ expiresAt: minutes(10) });
      await store.repos.idempotency.claim(claim, T0);
      if (completed) await store.repos.idempotency.complete(claim.principal, claim.key, 200, { old: true });

      // Just before expiry the record still holds the key.
      const live = await store.repos.idempotency.claim({ ...claim, createdAt: minutes(9), expiresAt: minutes(69) }, minutes(9));
      expect(live.claimed).toBe(false);

      // At expiry it is replaced: the new holder is in flight with the new hash and window.
      const renewed = { ...claim, requestHash: 'hash-new', createdAt: minutes(10), expiresAt: minutes(70) };
      expect(await store.repos.idempotency.claim(renewed, minutes(10))).toEqual({ claimed: true });
      const holder = await store.repos.idempotency.claim({ ...renewed, requestHash: 'hash-other' }, minutes(11));
      expect(holder).toEqual({ claimed: false, existing: { ...renewed, status: 'in_flight', responseStatus: null, responseBody: null } });
    });

    it('concurrent claims of an expired record: exactly one wins', async () => {
      const claim = makeClaim({ expiresAt: minutes(10) });
      await store.repos.idempotency.claim(claim, T0);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.repos.idempotency.claim({ ...claim, requestHash: `hash-${i}`, createdAt: minutes(20), expiresAt: minutes(80) }, minutes(20)),
        ),
      );
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      const winnerIndex = results.findIndex((r) => r.claimed);
      for (const result of results) {
        if (!result.claimed) {
          expect(result.existing.status).toBe('in_flight');
          expect(result.existing.requestHash).toBe(`hash-${winnerIndex}`);
        }
      }
    });

    it('purgeExpired deletes exactly the expired records and counts them', async () => {
      const expired = [makeClaim({ expiresAt: minutes(5) }), makeClaim({ expiresAt: minutes(10) }), makeClaim({ expiresAt: minutes(10) })];
      const live = [makeClaim({ expiresAt: minutes(11) }), makeClaim({ expiresAt: minutes(60) })];
      for (const c of [...expired, ...live]) await store.repos.idempotency.claim(c, T0);
      await store.repos.idempotency.complete(expired[1]!.principal, expired[1]!.key, 200, {});

      expect(await store.repos.idempotency.purgeExpired(minutes(10))).toBe(3);
      expect(await store.repos.idempotency.purgeExpired(minutes(10))).toBe(0);

      // Purged keys are free again even for a `now` before their old expiry; live ones still hold.
      for (const c of expired) expect(await store.repos.idempotency.claim(c, T0)).toEqual({ claimed: true });
      for (const c of live) expect((await store.repos.idempotency.claim(c, T0)).claimed).toBe(false);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('chain transactions', () => {
    const chain = () => store.repos.chainTransactions;
    const contract = () => StrKey.encodeContract(randomBytes(32));
    async function openLine(overrides: Partial<CreditLine> = {}): Promise<CreditLine> {
      const line = makeLine(overrides);
      await store.repos.creditLines.insert(line);
      return line;
    }

    it('insert then findById and findByIdForUpdate round-trip every field: bigints, dates, JSON arguments, the error', async () => {
      const line = await openLine({ contractId: contract() });
      const failed = chainTransactionFor(line, {
        action: 'repay',
        functionName: 'repay',
        signer: 'borrower',
        arguments: { amount: '18446744073709551617', count: 3, third: 1 / 3, tiny: 1e-7, negative: -7, maxSafe: Number.MAX_SAFE_INTEGER, yes: true, no: false, memo: null, text: 'ünï "quoted" \\ \n', empty: '' },
        status: 'failed',
        sequence: 2n ** 63n - 1n,
        fee: BEYOND_U64,
        validUntil: minutes(7),
        submitAttempts: 3,
        resubmissions: 1,
        error: { code: 'contract', name: 'OverLimit', message: 'draw exceeds the limit' },
        ledger: 2_147_483_647,
        requestId: 'req-42',
        createdAt: minutes(1),
        updatedAt: minutes(3),
        submittedAt: minutes(2),
        settledAt: minutes(3),
      });
      // An `open` before its line exists: no line, no submission yet, nothing in its arguments.
      const open = makeChainTransaction({ action: 'open', functionName: 'open_credit_line', signer: 'borrower', status: 'awaiting_signature', arguments: {}, sequence: 1n, fee: 1n, submitAttempts: 0, submittedAt: null });
      // Refused by the network: an error without a contract error name.
      const refused = chainTransactionFor(line, { status: 'failed', error: { code: 'txBadAuth', name: null, message: 'bad auth' }, settledAt: minutes(1) });
      for (const tx of [failed, open, refused]) await chain().insert(tx);

      for (const tx of [failed, open, refused]) {
        expect(await chain().findById(tx.id)).toEqual(tx);
        expect(await chain().findByIdForUpdate(tx.id)).toEqual(tx);
        expect(await store.transaction((repos) => repos.chainTransactions.findByIdForUpdate(tx.id))).toEqual(tx);
      }
      const found = (await chain().findById(failed.id))!;
      expect(typeof found.sequence).toBe('bigint');
      expect(found.sequence).toBe(2n ** 63n - 1n);
      expect(found.fee).toBe(BEYOND_U64);
      expect(found.arguments).toStrictEqual(failed.arguments);
      expect((await chain().findById(open.id))!.creditLineId).toBeNull();
      expect((await chain().findById(open.id))!.error).toBeNull();
      expect((await chain().findById(refused.id))!.error).toStrictEqual({ code: 'txBadAuth', name: null, message: 'bad auth' });
      expect(await chain().findById(randomUUID())).toBeNull();
      expect(await store.transaction((repos) => repos.chainTransactions.findByIdForUpdate(randomUUID()))).toBeNull();
      // What was handed back is a copy.
      found.arguments.count = 0;
      found.createdAt.setTime(0);
      found.error!.message = 'changed';
      expect(await chain().findById(failed.id)).toEqual(failed);
    });

    it('an insert with a taken id, or for an unknown line, is refused and stores nothing', async () => {
      const line = await openLine();
      const stored = chainTransactionFor(line);
      await chain().insert(stored);
      await expect(chain().insert(chainTransactionFor(line, { id: stored.id, status: 'failed' }))).rejects.toThrow();
      expect(await chain().findById(stored.id)).toEqual(stored);
      const orphan = chainTransactionFor(makeLine());
      await expect(chain().insert(orphan)).rejects.toThrow();
      expect(await chain().findById(orphan.id)).toBeNull();
    });

    it('update persists the changed fields through a transaction\'s life, back to nulls too', async () => {
      const line = await openLine({ contractId: contract() });
      const tx = chainTransactionFor(line, { signer: 'borrower', status: 'awaiting_signature', submitAttempts: 0, submittedAt: null, requestId: 'req-1' });
      await chain().insert(tx);

      const submitted: ChainTransaction = {
        ...tx,
        status: 'pending',
        envelopeXdr: randomBytes(128).toString('base64'),
        txHash: randomBytes(32).toString('hex'),
        sequence: tx.sequence + 1n,
        fee: BEYOND_U64,
        validUntil: minutes(20),
        submitAttempts: 2,
        updatedAt: minutes(1),
        submittedAt: minutes(1),
      };
      await store.transaction(async (repos) => {
        expect(await repos.chainTransactions.findByIdForUpdate(tx.id)).toEqual(tx);
        await repos.chainTransactions.update(submitted);
        expect(await repos.chainTransactions.findById(tx.id)).toEqual(submitted);
      });
      expect(await chain().findById(tx.id)).toEqual(submitted);

      const failed: ChainTransaction = { ...submitted, status: 'failed', error: { code: 'contract', name: 'CreditLineFrozen', message: 'the line is frozen' }, ledger: 777, updatedAt: minutes(2), settledAt: minutes(2) };
      await chain().update(failed);
      expect(await chain().findById(tx.id)).toEqual(failed);

      // Back to nulls: no error, no ledger, no settlement, no request; new arguments.
      const retried: ChainTransaction = { ...failed, status: 'pending', error: null, ledger: null, settledAt: null, requestId: null, submitAttempts: 3, arguments: { amount: '5', flag: false, note: null }, updatedAt: minutes(3) };
      await chain().update(retried);
      expect(await chain().findById(tx.id)).toEqual(retried);

      const confirmed: ChainTransaction = { ...retried, status: 'confirmed', ledger: 900, error: { code: 'host', name: null, message: 'kept for the record' }, updatedAt: minutes(4), settledAt: minutes(4) };
      await chain().update(confirmed);
      expect(await chain().findById(tx.id)).toEqual(confirmed);

      // An `open` learns its line through an update too.
      const open = makeChainTransaction({ action: 'open', functionName: 'open_credit_line', contractId: line.contractId!, walletAddress: line.walletAddress });
      await chain().insert(open);
      await chain().update({ ...open, creditLineId: line.id, updatedAt: minutes(5) });
      expect(await chain().findById(open.id)).toEqual({ ...open, creditLineId: line.id, updatedAt: minutes(5) });

      // An update of an unknown transaction stores nothing.
      const ghost = chainTransactionFor(line);
      await chain().update(ghost);
      expect(await chain().findById(ghost.id)).toBeNull();
    });

    describe('listByLine', () => {
      let line: CreditLine;
      let other: CreditLine;
      let all: ChainTransaction[];
      beforeEach(async () => {
        line = await openLine({ contractId: contract() });
        other = await openLine();
        const statuses = ['pending', 'confirmed', 'failed', 'awaiting_signature', 'expired', 'pending'] as const;
        all = [minutes(1), minutes(2), minutes(2), minutes(2), minutes(3), minutes(4)].map((createdAt, i) => chainTransactionFor(line, { createdAt, status: statuses[i]! }));
        // Inserted out of order, with another line's and a line-less `open` in between: the order must come from the data.
        for (const i of [3, 0, 5, 1, 4, 2]) {
          await chain().insert(all[i]!);
          await chain().insert(chainTransactionFor(other, { createdAt: minutes(2) }));
          await chain().insert(makeChainTransaction({ action: 'open', contractId: line.contractId!, walletAddress: line.walletAddress, createdAt: minutes(2) }));
        }
      });
      const newestFirst = (items: ChainTransaction[]) => [...items].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

      it('returns only the line\'s transactions, newest first, ties broken by id descending, up to the limit', async () => {
        expect(await chain().listByLine(line.id, { limit: 100 })).toEqual(newestFirst(all));
        expect(ids(await chain().listByLine(line.id, { limit: 2 }))).toEqual(ids(newestFirst(all).slice(0, 2)));
        const others = await chain().listByLine(other.id, { limit: 100 });
        expect(others).toHaveLength(6);
        for (const tx of others) expect(tx.creditLineId).toBe(other.id);
        expect(await chain().listByLine(randomUUID(), { limit: 100 })).toEqual([]);
      });

      it('keyset pages with `after` are disjoint and together cover every transaction in order, through ties', async () => {
        for (const pageSize of [1, 2, 4]) {
          const seen: ChainTransaction[] = [];
          let after: { createdAt: Date; id: string } | undefined;
          for (;;) {
            const page = await chain().listByLine(line.id, { limit: pageSize, after });
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(pageSize);
            seen.push(...page);
            after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
            expect(seen.length, 'paging must terminate').toBeLessThanOrEqual(all.length);
          }
          expect(ids(seen)).toEqual(ids(newestFirst(all)));
        }
      });

      it('`after` is a strict (createdAt, id) bound, whether or not it names a row', async () => {
        const atTwo = newestFirst(all).filter((tx) => tx.createdAt.getTime() === minutes(2).getTime());
        const older = newestFirst(all).filter((tx) => tx.createdAt < minutes(2));
        expect(ids(await chain().listByLine(line.id, { limit: 100, after: { createdAt: minutes(2), id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' } }))).toEqual(ids([...atTwo, ...older]));
        expect(ids(await chain().listByLine(line.id, { limit: 100, after: { createdAt: minutes(2), id: '00000000-0000-0000-0000-000000000000' } }))).toEqual(ids(older));
        expect(ids(await chain().listByLine(line.id, { limit: 100, after: { createdAt: minutes(2), id: atTwo[1]!.id } }))).toEqual(ids([atTwo[2]!, ...older]));
        expect(await chain().listByLine(line.id, { limit: 100, after: { createdAt: minutes(1), id: all[0]!.id } })).toEqual([]);
      });
    });

    it('listPending returns only pending transactions, longest pending first (submittedAt, then id), up to the limit', async () => {
      const line = await openLine();
      // createdAt runs against submittedAt, so an order taken from createdAt shows.
      const pending = [minutes(5), minutes(1), minutes(3), minutes(3), minutes(3), minutes(2)].map((submittedAt, i) => chainTransactionFor(line, { submittedAt, createdAt: minutes(-i) }));
      const lineless = makeChainTransaction({ action: 'open', submittedAt: minutes(4) });
      const notPending = [
        chainTransactionFor(line, { status: 'awaiting_signature', submittedAt: null }),
        chainTransactionFor(line, { status: 'confirmed', submittedAt: minutes(0), ledger: 10, settledAt: minutes(1) }),
        chainTransactionFor(line, { status: 'failed', submittedAt: minutes(0), settledAt: minutes(1), error: { code: 'txFailed', name: null, message: 'failed' } }),
        chainTransactionFor(line, { status: 'expired', submittedAt: minutes(0), settledAt: minutes(6) }),
      ];
      for (const tx of [...notPending, ...pending, lineless]) await chain().insert(tx);
      const expected = [...pending, lineless].sort((a, b) => a.submittedAt!.getTime() - b.submittedAt!.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

      expect(await chain().listPending(100)).toEqual(expected);
      expect(ids(await chain().listPending(3))).toEqual(ids(expected.slice(0, 3)));
      expect(await chain().listPending(0)).toEqual([]);

      // Settled, it leaves the list.
      await chain().update({ ...expected[0]!, status: 'confirmed', ledger: 11, updatedAt: minutes(9), settledAt: minutes(9) });
      expect(ids(await chain().listPending(100))).toEqual(ids(expected.slice(1)));
    });

    it('confirmByHashes confirms only the pending transactions with those hashes, and links an `open` to its line', async () => {
      const contractId = contract();
      const line = await openLine({ contractId });
      const hash = () => randomBytes(32).toString('hex');
      const [h1, h2, h3, h4] = [hash(), hash(), hash(), hash()];

      const draw = chainTransactionFor(line, { txHash: h1 });
      // Other transactions that carry the same hash but are not pending stay as they are.
      const bystanders = [
        chainTransactionFor(line, { txHash: h1, status: 'awaiting_signature', submittedAt: null }),
        chainTransactionFor(line, { txHash: h1, status: 'failed', error: { code: 'txBadSeq', name: null, message: 'bad sequence' }, settledAt: minutes(1) }),
        chainTransactionFor(line, { txHash: h1, status: 'confirmed', ledger: 5, settledAt: minutes(1), updatedAt: minutes(1) }),
        chainTransactionFor(line, { txHash: h1, status: 'expired', settledAt: minutes(1) }),
      ];
      // An `open` whose line the `opened` event created: same contract and wallet.
      const openWallet = wallet();
      const open = makeChainTransaction({ action: 'open', functionName: 'open_credit_line', contractId, walletAddress: openWallet, txHash: h2 });
      // An `open` with no line of that contract and wallet (only one of another contract, and one unbound) stays line-less.
      const loneWallet = wallet();
      await openLine({ contractId: contract(), walletAddress: loneWallet, status: 'closed' });
      await openLine({ walletAddress: loneWallet });
      const lone = makeChainTransaction({ action: 'open', functionName: 'open_credit_line', contractId, walletAddress: loneWallet, txHash: h3 });
      // Pending, but its hash is not among the confirmations.
      const waiting = chainTransactionFor(line, { txHash: h4 });
      for (const tx of [draw, ...bystanders, open, lone, waiting]) await chain().insert(tx);
      const opened = await openLine({ contractId, walletAddress: openWallet });

      const when = minutes(30);
      const confirmed = await store.transaction((repos) =>
        repos.chainTransactions.confirmByHashes([{ txHash: h1, ledger: 100 }, { txHash: h2, ledger: 101 }, { txHash: h3, ledger: 102 }, { txHash: hash(), ledger: 103 }], when),
      );
      expect([...confirmed].sort()).toEqual([draw.id, open.id, lone.id].sort());

      expect(await chain().findById(draw.id)).toEqual({ ...draw, status: 'confirmed', ledger: 100, settledAt: when, updatedAt: when });
      expect(await chain().findById(open.id)).toEqual({ ...open, creditLineId: opened.id, status: 'confirmed', ledger: 101, settledAt: when, updatedAt: when });
      expect(await chain().findById(lone.id)).toEqual({ ...lone, status: 'confirmed', ledger: 102, settledAt: when, updatedAt: when });
      for (const tx of [...bystanders, waiting]) expect(await chain().findById(tx.id)).toEqual(tx);
      expect(ids(await chain().listByLine(opened.id, { limit: 10 }))).toEqual([open.id]);
      expect(ids(await chain().listPending(10))).toEqual([waiting.id]);

      // Once confirmed, the same hashes confirm nothing more; nor does an empty list.
      expect(await chain().confirmByHashes([{ txHash: h1, ledger: 200 }, { txHash: h2, ledger: 201 }, { txHash: h3, ledger: 202 }], minutes(40))).toEqual([]);
      expect(await chain().confirmByHashes([], minutes(40))).toEqual([]);
      expect((await chain().findById(draw.id))!.ledger).toBe(100);
      expect((await chain().findById(open.id))!.settledAt).toEqual(when);
    });

    it('lockAccountSequence is null for an unknown account, then what saveAccountSequence stored; a save overwrites', async () => {
      const account = wallet();
      const other = wallet();
      expect(await chain().lockAccountSequence(account, T0)).toBeNull();
      // A lock alone stores no sequence.
      expect(await chain().lockAccountSequence(account, minutes(1))).toBeNull();
      await chain().saveAccountSequence(account, 100n, minutes(1));
      expect(await chain().lockAccountSequence(account, minutes(2))).toBe(100n);
      await chain().saveAccountSequence(account, 2n ** 63n - 1n, minutes(2));
      const stored = await chain().lockAccountSequence(account, minutes(3));
      expect(typeof stored).toBe('bigint');
      expect(stored).toBe(2n ** 63n - 1n);
      expect(await chain().lockAccountSequence(other, minutes(3))).toBeNull();
      // A save without a lock first stores it too.
      const fresh = wallet();
      await chain().saveAccountSequence(fresh, 5n, minutes(3));
      expect(await chain().lockAccountSequence(fresh, minutes(4))).toBe(5n);

      // Inside a unit of work: its own save is visible; a rolled-back save is not kept.
      await store.transaction(async (repos) => {
        expect(await repos.chainTransactions.lockAccountSequence(account, minutes(5))).toBe(2n ** 63n - 1n);
        await repos.chainTransactions.saveAccountSequence(account, 7n, minutes(5));
        expect(await repos.chainTransactions.lockAccountSequence(account, minutes(5))).toBe(7n);
      });
      await expect(
        store.transaction(async (repos) => {
          await repos.chainTransactions.lockAccountSequence(account, minutes(6));
          await repos.chainTransactions.saveAccountSequence(account, 8n, minutes(6));
          throw new Error('submission failed');
        }),
      ).rejects.toThrow('submission failed');
      expect(await chain().lockAccountSequence(account, minutes(7))).toBe(7n);
      expect(await chain().lockAccountSequence(other, minutes(7))).toBeNull();
    });

    it('concurrent units of work that lock an account, read and save the next sequence each get a different one', async () => {
      const account = wallet();
      await chain().saveAccountSequence(account, SEQUENCE, T0);
      const workers = 5;
      const handedOut = await Promise.all(
        Array.from({ length: workers }, (_, i) =>
          store.transaction(async (repos) => {
            const current = (await repos.chainTransactions.lockAccountSequence(account, minutes(i)))!;
            // Yield between read and write, so an unlocked read would interleave.
            await sleep(5);
            await repos.chainTransactions.saveAccountSequence(account, current + 1n, minutes(i));
            return current + 1n;
          }),
        ),
      );
      expect([...handedOut].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(Array.from({ length: workers }, (_, i) => SEQUENCE + BigInt(i + 1)));
      expect(await chain().lockAccountSequence(account, minutes(10))).toBe(SEQUENCE + BigInt(workers));
    });

    it('concurrent first locks of an unknown account: exactly one sees no sequence, the others build on what it saved', async () => {
      const account = wallet();
      const workers = 4;
      const seen = await Promise.all(
        Array.from({ length: workers }, () =>
          store.transaction(async (repos) => {
            const current = await repos.chainTransactions.lockAccountSequence(account, T0);
            await sleep(5);
            await repos.chainTransactions.saveAccountSequence(account, current === null ? 1_000n : current + 1n, T0);
            return current;
          }),
        ),
      );
      expect(seen.filter((s) => s === null)).toHaveLength(1);
      expect(await chain().lockAccountSequence(account, minutes(1))).toBe(1_000n + BigInt(workers - 1));
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('Store.transaction', () => {
    it('a unit of work that throws leaves no writes behind', async () => {
      const line = makeLine();
      const entry = makeEntry(line.id);
      const event = makeEvent(line.id);
      const audit = makeAudit({ targetId: line.id });
      const boom = new Error('boom');

      await expect(
        store.transaction(async (repos) => {
          await repos.creditLines.insert(line);
          await repos.ledger.append(entry);
          await repos.events.append(event);
          await repos.audit.append(audit);
          // Inside the unit of work its own writes are visible.
          expect(await repos.creditLines.findById(line.id)).toEqual(line);
          throw boom;
        }),
      ).rejects.toBe(boom);

      expect(await store.repos.creditLines.findById(line.id)).toBeNull();
      expect(await store.repos.creditLines.list({}, { limit: 100 })).toEqual([]);
      expect(await store.repos.ledger.listByLine(line.id, { limit: 100 })).toEqual([]);
      expect(await store.repos.events.listByAggregate('credit_line', line.id)).toEqual([]);
      expect(await store.repos.audit.list({}, { limit: 100 })).toEqual([]);
      // The wallet is not blocked by the rolled-back line.
      await store.repos.creditLines.insert(makeLine({ walletAddress: line.walletAddress }));
    });

    it('a failed update inside a unit of work leaves the earlier state of the line', async () => {
      const line = makeLine();
      await store.repos.creditLines.insert(line);
      await expect(
        store.transaction(async (repos) => {
          const locked = (await repos.creditLines.findByIdForUpdate(line.id))!;
          await repos.creditLines.update({ ...locked, utilized: 500n, updatedAt: minutes(1) });
          await repos.ledger.append(makeEntry(line.id));
          throw new Error('later step failed');
        }),
      ).rejects.toThrow('later step failed');
      expect(await store.repos.creditLines.findById(line.id)).toEqual(line);
      expect(await store.repos.ledger.listByLine(line.id, { limit: 10 })).toEqual([]);
    });

    it('a conflict raised inside a unit of work rolls back the writes before it', async () => {
      const existing = makeLine();
      await store.repos.creditLines.insert(existing);
      const other = makeLine();
      await expectConflict(
        store.transaction(async (repos) => {
          await repos.creditLines.insert(other);
          await repos.events.append(makeEvent(other.id));
          await repos.creditLines.insert(makeLine({ walletAddress: existing.walletAddress }));
        }),
        'duplicate_open_line',
      );
      expect(await store.repos.creditLines.findById(other.id)).toBeNull();
      expect(await store.repos.events.listByAggregate('credit_line', other.id)).toEqual([]);
    });

    it('a successful unit of work commits every write and returns its result', async () => {
      const line = makeLine();
      const result = await store.transaction(async (repos) => {
        await repos.creditLines.insert(line);
        const entry = await repos.ledger.append(makeEntry(line.id));
        const event = await repos.events.append(makeEvent(line.id));
        const audit = await repos.audit.append(makeAudit({ targetId: line.id }));
        return { entry, event, audit };
      });
      expect(await store.repos.creditLines.findById(line.id)).toEqual(line);
      expect(await store.repos.ledger.listByLine(line.id, { limit: 10 })).toEqual([result.entry]);
      expect(await store.repos.events.listByAggregate('credit_line', line.id)).toEqual([result.event]);
      expect(await store.repos.audit.list({ targetId: line.id }, { limit: 10 })).toEqual([result.audit]);
    });

    it('concurrent read-modify-write units of work through findByIdForUpdate lose no update', async () => {
      const line = makeLine({ utilized: 0n });
      await store.repos.creditLines.insert(line);
      const increments = 10;
      await Promise.all(
        Array.from({ length: increments }, () =>
          store.transaction(async (repos) => {
            const locked = (await repos.creditLines.findByIdForUpdate(line.id))!;
            // Yield to the event loop between read and write, so an unlocked read would interleave.
            await new Promise((resolve) => setTimeout(resolve, 5));
            await repos.creditLines.update({ ...locked, utilized: locked.utilized + 1n });
            await repos.ledger.append(makeEntry(line.id, { amount: 1n, principalAmount: 1n, utilizedAfter: locked.utilized + 1n }));
          }),
        ),
      );
      expect((await store.repos.creditLines.findById(line.id))?.utilized).toBe(BigInt(increments));
      const ledger = await store.repos.ledger.listByLine(line.id, { limit: 100 });
      expect(ledger.map((e) => e.utilizedAfter)).toEqual(Array.from({ length: increments }, (_, i) => BigInt(increments - i)));
    });

    it('a write made outside a transaction while another transaction runs is not lost when that transaction commits', async () => {
      const inside = makeLine();
      const outside = makeLine();
      const claim = makeClaim();
      const started = gate();
      const finish = gate();

      const tx = store.transaction(async (repos) => {
        await repos.creditLines.insert(inside);
        started.open();
        await finish.promise;
      });
      await started.promise;
      // While the transaction is open: a committed write outside it (as the idempotency middleware does).
      // On single-connection PGlite these wait for the transaction; elsewhere they complete at once.
      const outsideWrites = Promise.all([store.repos.idempotency.claim(claim, T0), store.repos.creditLines.insert(outside)]);
      setTimeout(finish.open, 20);
      await tx;
      const [claimed] = await outsideWrites;
      expect(claimed).toEqual({ claimed: true });

      expect(await store.repos.creditLines.findById(inside.id)).toEqual(inside);
      expect(await store.repos.creditLines.findById(outside.id)).toEqual(outside);
      const again = await store.repos.idempotency.claim(claim, T0);
      expect(again.claimed).toBe(false);
    });
  });
});
