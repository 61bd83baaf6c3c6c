import { UnprocessableError, ConflictError, NotFoundError } from '../../domain/errors.js';
import type { CreditLine } from '../../domain/creditLine.js';
import { formatAmount, minBigint } from '../../domain/money.js';
import type { Store } from '../../repositories/repositories.js';
import type { CreditLineService, RequestMeta } from '../creditLineService.js';
import type { CreditOffers } from '../riskService.js';
import type { CollateralService, CollateralView } from './collateralService.js';
import { assertFresh } from './holdings.js';

/** A card line with what limits it now: its own (behavioural) limit, its collateral's, the product cap. */
export interface CardCredit {
  line: CreditLine;
  collateral: CollateralView;
  collateralLimit: bigint;
  productCap: bigint;
  effectiveLimit: bigint;
  available: bigint;
}

/**
 * The "Buy & Keep" card's credit: issued against the wallet's collateral. Issuing opens a collateral-backed line on
 * the wallet's risk evaluation, or raises an existing one to what the evaluation offers now; what can be drawn is
 * the smallest of that limit, the collateral's volatility-adjusted limit at current prices, and the product cap.
 */
export class CardCreditService {
  constructor(
    private readonly store: Store,
    private readonly creditLines: CreditLineService,
    private readonly collateral: CollateralService,
    private readonly offers: CreditOffers,
    private readonly maxCreditLimit: bigint,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async issue(walletAddress: string, requestedLimit: bigint | undefined, meta: RequestMeta): Promise<{ credit: CardCredit; opened: boolean }> {
    const view = await this.collateral.wallet(walletAddress, meta);
    assertFresh(view.market, view.positions.filter((p) => p.quantity > 0n).map((p) => p.assetCode), this.clock());
    if (view.health.collateralLimit <= 0n) {
      throw new UnprocessableError('no_collateral', 'The wallet has no collateral to issue credit against; deposit some first');
    }
    const open = await this.store.repos.creditLines.findOpenByWallet(walletAddress);
    if (!open) {
      const line = await this.creditLines.open({ walletAddress, creditLimit: requestedLimit, collateralBacked: true }, meta);
      return { credit: await this.credit(line.id, meta), opened: true };
    }
    if (!open.collateralBacked) {
      throw new ConflictError('line_not_collateral_backed', 'The wallet already has a credit line that is not backed by collateral', { creditLineId: open.id });
    }
    const offer = await this.offers.currentOffer(walletAddress);
    if (offer.decision === 'decline') throw new UnprocessableError('credit_declined', `The wallet's risk evaluation declined credit (score ${offer.score})`, { evaluationId: offer.id });
    if (requestedLimit !== undefined && requestedLimit > offer.creditLimit) {
      throw new UnprocessableError('credit_limit_above_offer', `creditLimit exceeds the ${formatAmount(offer.creditLimit)} the wallet's risk evaluation offers`, {
        offeredCreditLimit: formatAmount(offer.creditLimit),
      });
    }
    const target = requestedLimit ?? offer.creditLimit;
    if (target > open.creditLimit) await this.creditLines.raiseLimit(open.id, target, meta);
    return { credit: await this.credit(open.id, meta), opened: false };
  }

  async credit(lineId: string, meta: RequestMeta): Promise<CardCredit> {
    const line = await this.creditLines.get(lineId, meta);
    if (!line.collateralBacked) throw new NotFoundError('Card credit line', lineId);
    return this.withLimits(line, await this.collateral.wallet(line.walletAddress, meta));
  }

  async forUser(walletAddress: string, meta: RequestMeta): Promise<CardCredit[]> {
    const page = await this.creditLines.list({ walletAddress }, { limit: 100 }, meta);
    const lines = page.items.filter((l) => l.collateralBacked);
    if (lines.length === 0) return [];
    const view = await this.collateral.wallet(walletAddress, meta);
    return lines.map((line) => this.withLimits(line, view));
  }

  private withLimits(line: CreditLine, collateral: CollateralView): CardCredit {
    const collateralLimit = collateral.health.collateralLimit;
    const effectiveLimit = minBigint(minBigint(line.creditLimit, collateralLimit), this.maxCreditLimit);
    const available = effectiveLimit > line.utilized && line.status === 'active' ? effectiveLimit - line.utilized : 0n;
    return { line, collateral, collateralLimit, productCap: this.maxCreditLimit, effectiveLimit, available };
  }
}
