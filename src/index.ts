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

  const container = await createContainer(config);
  const { logger } = container;
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
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests and worker ticks');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; closing remaining connections');
      server.closeAllConnections();
      void container.close().finally(() => process.exit(1));
    }, config.shutdownTimeoutMs);
    deadline.unref();

    server.close(() => {
      container
        .close()
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
    server.closeIdleConnections();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
