import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createContainer } from './container.js';

/** Process entry: config -> container -> listen; SIGTERM/SIGINT -> graceful stop. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  // Signals are handled from the first moment: a stop during boot still closes what was opened.
  let stop: (signal: NodeJS.Signals) => void = () => process.exit(0);
  process.on('SIGTERM', (signal) => stop(signal));
  process.on('SIGINT', (signal) => stop(signal));

  const container = await createContainer(config);
  const { logger } = container;
  let closing: Promise<void> | undefined;
  const closeOnce = () => (closing ??= container.close());
  stop = () => void closeOnce().finally(() => process.exit(0));

  const app = createApp(container);
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ port, database: container.store.kind }, 'listening');
  container.scheduler.start();

  if (container.generatedKeys) {
    // Printed on purpose, once, outside production: a newcomer can call the API at once.
    process.stdout.write(
      `\nNo API keys configured: generated development keys for this run\n` +
        `  X-API-Key:        ${container.generatedKeys.client}\n` +
        `  X-Admin-Api-Key:  ${container.generatedKeys.admin}\n` +
        `  API docs:         http://localhost:${port}/docs\n\n`,
    );
  }

  let stopping = false;
  stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests and worker ticks');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; closing remaining connections');
      server.closeAllConnections();
      void closeOnce().finally(() => process.exit(1));
    }, config.shutdownTimeoutMs);
    deadline.unref();

    server.close(() => {
      closeOnce()
        .then(() => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'error while closing');
          process.exit(1);
        });
    });
    // A keep-alive connection whose request ends after this point would otherwise stay open for Node's
    // keep-alive timeout (5 s); with 1 ms it is closed as soon as its response is sent.
    server.keepAliveTimeout = 1;
    server.closeIdleConnections();
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
