import { Keypair, nativeToScVal, rpc, scValToNative, xdr } from '@stellar/stellar-sdk';
import { startDevnet, type Devnet, type DevnetOptions } from '../../scripts/devnet/index.js';

/** Shared setup for the devnet suites: every observation goes through the real SDK clients or fetch. */

/** A fixed start so accrual and event timestamps are deterministic. */
export const T0 = 1_750_000_000;
export const DAY = 86_400;
/** 1 USDC in base units (7 decimals). */
export const USDC = 10_000_000n;

export async function devnet(options: DevnetOptions = {}): Promise<Devnet> {
  return startDevnet({ startTime: T0, ...options });
}

export function rpcClient(d: Devnet): rpc.Server {
  return new rpc.Server(d.rpcUrl, { allowHttp: true });
}

export const borrower = (): string => Keypair.random().publicKey();

/** Base64 XDR of a symbol: a topic segment for getEvents filters. */
export const sym = (s: string): string => nativeToScVal(s, { type: 'symbol' }).toXDR('base64');

export interface DecodedEvent {
  id: string;
  ledger: number;
  txHash: string;
  transactionIndex: number;
  name: string;
  topics: unknown[];
  payload: any; // decoded ScVal: the shape depends on the event
}

export function decode(event: rpc.Api.EventResponse): DecodedEvent {
  const topics = event.topic.map((t: xdr.ScVal) => scValToNative(t) as unknown);
  return {
    id: event.id,
    ledger: event.ledger,
    txHash: event.txHash,
    transactionIndex: event.transactionIndex,
    name: String(topics[topics.length - 1]),
    topics,
    payload: scValToNative(event.value),
  };
}

/** Pages through getEvents with the returned cursor until a page comes back empty. */
export async function readAllEvents(
  server: rpc.Server,
  filters: rpc.Api.EventFilter[],
  startLedger: number,
  limit = 100,
): Promise<{ events: DecodedEvent[]; pages: number; cursor: string }> {
  const events: DecodedEvent[] = [];
  let page = await server.getEvents({ filters, startLedger, limit });
  let pages = 1;
  for (;;) {
    events.push(...page.events.map(decode));
    if (page.events.length === 0) return { events, pages, cursor: page.cursor };
    page = await server.getEvents({ filters, cursor: page.cursor, limit });
    pages += 1;
  }
}

/** Opens a line directly and closes the ledger so RPC reads see it. */
export function openLine(d: Devnet, who: string, limit = 10_000n * USDC, rate = 1_500, score = 40): void {
  d.contract.invoke('open_credit_line', { borrower: who, credit_limit: limit, interest_rate_bps: rate, risk_score: score });
}
