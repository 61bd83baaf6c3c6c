/**
 * Signs in a wallet with SEP-10 against a running API and prints the bearer token.
 *
 *   API_URL=http://localhost:3000 API_KEY=<X-API-Key> WALLET_SECRET=S... npx tsx scripts/auth/sign-in.ts
 *
 * Without WALLET_SECRET a new random keypair is used (handy for demos) and its secret is printed to stderr.
 */
import { Keypair, Transaction } from '@stellar/stellar-sdk';

const apiUrl = process.env.API_URL ?? 'http://localhost:3000';
const apiKey = process.env.API_KEY;
if (!apiKey) {
  process.stderr.write('API_KEY is required (the X-API-Key the server printed at boot)\n');
  process.exit(1);
}
const keypair = process.env.WALLET_SECRET ? Keypair.fromSecret(process.env.WALLET_SECRET) : Keypair.random();
if (!process.env.WALLET_SECRET) process.stderr.write(`generated wallet ${keypair.publicKey()} (secret ${keypair.secret()})\n`);

async function call(path: string, init: RequestInit = {}): Promise<Record<string, any>> {
  const res = await fetch(`${apiUrl}${path}`, { ...init, headers: { 'x-api-key': apiKey!, 'content-type': 'application/json', ...init.headers } });
  const body = (await res.json()) as { data: Record<string, any>; error: { code: string; message: string } | null };
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.error?.code}: ${body.error?.message}`);
  return body.data;
}

// 1. Ask for a challenge for this account.
const challenge = await call(`/api/auth/challenge?account=${keypair.publicKey()}`);
// 2. Sign it with the wallet's key (a wallet app does this after showing the user what it signs).
const tx = new Transaction(challenge.transaction, challenge.networkPassphrase);
tx.sign(keypair);
// 3. Exchange the signed challenge for a token.
const token = await call('/api/auth/token', { method: 'POST', body: JSON.stringify({ transaction: tx.toEnvelope().toXDR('base64') }) });
process.stdout.write(`${JSON.stringify({ account: token.account, token: token.token, expiresAt: token.expiresAt }, null, 2)}\n`);
