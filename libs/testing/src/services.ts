import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { Client } from 'pg';

/** The same defaults as deploy/ensure-services.sh, so `npm test` and a bare `jest` agree. */
export const TEST_DATABASE_URL =
  process.env.CAUSEWAY_DATABASE_URL ?? 'postgres://causeway:causeway@127.0.0.1:5432/causeway';
export const TEST_AMQP_URL = process.env.CAUSEWAY_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A short random suffix for names that must not collide between test files running at once. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A throw-away database of its own for one test file; migrations are the app's business. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `causeway_t_${uniqueSuffix()}`;
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A plain amqplib connection for tests that poke the broker directly. */
export async function rawAmqp(url = TEST_AMQP_URL): Promise<amqplib.ChannelModel> {
  return amqplib.connect(url);
}

/** Deletes queues and exchanges a test created (the broker keeps durable ones otherwise). */
export async function deleteBrokerObjects(
  queues: string[],
  exchanges: string[],
  url = TEST_AMQP_URL,
): Promise<void> {
  const connection = await rawAmqp(url);
  try {
    const channel = await connection.createChannel();
    for (const q of queues) await channel.deleteQueue(q);
    for (const e of exchanges) await channel.deleteExchange(e);
    await channel.close();
  } finally {
    await connection.close();
  }
}
