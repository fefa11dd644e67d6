import 'reflect-metadata';
import { guardBrokerRejections } from '@causeway/bridge';
import { ConfigError } from '@causeway/contracts';
import { createControlPlane } from './app';
import { loadConfig } from './config/config';
import { createRootLogger } from './logging';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`causeway-control-plane: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createRootLogger(config.logLevel);
  guardBrokerRejections(logger);
  const app = await createControlPlane({ config, logger });
  await app.listen(config.httpPort, config.httpHost);
  logger.info({ url: `http://${config.httpHost}:${config.httpPort}` }, 'control plane listening');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `causeway-control-plane: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
