import { startDevnet } from './index.js';

/**
 * `npm run devnet`: a long-running devnet for manual work and for backend processes under test.
 *
 *   DEVNET_PORT           port on 127.0.0.1 (default 8000; 0 = any free port)
 *   DEVNET_LEDGER_MS      close a ledger every N ms (default 1000; 0 = only via POST /_devnet/close)
 *   DEVNET_PASSPHRASE     network passphrase (default: the standalone network's)
 *   DEVNET_RETENTION      ledgers of RPC history (default 17280)
 *   DEVNET_CONTRACT_ID    C… id for the Credit contract (default: random)
 *   DEVNET_ADMIN_SECRET   S… secret of the contract admin (default: random)
 *   DEVNET_ORACLE_ID      C… id for the price oracle (default: random)
 *   DEVNET_START_TIME     pin the clock at this unix time (default: wall clock)
 */

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const devnet = await startDevnet({
  port: intFromEnv('DEVNET_PORT', 8000),
  ledgerIntervalMs: intFromEnv('DEVNET_LEDGER_MS', 1000),
  networkPassphrase: process.env.DEVNET_PASSPHRASE || undefined,
  retentionLedgers: process.env.DEVNET_RETENTION ? intFromEnv('DEVNET_RETENTION', 17_280) : undefined,
  contractId: process.env.DEVNET_CONTRACT_ID || undefined,
  adminSecret: process.env.DEVNET_ADMIN_SECRET || undefined,
  oracleId: process.env.DEVNET_ORACLE_ID || undefined,
  startTime: process.env.DEVNET_START_TIME ? intFromEnv('DEVNET_START_TIME', 0) : undefined,
});

console.log(
  [
    'Creditra devnet (simulated Soroban RPC + Horizon) is running',
    `  RPC:          ${devnet.rpcUrl}`,
    `  Horizon:      ${devnet.horizonUrl}`,
    `  Control API:  ${devnet.controlUrl}`,
    `  Passphrase:   ${devnet.networkPassphrase}`,
    `  Contract id:  ${devnet.contractId}`,
    `  Oracle id:    ${devnet.oracleId}`,
    `  Admin:        ${devnet.adminKeypair.publicKey()}`,
    `  Admin secret: ${devnet.adminKeypair.secret()}  (throwaway devnet key)`,
  ].join('\n'),
);

let stopping = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping devnet`);
  devnet.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
