import { existsSync } from 'node:fs';
import amqplib from 'amqplib';
import { portIsOpen, RabbitMqInstance } from './rabbitmq-instance';
import { TEST_AMQP_URL, uniqueSuffix } from './services';
import { eventually } from './wait';

jest.setTimeout(120_000);

/** Reads the one message a test left in `queue`, leaving it there (nack + requeue). */
async function peek(url: string, queue: string): Promise<string | undefined> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    const message = await channel.get(queue, { noAck: false });
    if (message === false) return undefined;
    channel.nack(message, false, true);
    await channel.close();
    return message.content.toString('utf8');
  } finally {
    await connection.close();
  }
}

describe('RabbitMqInstance (private broker for fault tests)', () => {
  const queue = `cw.rmq-instance.${uniqueSuffix()}`;
  const body = `persistent-${uniqueSuffix()}`;
  let rabbit: RabbitMqInstance | undefined;
  // Held open across every stop/kill of the private broker: it must never notice any of them.
  let shared: amqplib.ChannelModel;
  let sharedClosed = false;

  beforeAll(async () => {
    shared = await amqplib.connect(TEST_AMQP_URL);
    shared.on('close', () => {
      sharedClosed = true;
    });
    shared.on('error', () => undefined);
  });

  afterAll(async () => {
    await rabbit?.destroy();
    if (!sharedClosed) await shared.close();
  });

  it('starts with management and keeps a confirmed persistent message in a quorum queue across a restart', async () => {
    rabbit = await RabbitMqInstance.start({ managementPlugin: true });
    expect(rabbit.nodeName).toMatch(/^cw-[0-9a-f]+@localhost$/);
    expect(rabbit.amqpUrl).toBe(`amqp://guest:guest@127.0.0.1:${rabbit.amqpPort}`);
    expect(rabbit.amqpPort).not.toBe(5672);

    const connection = await amqplib.connect(rabbit.amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      channel.sendToQueue(queue, Buffer.from(body), { persistent: true });
      await channel.waitForConfirms();
      await channel.close();
    } finally {
      await connection.close();
    }

    const pidBefore = rabbit.pid;
    await rabbit.restart();
    expect(rabbit.pid).not.toBe(pidBefore);
    // A quorum queue elects its (single) leader shortly after boot; poll instead of sleeping.
    const current = rabbit;
    const seen = await eventually(() => peek(current.amqpUrl, queue), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the message to survive the restart',
    });
    expect(seen).toBe(body);
  });

  it('serves the management API', async () => {
    const current = rabbit!;
    expect(current.managementUrl).toBe(`http://127.0.0.1:${current.managementPort}`);
    const res = await fetch(`${current.managementUrl}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    });
    expect(res.status).toBe(200);
    const overview = (await res.json()) as { node?: string; rabbitmq_version?: string };
    expect(overview.node).toBe(current.nodeName);
    expect(overview.rabbitmq_version).toEqual(expect.any(String));
  });

  it('survives kill() (SIGKILL of the Erlang VM) and startAgain()', async () => {
    const current = rabbit!;
    const pid = current.pid;
    expect(pid).toEqual(expect.any(Number));
    await current.kill();
    expect(current.running).toBe(false);
    expect(() => process.kill(pid!, 0)).toThrow();
    expect(await portIsOpen(current.amqpPort)).toBe(false);

    await current.startAgain();
    const seen = await eventually(() => peek(current.amqpUrl, queue), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the message to survive a crash',
    });
    expect(seen).toBe(body);
  });

  it('destroy() stops the broker, closes its ports and removes its directory', async () => {
    const current = rabbit!;
    const pid = current.pid;
    await current.destroy();
    rabbit = undefined;
    expect(current.running).toBe(false);
    expect(() => process.kill(pid!, 0)).toThrow();
    expect(await portIsOpen(current.amqpPort)).toBe(false);
    expect(await portIsOpen(current.managementPort!)).toBe(false);
    expect(existsSync(current.dir)).toBe(false);
    await expect(current.startAgain()).rejects.toThrow(/destroyed/);
  });

  it('left the shared broker alone', async () => {
    expect(sharedClosed).toBe(false);
    const channel = await shared.createChannel();
    const { queue: named } = await channel.assertQueue('', { exclusive: true });
    expect(named).toMatch(/^amq\.gen-/);
    await channel.close();

    const fresh = await amqplib.connect(TEST_AMQP_URL);
    await fresh.close();
  });
});
