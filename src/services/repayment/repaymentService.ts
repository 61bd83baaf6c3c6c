import { createHash, randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/money.js';
import { minorUnitsOf, parseFiat, toLineUnits } from '../../domain/repayment/conversion.js';
import type { ProviderName, Repayment } from '../../domain/repayment/records.js';
import { pageByTime, type PageRequest, type PageResult } from '../../lib/cursor.js';
import type { Logger } from '../../lib/logger.js';
import type { DomainEvent, InTransaction, RepaymentFilter, Repositories, Store } from '../../repositories/repositories.js';
import { WebhookSignatureError, type PaymentEvent, type PaymentProvider, type VerifiedDelivery } from '../../payments/paymentProvider.js';
import type { CreditLineService, RequestMeta } from '../creditLineService.js';
import { WalletOwnership } from '../walletOwnership.js';

export interface RepaymentSettings {
  /** Line-asset units per one major unit of each fiat currency, 1e14-scaled (the recorded conversion rate). */
  fxRates: ReadonlyMap<string, bigint>;
  /** The anchor path: USDC paid on chain to this account with the repayment's memo (HorizonListener records it). */
  anchor?: { account: string; assetCode: string; assetIssuer?: string };
}

export interface PaymentInstructions {
  provider: ProviderName;
  clientSecret: string | null;
  /** For anchor repayments: where to send what, with which memo. */
  destination: string | null;
  memo: string | null;
}

export interface Initiated {
  repayment: Repayment;
  instructions: PaymentInstructions;
}

export interface WebhookOutcome {
  eventId: string;
  type: string;
  outcome: 'applied' | 'failed' | 'reversed' | 'parked' | 'unmatched' | 'ignored' | 'duplicate';
  repaymentId: string | null;
}

export interface RepaymentMetrics {
  webhookRejected(reason: string): void;
  webhookProcessed(outcome: string): void;
}

/** Stripe's largest amount (8 digits of minor units). */
const MAX_PROVIDER_AMOUNT = 99_999_999n;

/** A UUID-shaped id derived from a key (SHA-256, version-5 style bits), stable across retries. */
function idFromKey(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const SYSTEM: RequestMeta = { actor: { kind: 'admin', id: 'payment-provider' } };
const RATE_SCALE = 10n ** 14n;

class DuplicateEvent extends Error {}
/** Rolls back a reversal that finds nothing left to give back (the event is then recorded as ignored). */
class NothingToReverse extends Error {}

/**
 * Fiat repayments end to end: a payment is initiated with the provider (the Idempotency-Key passed through), and
 * the provider's confirmation applies it to the line. Each provider event is claimed in the transaction that
 * applies it, so a webhook delivered any number of times, concurrently or not, moves money once. A payment that
 * cannot be applied (a closed or unknown line, a currency that does not match) is parked for review, never dropped;
 * one that exceeds the balance is held as a credit balance on the repayment.
 */
export class RepaymentService {
  private readonly clock: () => Date;
  private readonly ownership: WalletOwnership;

  constructor(
    private readonly store: Store,
    private readonly creditLines: CreditLineService,
    private readonly provider: PaymentProvider | null,
    private readonly settings: RepaymentSettings,
    private readonly logger: Logger,
    private readonly options: { ownership?: WalletOwnership; metrics?: RepaymentMetrics; clock?: () => Date } = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.ownership = options.ownership ?? new WalletOwnership('required');
  }

  /** `amount` is what the user pays, in `currency` (a fiat code, or the anchor's asset code for an on-chain payment). */
  async initiate(input: { lineId: string; amount: string; currency: string; idempotencyKey?: string }, meta: RequestMeta, alsoWithin?: InTransaction<Initiated>): Promise<Initiated> {
    const line = await this.creditLines.get(input.lineId, meta);
    if (meta.actor.kind !== 'admin') await this.ownership.assertCanAct(this.store.repos.walletAuth, meta.wallet, line.walletAddress);
    if (line.status === 'closed') throw new ConflictError('invalid_status', 'Cannot repay a closed credit line', { currentStatus: line.status });
    if (line.contractId) throw new ConflictError('chain_bound', 'This line is bound to the Credit contract; repay it on chain', { contractId: line.contractId });
    const currency = input.currency.toLowerCase();
    const anchor = this.settings.anchor;
    const onChain = anchor !== undefined && currency === anchor.assetCode.toLowerCase();
    const rate = onChain ? RATE_SCALE : this.settings.fxRates.get(currency);
    if (rate === undefined || (!onChain && minorUnitsOf(currency) === undefined)) {
      throw new ValidationError([{ field: 'currency', rule: 'supported_currency', message: `is not a currency we take (${[...this.settings.fxRates.keys(), ...(anchor ? [anchor.assetCode] : [])].join(', ')})` }]);
    }
    if (onChain && line.currency !== anchor.assetCode) {
      throw new ConflictError('currency_mismatch', `This line is in ${line.currency}; the anchor takes ${anchor.assetCode}`, { lineCurrency: line.currency });
    }
    const fiatAmount = onChain ? parseLineAmount(input.amount) : parseFiat(input.amount, currency);
    if (fiatAmount === null || fiatAmount <= 0n) {
      throw new ValidationError([{ field: 'amount', rule: 'decimal_amount', message: `must be a positive amount with at most ${onChain ? 7 : minorUnitsOf(currency)} decimals` }]);
    }
    if (!onChain && fiatAmount > MAX_PROVIDER_AMOUNT) {
      throw new ValidationError([{ field: 'amount', rule: 'max_amount', message: `must be at most ${MAX_PROVIDER_AMOUNT} in the currency's minor units` }]);
    }
    const now = this.clock();
    // With an Idempotency-Key the repayment's id follows from it: a retry sends the provider the very same request
    // (its metadata included), gets the same payment back, and finds the same row here.
    const id = input.idempotencyKey ? idFromKey(`${meta.actor.id}:${input.idempotencyKey}`) : randomUUID();
    const amount = onChain ? fiatAmount : toLineUnits(fiatAmount, currency, rate);
    let providerRef: string;
    let clientSecret: string | null = null;
    if (onChain) {
      // The memo is the repayment's reference: 28 bytes fit a Stellar text memo.
      providerRef = `rp-${id.replace(/-/g, '').slice(0, 24)}`;
    } else {
      if (!this.provider) throw new ServiceUnavailableError('payment_provider_not_configured', 'Card repayments are not configured here (PAYMENT_PROVIDER_API_KEY)');
      const created = await this.provider.createPayment({
        amountMinor: fiatAmount,
        currency,
        idempotencyKey: input.idempotencyKey ? `repayment:${meta.actor.id}:${input.idempotencyKey}` : `repayment:${id}`,
        metadata: { repaymentId: id, creditLineId: line.id },
        description: `Credit line repayment ${line.id}`,
      });
      providerRef = created.providerRef;
      clientSecret = created.clientSecret;
    }
    const draft: Repayment = {
      id,
      creditLineId: line.id,
      walletAddress: line.walletAddress,
      provider: onChain ? 'anchor' : 'stripe',
      providerRef,
      status: 'pending',
      currency,
      fiatAmount,
      fxRate1e14: rate,
      amount,
      appliedAmount: 0n,
      creditedAmount: 0n,
      reversedAmount: 0n,
      failureReason: null,
      parkedReason: null,
      createdAt: now,
      updatedAt: now,
    };
    return this.store.transaction(async (repos) => {
      // A retry whose first attempt reached the provider but not us gets the provider's same payment back: one row.
      const { repayment } = await repos.repayments.insertOrGet(draft);
      const initiated: Initiated = {
        repayment,
        instructions: {
          provider: repayment.provider,
          clientSecret,
          destination: onChain ? anchor!.account : null,
          memo: onChain ? repayment.providerRef : null,
        },
      };
      await alsoWithin?.(repos, initiated);
      return initiated;
    });
  }

  async get(id: string, meta: RequestMeta): Promise<Repayment> {
    const repayment = await this.store.repos.repayments.findById(id);
    if (!repayment) throw new NotFoundError('Repayment', id);
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, repayment.walletAddress);
    return repayment;
  }

  async listByLine(lineId: string, page: PageRequest, meta: RequestMeta): Promise<PageResult<Repayment>> {
    await this.creditLines.get(lineId, meta);
    return this.list({ creditLineId: lineId }, page);
  }

  /** For review (admin): every repayment, or those in one status (`parked` ones wait for an operator). */
  async list(filter: RepaymentFilter, page: PageRequest): Promise<PageResult<Repayment>> {
    return pageByTime(page, (r) => ({ at: r.createdAt, id: r.id }), ({ limit, after }) => this.store.repos.repayments.list(filter, { limit, after: after && { createdAt: after.at, id: after.id } }));
  }

  /** The provider's webhook: verified over the raw body, then processed exactly once. */
  async handleWebhook(rawBody: Buffer, signature: string | undefined): Promise<WebhookOutcome> {
    if (!this.provider) throw new ServiceUnavailableError('payment_provider_not_configured', 'Card repayments are not configured here');
    const now = this.clock();
    let delivery: VerifiedDelivery;
    try {
      delivery = this.provider.parseWebhook(rawBody, signature, now);
    } catch (error) {
      if (!(error instanceof WebhookSignatureError)) throw error;
      this.options.metrics?.webhookRejected('signature');
      throw new ValidationError([{ field: 'Stripe-Signature', rule: 'valid_signature', message: error.message }], 'The webhook signature is missing, invalid or too old');
    }
    // Twice the tolerance: a request is remembered for as long as its signature could still pass, with margin for clocks.
    const forgetBefore = new Date(now.getTime() - 2 * this.provider.signatureToleranceSeconds * 1000);
    if (!(await this.store.repos.repayments.claimDelivery('stripe', delivery.deliveryId, now, forgetBefore))) {
      this.options.metrics?.webhookRejected('replay');
      throw new ValidationError(
        [{ field: 'Stripe-Signature', rule: 'not_replayed', message: 'this signed request was received before; the provider signs each delivery anew' }],
        'The webhook request is a replay of one received before',
      );
    }
    const payload = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>;
    const outcome = await this.process(delivery.event, payload, 'stripe');
    this.options.metrics?.webhookProcessed(outcome.outcome);
    return outcome;
  }

  /** The anchor path: incoming USDC payments recorded by the HorizonListener, matched to repayments by memo. */
  async applyAnchorPayments(limit = 100): Promise<number> {
    const received = await this.store.repos.incomingPayments.list({ status: 'received' }, limit);
    for (const payment of received) {
      const event: PaymentEvent = { kind: 'succeeded', eventId: payment.id, type: 'incoming_payment', providerRef: payment.memo ?? '', amountMinor: payment.amount, currency: payment.assetCode.toLowerCase() };
      const outcome = await this.process(event, { incomingPaymentId: payment.id, txHash: payment.txHash, memo: payment.memo, amount: formatAmount(payment.amount) }, 'anchor', async (repos, status) => {
        await repos.incomingPayments.markStatus(payment.id, status === 'applied' ? 'applied' : 'unmatched');
      });
      if (outcome.outcome === 'unmatched') this.logger.warn({ payment: payment.id }, 'incoming payment matches no repayment: parked for review');
    }
    return received.length;
  }

  private async process(
    event: PaymentEvent,
    payload: Record<string, unknown>,
    provider: ProviderName,
    alsoWithin?: (repos: Repositories, outcome: WebhookOutcome['outcome']) => Promise<void>,
  ): Promise<WebhookOutcome> {
    const now = this.clock();
    const done = (outcome: WebhookOutcome['outcome'], repaymentId: string | null): WebhookOutcome => ({ eventId: event.eventId, type: event.type, outcome, repaymentId });
    const claim = async (repos: Repositories, outcome: WebhookOutcome['outcome'], repaymentId: string | null) => {
      if (!(await repos.repayments.claimEvent({ provider, eventId: event.eventId, type: event.type, outcome, repaymentId, payload, receivedAt: now }))) throw new DuplicateEvent();
      await alsoWithin?.(repos, outcome);
    };
    try {
      if (event.kind === 'ignored') {
        await this.store.transaction((repos) => claim(repos, 'ignored', null));
        return done('ignored', null);
      }
      // A plain read to route the event; each path reads the row again, locked, inside its own transaction.
      const [repayment] = await this.store.repos.repayments.findByProviderRefs(provider, [event.providerRef]);
      if (!repayment) {
        await this.store.transaction((repos) => claim(repos, 'unmatched', null));
        return done('unmatched', null);
      }
      if (event.kind === 'failed') return await this.fail(repayment, event.reason, now, claim, done);
      const line = await this.store.repos.creditLines.findById(repayment.creditLineId);
      const currencyMatches = event.currency.toLowerCase() === repayment.currency;
      if (event.kind === 'succeeded') {
        if (!awaitsMoney(repayment)) {
          await this.store.transaction((repos) => claim(repos, 'ignored', repayment.id));
          return done('ignored', repayment.id);
        }
        const problem = !line ? 'the line no longer exists' : line.status === 'closed' ? 'the line is closed' : line.contractId ? 'the line is bound to the Credit contract' : !currencyMatches ? `the payment came in ${event.currency}, not ${repayment.currency}` : null;
        if (problem) return await this.park(repayment, problem, now, claim, done);
        return await this.apply(repayment, event.amountMinor, now, claim, done);
      }
      const cannotBook = !currencyMatches ? `the reversal came in ${event.currency}` : !line ? 'the line no longer exists' : line.status === 'closed' ? 'the line is closed' : line.contractId ? 'the line is bound to the Credit contract' : null;
      if (cannotBook) return await this.parkEvent(repayment, `a ${event.cause} that cannot be booked: ${cannotBook}`, now, claim, done);
      return await this.reverse(repayment, event, now, claim, done);
    } catch (error) {
      if (error instanceof DuplicateEvent) return done('duplicate', null);
      throw error;
    }
  }

  private async apply(repayment: Repayment, amountMinor: bigint, now: Date, claim: Claim, done: Done): Promise<WebhookOutcome> {
    const amount = repayment.provider === 'anchor' ? amountMinor : toLineUnits(amountMinor, repayment.currency, repayment.fxRate1e14);
    let fresh: Repayment;
    await this.creditLines.applyProviderRepayment(
      repayment.creditLineId,
      amount,
      { source: repayment.provider, repaymentId: repayment.id },
      SYSTEM,
      async (repos, { applied }) => {
        await repos.repayments.update({ ...fresh, status: 'succeeded', failureReason: null, amount, appliedAmount: applied, creditedAmount: amount - applied, updatedAt: now });
      },
      // Before any write: a delivery racing one that applied the payment waited for the line and stops here, cheaply.
      async (repos) => {
        fresh = (await repos.repayments.findByProviderRefForUpdate(repayment.provider, repayment.providerRef))!;
        if (!awaitsMoney(fresh)) throw new DuplicateEvent(); // another event applied it meanwhile
        await claim(repos, 'applied', repayment.id);
      },
    );
    return done('applied', repayment.id);
  }

  private async fail(repayment: Repayment, reason: string, now: Date, claim: Claim, done: Done): Promise<WebhookOutcome> {
    await this.store.transaction(async (repos) => {
      await claim(repos, 'failed', repayment.id);
      const fresh = (await repos.repayments.findByProviderRefForUpdate(repayment.provider, repayment.providerRef))!;
      if (!awaitsMoney(fresh)) return; // a late failure notice for a payment that succeeded changes nothing
      await repos.repayments.update({ ...fresh, status: 'failed', failureReason: reason, updatedAt: now });
      await repos.events.append(this.event('repayment.failed', repayment, { reason }, now));
    });
    return done('failed', repayment.id);
  }

  private async park(repayment: Repayment, reason: string, now: Date, claim: Claim, done: Done): Promise<WebhookOutcome> {
    await this.store.transaction(async (repos) => {
      await claim(repos, 'parked', repayment.id);
      const fresh = (await repos.repayments.findByProviderRefForUpdate(repayment.provider, repayment.providerRef))!;
      await repos.repayments.update({ ...fresh, status: 'parked', parkedReason: reason, updatedAt: now });
      await repos.events.append(this.event('repayment.parked', repayment, { reason }, now));
    });
    return done('parked', repayment.id);
  }

  /** An event that cannot be booked (a refund for a closed line): kept for review; the repayment keeps its status. */
  private async parkEvent(repayment: Repayment, reason: string, now: Date, claim: Claim, done: Done): Promise<WebhookOutcome> {
    await this.store.transaction(async (repos) => {
      await claim(repos, 'parked', repayment.id);
      await repos.events.append(this.event('repayment.parked', repayment, { reason }, now));
    });
    return done('parked', repayment.id);
  }

  /** A refund or a dispute: what was applied goes back, from the credit balance first, then onto the line. */
  private async reverse(repayment: Repayment, event: Extract<PaymentEvent, { kind: 'reversed' }>, now: Date, claim: Claim, done: Done): Promise<WebhookOutcome> {
    const taken = repayment.provider === 'anchor' ? event.amountMinor : toLineUnits(event.amountMinor, repayment.currency, repayment.fxRate1e14);
    try {
      await this.creditLines.reverseProviderRepayment(repayment.creditLineId, SYSTEM, async (repos) => {
        // Sized from the repayment as it is now, under the line's lock: concurrent reversals of one payment queue.
        const fresh = (await repos.repayments.findByProviderRefForUpdate(repayment.provider, repayment.providerRef))!;
        // A refund reports the charge's refunded total; a dispute its own amount, on top of what was reversed before.
        const target = event.cause === 'refund' ? taken : fresh.reversedAmount + taken;
        const reversible = fresh.appliedAmount + fresh.creditedAmount;
        const delta = (target < reversible ? target : reversible) - fresh.reversedAmount;
        if (delta <= 0n) throw new NothingToReverse();
        const fromCredit = delta < fresh.creditedAmount ? delta : fresh.creditedAmount;
        await claim(repos, 'reversed', repayment.id);
        const reversedAmount = fresh.reversedAmount + delta;
        await repos.repayments.update({
          ...fresh,
          status: reversedAmount >= reversible ? 'refunded' : fresh.status,
          creditedAmount: fresh.creditedAmount - fromCredit,
          reversedAmount,
          updatedAt: now,
        });
        return { amount: delta - fromCredit, data: { repaymentId: repayment.id, cause: event.cause, fromCreditBalance: formatAmount(fromCredit) } };
      });
      return done('reversed', repayment.id);
    } catch (error) {
      if (!(error instanceof NothingToReverse)) throw error;
      await this.store.transaction((repos) => claim(repos, 'ignored', repayment.id));
      return done('ignored', repayment.id);
    }
  }

  private event(type: string, repayment: Repayment, data: Record<string, unknown>, now: Date): Omit<DomainEvent, 'seq'> {
    return {
      id: randomUUID(),
      type,
      aggregateType: 'repayment',
      aggregateId: repayment.id,
      payload: { repaymentId: repayment.id, creditLineId: repayment.creditLineId, walletAddress: repayment.walletAddress, provider: repayment.provider, ...data },
      createdAt: now,
    };
  }
}

/**
 * Whether a success notice still has money to apply. A declined attempt leaves the provider's payment open (Stripe
 * takes the PaymentIntent back to requires_payment_method), so the customer may pay it with another card: a failed
 * repayment is applied when that success arrives.
 */
const awaitsMoney = (repayment: Repayment): boolean => repayment.status === 'pending' || repayment.status === 'failed';

type Claim = (repos: Repositories, outcome: WebhookOutcome['outcome'], repaymentId: string | null) => Promise<void>;
type Done = (outcome: WebhookOutcome['outcome'], repaymentId: string | null) => WebhookOutcome;

/** A USDC amount (7 decimals) for on-chain repayments. */
function parseLineAmount(text: string): bigint | null {
  const match = /^(\d{1,20})(?:\.(\d{1,7}))?$/.exec(text);
  if (!match) return null;
  return BigInt(match[1]!) * 10_000_000n + BigInt((match[2] ?? '').padEnd(7, '0'));
}

