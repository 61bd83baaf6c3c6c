import type { Queryable } from '../../db/db.js';
import type { ChallengeConsumption, WalletAuthRepository } from '../repositories.js';

export class PostgresWalletAuthRepository implements WalletAuthRepository {
  constructor(private readonly db: Queryable) {}

  async saveChallenge(challenge: { nonce: string; account: string; expiresAt: Date; createdAt: Date }): Promise<void> {
    await this.db.query('INSERT INTO auth_challenges (nonce, account, expires_at, created_at) VALUES ($1, $2, $3, $4)', [
      challenge.nonce,
      challenge.account,
      challenge.expiresAt,
      challenge.createdAt,
    ]);
  }

  async consumeChallenge(nonce: string, now: Date): Promise<ChallengeConsumption> {
    const consumed = await this.db.query<{ account: string }>(
      `UPDATE auth_challenges SET consumed_at = $2
        WHERE nonce = $1 AND consumed_at IS NULL AND expires_at > $2
        RETURNING account`,
      [nonce, now],
    );
    if (consumed.rows[0]) return { outcome: 'consumed', account: consumed.rows[0].account };
    const { rows } = await this.db.query<{ consumed_at: Date | null }>('SELECT consumed_at FROM auth_challenges WHERE nonce = $1', [nonce]);
    if (!rows[0]) return { outcome: 'unknown' };
    return { outcome: rows[0].consumed_at ? 'replayed' : 'expired' };
  }

  async revokeToken(revocation: { jti: string; revokedBy: string; reason: string | null; expiresAt: Date; revokedAt: Date }): Promise<void> {
    await this.db.query(
      `INSERT INTO revoked_tokens (jti, revoked_by, reason, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (jti) DO NOTHING`,
      [revocation.jti, revocation.revokedBy, revocation.reason, revocation.expiresAt, revocation.revokedAt],
    );
  }

  async isRevoked(jti: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM revoked_tokens WHERE jti = $1', [jti]);
    return rows.length > 0;
  }

  async bindController(binding: { contractAddress: string; controllerAccount: string; boundBy: string; at: Date }): Promise<void> {
    await this.db.query(
      `INSERT INTO wallet_controllers (contract_address, controller_account, bound_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (contract_address) DO UPDATE
         SET controller_account = EXCLUDED.controller_account, bound_by = EXCLUDED.bound_by, updated_at = EXCLUDED.updated_at`,
      [binding.contractAddress, binding.controllerAccount, binding.boundBy, binding.at],
    );
  }

  async unbindController(contractAddress: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM wallet_controllers WHERE contract_address = $1', [contractAddress]);
    return rowCount > 0;
  }

  async controllerOf(contractAddress: string): Promise<string | null> {
    const { rows } = await this.db.query<{ controller_account: string }>(
      'SELECT controller_account FROM wallet_controllers WHERE contract_address = $1',
      [contractAddress],
    );
    return rows[0]?.controller_account ?? null;
  }

  async purgeExpired(now: Date): Promise<number> {
    const challenges = await this.db.query('DELETE FROM auth_challenges WHERE expires_at <= $1', [now]);
    const tokens = await this.db.query('DELETE FROM revoked_tokens WHERE expires_at <= $1', [now]);
    return challenges.rowCount + tokens.rowCount;
  }
}
