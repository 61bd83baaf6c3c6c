import { ForbiddenError, UnauthorizedError } from '../domain/errors.js';
import type { WalletAuthRepository } from '../repositories/repositories.js';

/** The wallet a request proved control of (SEP-10 token subject). */
export interface WalletPrincipal {
  account: string;
  jti: string;
}

export type WalletAuthMode = 'required' | 'optional';

/**
 * Who may act for a wallet: the wallet's own account, or, for a contract (C...) wallet, the G... controller an
 * admin bound to it. In `required` mode a borrower action without a token is refused; in `optional` mode (local
 * demos only) it is allowed, but a token that is presented must still match.
 */
export class WalletOwnership {
  constructor(readonly mode: WalletAuthMode) {}

  /** Borrower actions that move money or open credit. */
  async assertCanAct(repo: WalletAuthRepository, wallet: WalletPrincipal | undefined, walletAddress: string): Promise<void> {
    if (!wallet) {
      if (this.mode === 'required') {
        throw new UnauthorizedError('wallet_auth_required', 'This action needs a wallet token: Authorization: Bearer <token> from POST /api/auth/token');
      }
      return;
    }
    await this.assertControls(repo, wallet, walletAddress);
  }

  /** Reads of a wallet's own data: a client key alone may read; a token that is presented must match. */
  async assertCanRead(repo: WalletAuthRepository, wallet: WalletPrincipal | undefined, walletAddress: string): Promise<void> {
    if (wallet) await this.assertControls(repo, wallet, walletAddress);
  }

  private async assertControls(repo: WalletAuthRepository, wallet: WalletPrincipal, walletAddress: string): Promise<void> {
    if (wallet.account === walletAddress) return;
    if (walletAddress.startsWith('C') && (await repo.controllerOf(walletAddress)) === wallet.account) return;
    throw new ForbiddenError('wallet_forbidden', 'The wallet token belongs to another wallet');
  }
}
