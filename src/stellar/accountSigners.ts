import { Horizon, NotFoundError } from '@stellar/stellar-sdk';

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
    let timer: NodeJS.Timeout | undefined;
    try {
      const record = await Promise.race([
        this.server.accounts().accountId(account).call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AccountSignersUnavailableError(`Horizon did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      return { signers: record.signers, mediumThreshold: record.thresholds.med_threshold };
    } catch (error) {
      if (error instanceof NotFoundError) return 'not_found';
      if (error instanceof AccountSignersUnavailableError) throw error;
      throw new AccountSignersUnavailableError(`Horizon is unreachable: ${(error as Error).name}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
