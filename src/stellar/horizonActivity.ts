import { Horizon, NotFoundError, StrKey } from '@stellar/stellar-sdk';
import { BadGatewayError, GatewayTimeoutError } from '../domain/errors.js';
import { summariseActivity, type HorizonOperationLine, type VolumeAsset } from '../domain/risk/activity.js';
import { EMPTY_ACTIVITY, type ChainActivity } from '../domain/risk/signals.js';
import { withTimeout } from '../lib/timeout.js';

export interface ChainActivitySource {
  load(walletAddress: string): Promise<ChainActivity>;
}

export interface HorizonActivitySettings {
  timeoutMs: number;
  /** Most Horizon requests one evaluation may make; past it the summary covers what was read (windowComplete false). */
  requestBudget: number;
  volumeAsset: VolumeAsset;
  pageSize?: number;
}

const LOOKBACK_MS = 90 * 86_400_000;

class HorizonTimeout extends Error {}

/**
 * Reads a wallet's account and its last 90 days of operations (failed ones included) from Horizon, newest first,
 * within a request budget and a per-request timeout. An account Horizon does not know is an empty account, not an
 * error; Horizon failing or timing out is an error the caller sees (502/504), never a silent default.
 */
export class HorizonActivitySource implements ChainActivitySource {
  private readonly server: Horizon.Server;

  constructor(
    url: string,
    private readonly settings: HorizonActivitySettings,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.server = new Horizon.Server(url, { allowHttp: url.startsWith('http://') });
  }

  async load(walletAddress: string): Promise<ChainActivity> {
    // A contract (C...) wallet has no classic account and no operations of its own on Horizon: it is scored on its
    // history with us alone.
    if (StrKey.isValidContract(walletAddress)) return { ...EMPTY_ACTIVITY, exists: true };
    let requests = 0;
    const call = async <T>(request: () => Promise<T>): Promise<T> => {
      requests++;
      try {
        return await withTimeout(request(), this.settings.timeoutMs, () => new HorizonTimeout());
      } catch (error) {
        if (error instanceof NotFoundError) throw error;
        if (error instanceof HorizonTimeout) {
          throw new GatewayTimeoutError('risk_signals_timeout', `Horizon did not answer within ${this.settings.timeoutMs} ms; try again later`);
        }
        throw new BadGatewayError('risk_signals_unavailable', `Horizon could not be read (${(error as Error).name}); try again later`);
      }
    };

    let account: Horizon.ServerApi.AccountRecord;
    try {
      account = await call(() => this.server.accounts().accountId(walletAddress).call());
    } catch (error) {
      if (error instanceof NotFoundError) return { ...EMPTY_ACTIVITY, requests };
      throw error;
    }
    const first = await call(() => this.server.operations().forAccount(walletAddress).order('asc').limit(1).call());
    const now = this.clock();
    const since = now.getTime() - LOOKBACK_MS;
    const operations: HorizonOperationLine[] = [];
    let page = await call(() =>
      this.server.operations().forAccount(walletAddress).order('desc').limit(this.settings.pageSize ?? 200).includeFailed(true).call(),
    );
    let windowComplete = false;
    for (;;) {
      const records = page.records as unknown as HorizonOperationLine[];
      operations.push(...records);
      const oldest = records.at(-1);
      if (!oldest || records.length < (this.settings.pageSize ?? 200) || new Date(oldest.created_at).getTime() < since) {
        windowComplete = true;
        break;
      }
      if (requests >= this.settings.requestBudget) break;
      const current = page;
      page = await call(() => current.next());
    }
    return summariseActivity(
      {
        wallet: walletAddress,
        balances: account.balances as unknown as Parameters<typeof summariseActivity>[0]['balances'],
        firstOperation: (first.records[0] as unknown as HorizonOperationLine | undefined) ?? null,
        operations,
        windowComplete,
        requests,
      },
      this.settings.volumeAsset,
      now,
    );
  }
}
