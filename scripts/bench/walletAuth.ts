/** Calls the benchmarks make outside the load generator: a JSON request with its expected status, and SEP-10 wallet tokens. */
import { Keypair, Transaction } from '@stellar/stellar-sdk';

export async function call(url: string, init: RequestInit & { expect: number }): Promise<{ status: number; data: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const body = (await response.json().catch(() => ({}))) as { data?: Record<string, unknown>; error?: unknown };
  if (response.status !== init.expect) {
    const error = new Error(`${init.method ?? 'GET'} ${new URL(url).pathname} answered ${response.status}: ${JSON.stringify(body.error ?? body)}`);
    Object.assign(error, { status: response.status });
    throw error;
  }
  return { status: response.status, data: body.data ?? {} };
}

/**
 * A borrower's SEP-10 round trip (challenge, sign with the wallet's key, exchange for a token), as a
 * wallet does it. Returns undefined if this build has no /api/auth routes (404): then no token is needed.
 */
export async function walletToken(baseUrl: string, keypair: Keypair, clientKey: string): Promise<string | undefined> {
  let challenge: { data: Record<string, unknown> };
  try {
    challenge = await call(`${baseUrl}/api/auth/challenge?account=${keypair.publicKey()}`, { headers: { 'X-API-Key': clientKey }, expect: 200 });
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
  const tx = new Transaction(String(challenge.data.transaction), String(challenge.data.networkPassphrase));
  tx.sign(keypair);
  const issued = await call(`${baseUrl}/api/auth/token`, {
    method: 'POST',
    headers: { 'X-API-Key': clientKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ transaction: tx.toEnvelope().toXDR('base64') }),
    expect: 200,
  });
  return String(issued.data.token);
}
