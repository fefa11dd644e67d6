import amqp, {
  type AmqpConnectionManager,
  type Channel,
  type ChannelWrapper,
} from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { redactUrl } from './redact';

export interface BridgeConnectionOptions {
  url: string;
  /** Shown in the broker's connection list, to tell the control plane and nodes apart. */
  connectionName: string;
  logger: Logger;
  heartbeatSeconds?: number;
  reconnectSeconds?: number;
}

/**
 * One managed connection to the broker. Reconnection and channel re-creation are delegated to
 * amqp-connection-manager; Nagle is turned off because request/reply otherwise waits ~40 ms a
 * round trip (measured, shared/TOOLCHAIN-NOTES.md).
 */
export function createBridgeConnection(options: BridgeConnectionOptions): AmqpConnectionManager {
  const logger = options.logger.child({ component: 'bridge.connection' });
  const manager = amqp.connect([options.url], {
    heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 5,
    reconnectTimeInSeconds: options.reconnectSeconds ?? 1,
    connectionOptions: {
      noDelay: true,
      clientProperties: { connection_name: options.connectionName },
    },
  });
  const where = redactUrl(options.url);
  // amqp-connection-manager retries at a fixed interval; widen it after each failure (full
  // jitter, so many nodes coming back after an outage do not knock on the broker together).
  const base = options.reconnectSeconds ?? 1;
  let failures = 0;
  manager.on('connect', () => {
    failures = 0;
    manager.reconnectTimeInSeconds = base;
  });
  manager.on('connectFailed', () => {
    failures += 1;
    manager.reconnectTimeInSeconds = reconnectDelaySeconds(base, failures, Math.random());
  });
  manager.on('connect', () => logger.info({ broker: where }, 'connected to broker'));
  manager.on('disconnect', ({ err }) =>
    logger.warn({ broker: where, reason: err?.message }, 'disconnected from broker'),
  );
  manager.on('connectFailed', ({ err }) =>
    logger.warn({ broker: where, reason: err?.message }, 'could not connect to broker; retrying'),
  );
  manager.on('blocked', ({ reason }) => logger.warn({ reason }, 'broker blocked the connection'));
  return manager;
}

/** Exponential backoff with full jitter, capped at 30 s: base·2^failures scaled by `random`. */
export function reconnectDelaySeconds(base: number, failures: number, random: number): number {
  const ceiling = Math.min(30, base * 2 ** Math.min(failures, 10));
  return Math.max(base, ceiling * random);
}

/** Resolves when the manager has a live connection, or rejects after `timeoutMs`. */
export async function waitForBroker(
  manager: AmqpConnectionManager,
  timeoutMs: number,
): Promise<void> {
  if (manager.isConnected()) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      manager.removeListener('connect', onConnect);
      reject(new Error(`broker not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = (): void => {
      clearTimeout(timer);
      resolve();
    };
    manager.once('connect', onConnect);
  });
}

/**
 * A confirm channel whose topology is (re-)declared on every (re)connect. Channel errors are
 * logged, never left unhandled: an unhandled 'error' event would crash the process.
 *
 * The prefetch is set here, awaited, rather than through the consume option of
 * amqp-connection-manager, which calls `prefetch` without awaiting it: a channel closing at
 * that moment became an unhandled rejection (jwalton/node-amqp-connection-manager#97).
 */
export function createChannel(
  manager: AmqpConnectionManager,
  logger: Logger,
  name: string,
  setup?: (channel: Channel) => Promise<void>,
  prefetch?: number,
): ChannelWrapper {
  let recentErrors = 0;
  let lastErrorAt = 0;
  const wrapper: ChannelWrapper = manager.createChannel({
    name,
    confirm: true,
    setup: async (ch: Channel) => {
      generations.set(wrapper, generationOf(wrapper) + 1);
      ch.on('error', (err: Error) => {
        // amqp-connection-manager re-creates channels only when the connection comes back: a
        // channel the broker closed with an error (a bug, a permission or topology mismatch)
        // would stay dead while the connection lives. Reconnect to get everything back, with
        // a growing delay so that an error that recurs at every setup cannot spin.
        const now = Date.now();
        recentErrors = now - lastErrorAt > 60_000 ? 1 : recentErrors + 1;
        lastErrorAt = now;
        const delayMs =
          recentErrors === 1 ? 0 : reconnectDelaySeconds(1, recentErrors - 1, Math.random()) * 1000;
        logger.warn(
          { channel: name, reason: err.message, delayMs },
          'broker closed a channel; reconnecting',
        );
        setTimeout(() => {
          try {
            manager.reconnect();
          } catch {
            // The manager is closing: nothing to recover.
          }
        }, delayMs).unref();
      });
      if (prefetch !== undefined) await ch.prefetch(prefetch, false);
      if (setup) await setup(ch);
    },
  });
  wrapper.on('error', (err: Error) =>
    logger.warn(
      { channel: name, reason: err.message },
      'bridge channel error; it will be re-created',
    ),
  );
  return wrapper;
}

/** Counts the channels a wrapper has had; a delivery belongs to the generation it came on. */
const generations = new WeakMap<ChannelWrapper, number>();

export function generationOf(wrapper: ChannelWrapper): number {
  return generations.get(wrapper) ?? 0;
}

/**
 * Acknowledges (or rejects) a delivery only on the channel it arrived on. After a reconnect
 * the broker has already returned it to the queue, and settling its old delivery tag on the
 * new channel would make the broker close that channel (406 PRECONDITION_FAILED).
 */
export function settle(
  wrapper: ChannelWrapper,
  msg: ConsumeMessage,
  generation: number,
  disposition: 'ack' | 'requeue' | 'reject',
): boolean {
  if (generationOf(wrapper) !== generation) return false;
  if (disposition === 'ack') wrapper.ack(msg);
  else wrapper.nack(msg, false, disposition === 'requeue');
  return true;
}

const BROKER_CLOSURE =
  /^(Channel ended, no reply will be forthcoming|Channel closed|Connection closed|Channel closing)/;

/**
 * amqplib rejects the promises of operations still waiting when a channel or connection
 * closes; some of those belong to library internals nobody can await. Such a rejection during
 * a broker outage or a shutdown is expected and only logged. Any other unhandled rejection
 * still stops the process, as Node does by default.
 */
export function guardBrokerRejections(logger: Logger): void {
  process.on('unhandledRejection', (reason: unknown) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    if (BROKER_CLOSURE.test(message)) {
      logger.warn({ reason: message }, 'broker operation abandoned by a closed channel');
      return;
    }
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
}
