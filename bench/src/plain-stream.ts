import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import amqplib, { type ChannelModel } from 'amqplib';

/** After the deadline, how long the consumer may take to receive what was published. */
const DRAIN_GRACE_MS = 30_000;

export interface PlainTransferOptions {
  url: string;
  queue: string;
  /** Published again and again: the bytes of every message. */
  chunk: Buffer;
  totalBytes: number;
  /** Most publishes awaiting their confirm, and the consumer's prefetch. */
  window: number;
  /** `performance.now()` after which nothing more is published. */
  deadline: number;
  /**
   * Hash what is published and what is consumed with SHA-256 and compare them at the end: the
   * integrity check bridge streams make, as a reference for what it costs.
   */
  sha256?: boolean;
}

export interface TransferResult {
  bytes: number;
  elapsedMs: number;
  /** True when the deadline stopped the transfer before all bytes were sent. */
  cut: boolean;
}

/**
 * The baseline for bridge streams: the simplest amqplib code that moves the same bytes with the
 * same durability. One connection publishes `chunk` until `totalBytes` are sent (confirm channel,
 * persistent, a durable quorum queue, at most `window` publishes unconfirmed so that memory is
 * bounded); another consumes them (prefetch `window`, manual ack of each message).
 */
export async function runPlainTransfer(options: PlainTransferOptions): Promise<TransferResult> {
  const { chunk, window } = options;
  const publisher = await amqplib.connect(options.url, { noDelay: true });
  const consumer = await amqplib.connect(options.url, { noDelay: true });
  // An unhandled 'error' event would crash the process; a dead connection shows up as a
  // transfer that does not finish, which the time limit below reports.
  const onError = (error: Error): void =>
    void process.stderr.write(`plain stream: connection error: ${error.message}\n`);
  publisher.on('error', onError);
  consumer.on('error', onError);
  try {
    const admin = await publisher.createChannel();
    await admin.assertQueue(options.queue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await admin.close();
    return await transfer(publisher, consumer, options, chunk, window);
  } finally {
    await removeQueue(publisher, options.queue);
    await publisher.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
  }
}

async function transfer(
  publisher: ChannelModel,
  consumer: ChannelModel,
  options: PlainTransferOptions,
  chunk: Buffer,
  window: number,
): Promise<TransferResult> {
  const messages = Math.ceil(options.totalBytes / chunk.length);
  let received = 0;
  let receivedBytes = 0;
  let sent = 0;
  let allSent = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const sentHash = options.sha256 ? createHash('sha256') : undefined;
  const receivedHash = options.sha256 ? createHash('sha256') : undefined;

  const sub = await consumer.createChannel();
  await sub.prefetch(window);
  await sub.consume(
    options.queue,
    (msg) => {
      if (!msg) return;
      received++;
      receivedBytes += msg.content.length;
      receivedHash?.update(msg.content);
      sub.ack(msg);
      if (allSent && received === sent) finish();
    },
    { noAck: false },
  );

  const pub = await publisher.createConfirmChannel();
  let unconfirmed = 0;
  let wake: () => void = () => undefined;
  let failure: Error | undefined;
  const startedAt = performance.now();
  while (sent < messages && performance.now() < options.deadline && !failure) {
    if (unconfirmed >= window) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    const bytes =
      sent === messages - 1 ? chunk.subarray(0, options.totalBytes - sent * chunk.length) : chunk;
    sentHash?.update(bytes);
    unconfirmed++;
    sent++;
    const room = pub.sendToQueue(options.queue, bytes, { persistent: true }, (error: unknown) => {
      unconfirmed--;
      if (error) {
        failure ??= new Error(
          `publish not confirmed: ${error instanceof Error ? error.message : 'nacked'}`,
        );
      }
      wake();
    });
    if (!room) await new Promise<void>((resolve) => pub.once('drain', resolve));
  }
  allSent = true;
  if (received === sent) finish();
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`plain stream: only ${received} of ${sent} messages consumed`)),
      Math.max(0, options.deadline - performance.now()) + DRAIN_GRACE_MS,
    );
  });
  await Promise.race([finished, overdue]).finally(() => clearTimeout(timer));
  const elapsedMs = performance.now() - startedAt;
  if (failure) throw failure;
  if (sentHash && receivedHash && sentHash.digest('hex') !== receivedHash.digest('hex')) {
    throw new Error('plain stream: the bytes consumed do not hash to the bytes published');
  }
  await pub.close();
  await sub.close();
  return { bytes: receivedBytes, elapsedMs, cut: sent < messages };
}

async function removeQueue(connection: ChannelModel, queue: string): Promise<void> {
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.close();
  } catch {
    // The caller's cleanup reports nothing more useful than the failure that got us here.
  }
}
