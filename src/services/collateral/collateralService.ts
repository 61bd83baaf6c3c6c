import { randomUUID } from 'node:crypto';
import { accountHealth, type AccountHealth } from '../../domain/collateral/health.js';
import { formatQuantity, parseQuantity } from '../../domain/collateral/quantity.js';
import type { CollateralPosition } from '../../domain/collateral/records.js';
import { formatAmount, minBigint } from '../../domain/money.js';
import { NotFoundError, UnprocessableError } from '../../domain/errors.js';
import { accrue, type CreditLine } from '../../domain/creditLine.js';
import type { InTransaction, Repositories, Store } from '../../repositories/repositories.js';
import type { RequestMeta } from '../creditLineService.js';
import { WalletOwnership } from '../walletOwnership.js';
import { assertFresh, loadMarket, stalePrices, toHoldings, withYieldTo, type MarketSnapshot, type StalePrice } from './holdings.js';

export interface CollateralServiceOptions {
  store: Store;
  maxCreditLimit: bigint;
  ownership?: WalletOwnership;
  clock?: () => Date;
  newId?: () => string;
}

/** A wallet's collateral priced now: positions, the health they give its debt, and any price that is stale. */
export interface CollateralView {
  walletAddress: string;
  positions: CollateralPosition[];
  health: AccountHealth;
  market: MarketSnapshot;
  stale: StalePrice[];
  line: CreditLine | null;
}

export interface MovementOutcome {
  position: CollateralPosition;
  view: CollateralView;
}

/**
 * Collateral deposits and withdrawals (a ledger of positions, like the database ledger of lines), valuation, and
 * the collateral limit a card line's draws are held to. Everything that depends on a price refuses a stale one.
 */
export class CollateralService {
  private readonly store: Store;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly ownership: WalletOwnership;

  constructor(private readonly options: CollateralServiceOptions) {
    this.store = options.store;
    this.clock = options.clock ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.ownership = options.ownership ?? new WalletOwnership('required');
  }

  async deposit(walletAddress: string, assetCode: string, amount: string, meta: RequestMeta, alsoWithin?: InTransaction<MovementOutcome>): Promise<MovementOutcome> {
    const { asset, quantity } = await this.movementRequest(walletAddress, assetCode, amount, meta);
    return this.store.transaction(async (repos) => {
      const now = this.clock();
      const market = await loadMarket(repos, [assetCode]);
      const positions = await repos.collateralPositions.listByWalletForUpdate(walletAddress);
      const existing = positions.find((p) => p.assetCode === assetCode);
      const current = existing ? await this.creditYield(repos, existing, market, now) : this.newPosition(walletAddress, assetCode, now);
      const position = { ...current, quantity: current.quantity + quantity, updatedAt: now };
      if (existing) await repos.collateralPositions.update(position);
      else await repos.collateralPositions.insert(position);
      await repos.collateralPositions.appendMovement({ id: this.newId(), positionId: position.id, type: 'deposit', quantity, quantityAfter: position.quantity, executionId: null, createdAt: now });
      await this.recordEvent(repos, 'collateral.deposited', position, quantity, asset.decimals, now);
      const outcome = { position, view: await this.viewWithin(repos, walletAddress, now) };
      await alsoWithin?.(repos, outcome);
      return outcome;
    });
  }

  /** Refused when the rest would not cover the debt under the card line's limit, or would leave the account less than healthy. */
  async withdraw(walletAddress: string, assetCode: string, amount: string, meta: RequestMeta, alsoWithin?: InTransaction<MovementOutcome>): Promise<MovementOutcome> {
    const { asset, quantity } = await this.movementRequest(walletAddress, assetCode, amount, meta);
    return this.store.transaction(async (repos) => {
      const now = this.clock();
      // Same lock order as a draw (line, then positions): a draw and a withdrawal cannot both use the same collateral.
      const line = await this.lockCardLine(repos, walletAddress);
      const positions = await repos.collateralPositions.listByWalletForUpdate(walletAddress);
      const held = positions.find((p) => p.assetCode === assetCode);
      if (!held) throw new NotFoundError('Collateral position', `${assetCode} of this wallet`);
      const market = await loadMarket(repos, positions.map((p) => p.assetCode));
      const current = await this.creditYield(repos, held, market, now);
      if (quantity > current.quantity) {
        throw new UnprocessableError('insufficient_collateral', `The position holds less than the amount asked for`, { held: formatQuantity(current.quantity, asset.decimals) });
      }
      const position = { ...current, quantity: current.quantity - quantity, updatedAt: now };
      // The balance as it stands now: interest accrued since the line last moved counts, as it does for a draw.
      const debt = line ? accrue(line, now).line.utilized : 0n;
      if (debt > 0n) {
        // Only a wallet with debt depends on prices to withdraw; without debt the collateral is simply its own.
        // Like a draw: an emptied position depends on no price.
        assertFresh(market, positions.filter((p) => p.quantity > 0n).map((p) => p.assetCode), now);
        const after = accountHealth(toHoldings(market, positions.map((p) => (p.id === position.id ? position : p)), now), debt);
        const limit = minBigint(minBigint(line!.creditLimit, after.collateralLimit), this.options.maxCreditLimit);
        if (debt > limit) {
          throw new UnprocessableError('withdrawal_breaks_limit', 'After this withdrawal the collateral would no longer cover the line\'s balance', {
            balance: formatAmount(debt),
            limitAfter: formatAmount(limit),
          });
        }
        if (after.band !== 'healthy') {
          throw new UnprocessableError('withdrawal_breaks_health', `After this withdrawal the account would be ${after.band}`, { healthFactorBpsAfter: after.healthFactorBps });
        }
      }
      await repos.collateralPositions.update(position);
      await repos.collateralPositions.appendMovement({ id: this.newId(), positionId: position.id, type: 'withdrawal', quantity, quantityAfter: position.quantity, executionId: null, createdAt: now });
      await this.recordEvent(repos, 'collateral.withdrawn', position, quantity, asset.decimals, now);
      const outcome = { position, view: await this.viewWithin(repos, walletAddress, now) };
      await alsoWithin?.(repos, outcome);
      return outcome;
    });
  }

  async position(id: string, meta: RequestMeta): Promise<{ position: CollateralPosition; view: CollateralView }> {
    const position = await this.store.repos.collateralPositions.findById(id);
    if (!position) throw new NotFoundError('Collateral position', id);
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, position.walletAddress);
    const view = await this.viewWithin(this.store.repos, position.walletAddress, this.clock());
    return { position: view.positions.find((p) => p.id === id)!, view };
  }

  async wallet(walletAddress: string, meta: RequestMeta): Promise<CollateralView> {
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, walletAddress);
    return this.viewWithin(this.store.repos, walletAddress, this.clock());
  }

  /**
   * The most a card line may have utilized now: the smaller of the line's own limit and its collateral's limit at
   * fresh prices (a stale price refuses the draw). Runs inside the drawing transaction, with the line locked.
   */
  async limitWithin(repos: Repositories, line: CreditLine, now: Date): Promise<bigint> {
    const positions = await repos.collateralPositions.listByWalletForUpdate(line.walletAddress);
    const market = await loadMarket(repos, positions.map((p) => p.assetCode));
    assertFresh(market, positions.filter((p) => p.quantity > 0n).map((p) => p.assetCode), now);
    const collateralLimit = accountHealth(toHoldings(market, positions, now), line.utilized).collateralLimit;
    return minBigint(line.creditLimit, collateralLimit);
  }

  /** The wallet's positions priced now (yield projected to now; nothing written). */
  async viewWithin(repos: Repositories, walletAddress: string, now: Date): Promise<CollateralView> {
    const positions = await repos.collateralPositions.listByWallet(walletAddress);
    const market = await loadMarket(repos, positions.map((p) => p.assetCode));
    const open = await repos.creditLines.findOpenByWallet(walletAddress);
    const line = open?.collateralBacked ? open : null;
    const projected = positions.map((p) => (market.params.has(p.assetCode) ? withYieldTo(p, market.params.get(p.assetCode)!.params.yieldAprBps, now).position : p));
    return {
      walletAddress,
      positions: projected,
      health: accountHealth(toHoldings(market, positions, now), line ? accrue(line, now).line.utilized : 0n),
      market,
      stale: stalePrices(market, positions.filter((p) => p.quantity > 0n).map((p) => p.assetCode), now),
      line,
    };
  }

  /** Who may move the wallet's collateral, which asset, and the quantity in its own decimals. */
  private async movementRequest(walletAddress: string, assetCode: string, amount: string, meta: RequestMeta) {
    await this.ownership.assertCanAct(this.store.repos.walletAuth, meta.wallet, walletAddress);
    const asset = await this.store.repos.collateralAssets.findAsset(assetCode);
    if (!asset) throw new NotFoundError('Collateral asset', assetCode);
    return { asset, quantity: parseQuantity(amount, asset.decimals) };
  }

  private async lockCardLine(repos: Repositories, walletAddress: string): Promise<CreditLine | null> {
    const line = await repos.creditLines.findOpenByWallet(walletAddress);
    return line?.collateralBacked ? repos.creditLines.findByIdForUpdate(line.id) : null;
  }

  /** Writes the yield accrued since the checkpoint into the position (a `yield` movement), before it changes. */
  private async creditYield(repos: Repositories, position: CollateralPosition, market: MarketSnapshot, now: Date): Promise<CollateralPosition> {
    const apr = market.params.get(position.assetCode)?.params.yieldAprBps ?? 0;
    const { position: grown, earned } = withYieldTo(position, apr, now);
    if (earned > 0n) {
      await repos.collateralPositions.appendMovement({ id: this.newId(), positionId: position.id, type: 'yield', quantity: earned, quantityAfter: grown.quantity, executionId: null, createdAt: now });
    }
    return grown;
  }

  private newPosition(walletAddress: string, assetCode: string, now: Date): CollateralPosition {
    return { id: this.newId(), walletAddress, assetCode, quantity: 0n, yieldEarned: 0n, yieldCheckpointAt: now, createdAt: now, updatedAt: now };
  }

  private async recordEvent(repos: Repositories, type: string, position: CollateralPosition, moved: bigint, decimals: number, now: Date): Promise<void> {
    await repos.events.append({
      id: this.newId(),
      type,
      aggregateType: 'collateral_position',
      aggregateId: position.id,
      payload: {
        positionId: position.id,
        walletAddress: position.walletAddress,
        assetCode: position.assetCode,
        quantity: formatQuantity(moved, decimals),
        quantityAfter: formatQuantity(position.quantity, decimals),
      },
      createdAt: now,
    });
  }
}
