import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseEnv } from '@causeway/contracts';
import { BROKER_USERS_ENV, BrokerUsersModule, brokerUsersOptions } from './broker-users.module';
import { BrokerUsersService } from './broker-users.service';

const CONFIG = Symbol('TestConfig');

describe('BrokerUsersModule', () => {
  it('builds the service from a factory with injected configuration', async () => {
    @Module({ providers: [{ provide: CONFIG, useValue: { ns: 'causeway' } }], exports: [CONFIG] })
    class ConfigModule {}

    @Module({
      imports: [
        BrokerUsersModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { ns: string }) => ({
            managementUrl: 'http://127.0.0.1:15672',
            adminUsername: 'cp-admin',
            adminPassword: 'not-used-here',
            namespace: config.ns,
          }),
        }),
      ],
    })
    class AppModule {}

    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const users = app.get(BrokerUsersService);
      expect(users.permissionsOf('n1').write).toBe('^causeway\\.node\\.n1\\.out$');
    } finally {
      await app.close();
    }
  });
});

describe('brokerUsersOptions (proposed settings)', () => {
  it('defaults to the development broker and to the credentials and vhost of the AMQP URL', () => {
    const env = parseEnv(BROKER_USERS_ENV, {});
    const options = brokerUsersOptions(env, 'amqp://guest:gu%40est@127.0.0.1:5672', 'causeway');
    expect(options).toEqual({
      managementUrl: 'http://127.0.0.1:15672',
      adminUsername: 'guest',
      adminPassword: 'gu@est',
      vhost: '/',
      namespace: 'causeway',
      timeoutMs: 5000,
    });
  });

  it('uses a dedicated management user and the vhost named in the AMQP URL', () => {
    const env = parseEnv(BROKER_USERS_ENV, {
      CAUSEWAY_AMQP_MANAGEMENT_URL: 'https://broker.example.com:15671',
      CAUSEWAY_AMQP_MANAGEMENT_USER: 'causeway-admin',
      CAUSEWAY_AMQP_MANAGEMENT_PASSWORD: 'secret-admin-password',
    });
    const options = brokerUsersOptions(env, 'amqps://cp:pw@broker:5671/causeway%2Fprod', 'c');
    expect(options).toMatchObject({
      managementUrl: 'https://broker.example.com:15671',
      adminUsername: 'causeway-admin',
      vhost: 'causeway/prod',
    });
    expect(options.adminPassword === 'secret-admin-password').toBe(true);
  });

  it('refuses a management URL with credentials without echoing it', () => {
    let message = '';
    try {
      parseEnv(BROKER_USERS_ENV, {
        CAUSEWAY_AMQP_MANAGEMENT_URL: 'http://admin:hunter2-secret@127.0.0.1:15672',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('CAUSEWAY_AMQP_MANAGEMENT_URL is invalid');
    expect(message.includes('hunter2-secret')).toBe(false);
  });
});
