import {
  Module,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { EnvSpec, EnvValues } from '@causeway/contracts';
import { ROOT_LOGGER } from '../logging';
import {
  BROKER_USERS_OPTIONS,
  BrokerUsersService,
  type BrokerUsersOptions,
} from './broker-users.service';

export interface BrokerUsersModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: FactoryProvider['inject'];
  useFactory: FactoryProvider<BrokerUsersOptions>['useFactory'];
}

/**
 * Provides BrokerUsersService. Not global and not wired into the app on purpose: the module
 * that registers and deletes nodes imports it, e.g.
 *
 *   BrokerUsersModule.forRootAsync({
 *     inject: [CONFIG],
 *     useFactory: (c: ControlPlaneConfig) =>
 *       brokerUsersOptions(c.brokerUsersEnv, c.amqpUrl, c.bridgeNamespace),
 *   })
 */
@Module({})
export class BrokerUsersModule {
  static forRoot(options: BrokerUsersOptions): DynamicModule {
    return BrokerUsersModule.forRootAsync({ useFactory: () => options });
  }

  static forRootAsync(options: BrokerUsersModuleAsyncOptions): DynamicModule {
    return {
      module: BrokerUsersModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: BROKER_USERS_OPTIONS,
          inject: options.inject ?? [],
          useFactory: options.useFactory,
        },
        {
          provide: BrokerUsersService,
          inject: [BROKER_USERS_OPTIONS, { token: ROOT_LOGGER, optional: true }],
          useFactory: (o: BrokerUsersOptions, logger?: Logger) => new BrokerUsersService(o, logger),
        },
      ],
      exports: [BrokerUsersService],
    };
  }
}

/**
 * Proposed settings (to spread into CONTROL_PLANE_ENV). The management user defaults to the
 * user of CAUSEWAY_AMQP_URL, which suits a development broker (guest); production sets a
 * dedicated administrator, see docs/operator/broker-users.md.
 */
export const BROKER_USERS_ENV = {
  CAUSEWAY_AMQP_MANAGEMENT_URL: {
    schema: z
      .url({ protocol: /^https?$/ })
      .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'no credentials in the URL'),
    expects:
      'the RabbitMQ management API base URL without credentials, such as https://broker.example.com:15671 (http://127.0.0.1:15672 in development)',
    // Never echoed: an operator may paste a URL with a password in it by mistake.
    sensitive: true,
    default: 'http://127.0.0.1:15672',
  },
  CAUSEWAY_AMQP_MANAGEMENT_USER: {
    schema: z.string().max(255),
    expects:
      'the RabbitMQ user (administrator tag) that manages node users; empty for the user of CAUSEWAY_AMQP_URL',
    default: '',
  },
  CAUSEWAY_AMQP_MANAGEMENT_PASSWORD: {
    schema: z.string().max(1024),
    expects:
      'the password of CAUSEWAY_AMQP_MANAGEMENT_USER; empty for the password of CAUSEWAY_AMQP_URL',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_AMQP_MANAGEMENT_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(60_000),
    expects: 'milliseconds a management API call may take (100-60000)',
    default: '5000',
  },
} satisfies EnvSpec;

export type BrokerUsersEnv = EnvValues<typeof BROKER_USERS_ENV>;

/**
 * Options from the proposed settings. The vhost is the one of CAUSEWAY_AMQP_URL (its path, `/`
 * when empty, as amqplib reads it), so node users always get permissions where the bridge is.
 */
export function brokerUsersOptions(
  env: BrokerUsersEnv,
  amqpUrl: string,
  namespace: string,
): BrokerUsersOptions {
  const amqp = new URL(amqpUrl);
  const path = amqp.pathname.replace(/^\//, '');
  return {
    managementUrl: env.CAUSEWAY_AMQP_MANAGEMENT_URL,
    adminUsername: env.CAUSEWAY_AMQP_MANAGEMENT_USER || decodeURIComponent(amqp.username),
    adminPassword: env.CAUSEWAY_AMQP_MANAGEMENT_PASSWORD || decodeURIComponent(amqp.password),
    vhost: path === '' ? '/' : decodeURIComponent(path),
    namespace,
    timeoutMs: env.CAUSEWAY_AMQP_MANAGEMENT_TIMEOUT_MS,
  };
}
