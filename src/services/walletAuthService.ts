import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import { Keypair, StrKey, Transaction, WebAuth } from '@stellar/stellar-sdk';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { BadRequestError, UnauthorizedError } from '../domain/errors.js';
import { maskAddress } from '../domain/stellarAddress.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../repositories/repositories.js';
import { AccountSignersUnavailableError, type AccountSignerSource } from '../stellar/accountSigners.js';
import { actorName, auditRow } from './audit.js';
import type { RequestMeta } from './creditLineService.js';
import type { WalletPrincipal } from './walletOwnership.js';

export interface WalletAuthSettings {
  signingKeypair: Keypair;
  jwtSecret: Uint8Array | KeyObject;
  homeDomain: string;
  webAuthDomain: string;
  networkPassphrase: string;
  challengeTtlSeconds: number;
  tokenTtlSeconds: number;
}

/** Tokens and challenges tolerate this much disagreement between our clock and the wallet's. */
export const CLOCK_SKEW_SECONDS = 30;

export interface Challenge {
  transaction: string;
  networkPassphrase: string;
  expiresAt: Date;
}

export interface IssuedToken {
  token: string;
  account: string;
  jti: string;
  expiresAt: Date;
}

const nonceOf = (transaction: Transaction): string => {
  const value = (transaction.operations[0] as { value?: Buffer } | undefined)?.value;
  return value ? Buffer.from(value).toString('base64') : '';
};

/**
 * SEP-10 web authentication: a signed challenge transaction proves control of a Stellar account and is
 * exchanged, once, for a short-lived JWT whose `sub` is the account.
 */
export class WalletAuthService {
  private readonly issuer: string;
  /** Imported once: verifying a token is on the path of every borrower request. */
  private readonly jwtKey: KeyObject;

  constructor(
    private readonly store: Store,
    private readonly settings: WalletAuthSettings,
    private readonly signerSource: AccountSignerSource | undefined,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.issuer = `https://${settings.webAuthDomain}/api/auth`;
    this.jwtKey = settings.jwtSecret instanceof Uint8Array ? createSecretKey(settings.jwtSecret) : settings.jwtSecret;
  }

  get serverAccount(): string {
    return this.settings.signingKeypair.publicKey();
  }

  async challenge(account: string): Promise<Challenge> {
    if (!StrKey.isValidEd25519PublicKey(account)) {
      throw new BadRequestError('invalid_account', 'account must be a Stellar account (G...); a contract wallet signs in through its bound controller account');
    }
    const { signingKeypair, homeDomain, webAuthDomain, networkPassphrase, challengeTtlSeconds } = this.settings;
    const xdr = WebAuth.buildChallengeTx(signingKeypair, account, homeDomain, challengeTtlSeconds, networkPassphrase, webAuthDomain);
    const now = this.clock();
    const expiresAt = new Date(now.getTime() + challengeTtlSeconds * 1000);
    await this.store.repos.walletAuth.saveChallenge({ nonce: nonceOf(new Transaction(xdr, networkPassphrase)), account, expiresAt, createdAt: now });
    return { transaction: xdr, networkPassphrase, expiresAt };
  }

  async exchange(signedChallenge: string): Promise<IssuedToken> {
    const { networkPassphrase, homeDomain, webAuthDomain } = this.settings;
    let read: ReturnType<typeof WebAuth.readChallengeTx>;
    try {
      read = WebAuth.readChallengeTx(signedChallenge, this.serverAccount, networkPassphrase, homeDomain, webAuthDomain);
    } catch (error) {
      const message = (error as Error).message;
      if (/expired/i.test(message)) throw new UnauthorizedError('challenge_expired', 'The challenge has expired; request a new one');
      throw new UnauthorizedError('challenge_invalid', `The challenge is not valid: ${message}`);
    }
    const account = read.clientAccountID;
    await this.verifySignatures(signedChallenge, account);

    const now = this.clock();
    const consumed = await this.store.repos.walletAuth.consumeChallenge(nonceOf(read.tx), now);
    if (consumed.outcome === 'replayed') throw new UnauthorizedError('challenge_replayed', 'This challenge was already exchanged for a token');
    if (consumed.outcome === 'expired') throw new UnauthorizedError('challenge_expired', 'The challenge has expired; request a new one');
    if (consumed.outcome !== 'consumed' || consumed.account !== account) {
      throw new UnauthorizedError('challenge_unknown', 'This server did not issue that challenge');
    }

    const jti = randomUUID();
    const expiresAt = new Date(now.getTime() + this.settings.tokenTtlSeconds * 1000);
    const token = await new SignJWT({ home_domain: homeDomain })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(account)
      .setJti(jti)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.jwtKey);
    return { token, account, jti, expiresAt };
  }

  async verifyToken(token: string): Promise<WalletPrincipal> {
    let subject: string | undefined;
    let jti: string | undefined;
    try {
      const { payload } = await jwtVerify(token, this.jwtKey, {
        issuer: this.issuer,
        algorithms: ['HS256'],
        currentDate: this.clock(),
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['sub', 'jti', 'exp'],
      });
      subject = payload.sub;
      jti = payload.jti;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError('token_expired', 'The wallet token has expired; sign a new challenge');
      throw new UnauthorizedError('token_invalid', 'The wallet token is not valid');
    }
    if (!subject || !jti) throw new UnauthorizedError('token_invalid', 'The wallet token is not valid');
    if (await this.store.repos.walletAuth.isRevoked(jti)) throw new UnauthorizedError('token_revoked', 'The wallet token was revoked');
    return { account: subject, jti };
  }

  async revoke(jti: string, meta: RequestMeta, reason?: string): Promise<{ jti: string; revokedAt: Date }> {
    const now = this.clock();
    await this.store.transaction(async (repos) => {
      // No token outlives its TTL, so the revocation can be forgotten after that.
      await repos.walletAuth.revokeToken({
        jti,
        revokedBy: actorName(meta),
        reason: reason ?? null,
        expiresAt: new Date(now.getTime() + (this.settings.tokenTtlSeconds + CLOCK_SKEW_SECONDS) * 1000),
        revokedAt: now,
      });
      await repos.audit.append(auditRow(meta, 'auth.token_revoke', { type: 'auth_token', id: jti }, { before: null, after: { reason: reason ?? null } }, now));
    });
    return { jti, revokedAt: now };
  }

  async bindContractWallet(contractAddress: string, controllerAccount: string, meta: RequestMeta): Promise<void> {
    const now = this.clock();
    await this.store.transaction(async (repos) => {
      const previous = await repos.walletAuth.controllerOf(contractAddress);
      await repos.walletAuth.bindController({ contractAddress, controllerAccount, boundBy: actorName(meta), at: now });
      await repos.audit.append(
        auditRow(
          meta,
          'auth.contract_wallet_bind',
          { type: 'contract_wallet', id: maskAddress(contractAddress) },
          { before: previous ? { controllerAccount: maskAddress(previous) } : null, after: { controllerAccount: maskAddress(controllerAccount) } },
          now,
        ),
      );
    });
  }

  async unbindContractWallet(contractAddress: string, meta: RequestMeta): Promise<boolean> {
    const now = this.clock();
    return this.store.transaction(async (repos) => {
      const previous = await repos.walletAuth.controllerOf(contractAddress);
      const removed = await repos.walletAuth.unbindController(contractAddress);
      if (removed) {
        await repos.audit.append(
          auditRow(
            meta,
            'auth.contract_wallet_unbind',
            { type: 'contract_wallet', id: maskAddress(contractAddress) },
            { before: previous ? { controllerAccount: maskAddress(previous) } : null, after: null },
            now,
          ),
        );
      }
      return removed;
    });
  }

  /**
   * SEP-10: an existing account's signatures must reach its medium threshold; an account that does not exist
   * yet can only be controlled by its master key. When Horizon cannot be reached we fall back to the master key
   * (as SEP-10 allows for unknown accounts) and say so in the logs.
   */
  private async verifySignatures(signedChallenge: string, account: string): Promise<void> {
    const { networkPassphrase, homeDomain, webAuthDomain } = this.settings;
    let summary: Awaited<ReturnType<AccountSignerSource['load']>> = 'not_found';
    if (this.signerSource) {
      try {
        summary = await this.signerSource.load(account);
      } catch (error) {
        if (!(error instanceof AccountSignersUnavailableError)) throw error;
        this.logger.warn({ account, reason: error.message }, 'Horizon unreachable: verifying the challenge against the master key only');
      }
    }
    try {
      if (summary === 'not_found') {
        WebAuth.verifyChallengeTxSigners(signedChallenge, this.serverAccount, networkPassphrase, [account], homeDomain, webAuthDomain);
      } else {
        WebAuth.verifyChallengeTxThreshold(
          signedChallenge,
          this.serverAccount,
          networkPassphrase,
          Math.max(summary.mediumThreshold, 1),
          summary.signers,
          homeDomain,
          webAuthDomain,
        );
      }
    } catch (error) {
      const message = (error as Error).message;
      if (/threshold/i.test(message)) {
        throw new UnauthorizedError('insufficient_signers', 'The signatures on the challenge do not reach the account\'s medium threshold');
      }
      throw new UnauthorizedError('challenge_signature_invalid', 'The challenge is not signed by a signer of the account');
    }
  }
}
