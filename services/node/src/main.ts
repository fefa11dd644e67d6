import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { guardBrokerRejections } from '@causeway/bridge';
import { ConfigError } from '@causeway/contracts';
import { loadNodeConfig, type NodeConfig } from './config/config';
import { NodeModule } from './node.module';

/** Runs the node until SIGTERM/SIGINT. Exits 2 on bad configuration with one clear line. */
export async function runNode(): Promise<void> {
  let config: NodeConfig;
  try {
    config = loadNodeConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`causeway-node: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'node', nodeId: config.nodeId } });
  guardBrokerRejections(logger);
  const app = await NestFactory.createApplicationContext(NodeModule.forRoot(config, logger), {
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks();
  await app.init();
  logger.info('node started; waiting for requests over the bridge');
}

if (require.main === module) {
  runNode().catch((error: unknown) => {
    process.stderr.write(
      `causeway-node: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
