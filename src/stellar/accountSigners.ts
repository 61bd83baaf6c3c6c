import { Horizon, NotFoundError } from '@stellar/stellar-sdk';
import { withTimeout } from '../lib/timeout.js';

export interface AccountSigners {
  signers: Horizon.ServerApi.AccountRecordSigners[];
  /** SEP-10: the signatures on a challenge must reach the account's medium threshold. */
  mediumThreshold: number;
}

/** Where an account's signers come from: 'not_found' means the account does not exist on the network. */
export interface AccountSignerSource {
  load(account: string): Promise<AccountSigners | 'not_found'>;
}

export class AccountSignersUnavailableError extends Error {
  override name = 'AccountSignersUnavailableError';
}

/** Reads signers and thresholds from Horizon's `/accounts/:id`, bounded by a timeout. */
export class HorizonAccountSigners implements AccountSignerSource {
  private readonly server: Horizon.Server;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.server = new Horizon.Server(url, { allowHttp: url.startsWith('http://') });
  }

  async load(account: string): Promise<AccountSigners | 'not_found'> {
    try {
      const record = await withTimeout(
        this.server.accounts().accountId(account).call(),
        this.timeoutMs,
        () => new AccountSignersUnavailableError(`Horizon did not answer within ${this.timeoutMs} ms`),
      );
      return { signers: record.signers, mediumThreshold: record.thresholds.med_threshold };
    } catch (error) {
      if (error instanceof NotFoundError) return 'not_found';
      if (error instanceof AccountSignersUnavailableError) throw error;
      throw new AccountSignersUnavailableError(`Horizon is unreachable: ${(error as Error).name}`);
    }
  }
}
