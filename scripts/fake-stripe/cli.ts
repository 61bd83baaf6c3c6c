import { startFakeStripe } from './index.js';

/**
 * `npx tsx scripts/fake-stripe/cli.ts`: a long-running fake Stripe for manual work and for backends in
 * another process (drive it through POST /_fake/<action>, see controlHttp.ts).
 *
 *   FAKE_STRIPE_PORT            port on 127.0.0.1 (default 12111; 0 = any free port)
 *   FAKE_STRIPE_API_KEY         the secret key the API accepts (default: random sk_test_…)
 *   FAKE_STRIPE_WEBHOOK_SECRET  the webhook signing secret (default: random whsec_…)
 */

const rawPort = process.env.FAKE_STRIPE_PORT ?? '12111';
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`FAKE_STRIPE_PORT must be a port number, got ${JSON.stringify(rawPort)}`);
  process.exit(2);
}

const fake = await startFakeStripe({
  port,
  apiKey: process.env.FAKE_STRIPE_API_KEY || undefined,
  webhookSecret: process.env.FAKE_STRIPE_WEBHOOK_SECRET || undefined,
});

console.log(
  [
    'fake-stripe (Stripe v1 API subset) is running',
    `  API:            ${fake.url}/v1  (new Stripe(key, { host: '${fake.host}', port: ${fake.port}, protocol: 'http' }))`,
    `  Control API:    ${fake.url}/_fake/<action>`,
    `  API key:        ${fake.apiKey}`,
    `  Webhook secret: ${fake.webhookSecret}`,
  ].join('\n'),
);

let stopping = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping fake-stripe`);
  fake.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
