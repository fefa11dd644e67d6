import { createHash, type Hash } from 'node:crypto';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from 'pino';
import { errorMessage } from '../client';
import { decode, encode } from '../codec';
import type { BridgeTopology } from '../topology';
import { StreamLink, type Delivery } from './link';
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_WINDOW,
  STREAM_CHUNK_TYPE,
  STREAM_CONTROL_TYPE,
  STREAM_PROTOCOL_VERSION,
  StreamError,
  asStreamError,
  checkChunkSize,
  checkStreamId,
  checkWindow,
  parseChunkHeaders,
  toReceiverSchema,
  type ChunkHeader,
  type StreamResult,
  type ToReceiver,
  type ToSender,
} from './protocol';
import { StreamTopology, type StreamSide } from './topology';

/** One chunk handed to a sink, in order: `offset` is `index * chunkSize`. */
export interface SinkChunk {
  index: number;
  offset: number;
  bytes: Buffer;
  final: boolean;
}

/** What a sink already holds of a stream when the receiver takes it up. */
export interface SinkResume {
  /** Bytes held durably, contiguous from offset 0 (0 for a new stream). */
  size: number;
  /**
   * Reads the held bytes back from offset 0, so the receiver can rebuild its running SHA-256.
   * Required when `size` is at least one chunk.
   */
  read?: () => AsyncIterable<Uint8Array>;
}

/**
 * Where a receiver puts a stream. The receiver calls `open` once, then `write` one chunk at a
 * time in index order, then `finish` after the SHA-256 and size matched, or `abort` when the
 * stream failed. It acknowledges a chunk (and grants more credit) only after `write` resolved,
 * so `write` must resolve only once the bytes are durable as far as the sink promises anything.
 *
 * Resumption rests on the sink: after a restart of either side, `open` reports how much it
 * holds and the stream continues from the last whole chunk it holds. `write` must therefore
 * replace whatever the sink holds at and after `offset` (a chunk may be written again after a
 * crash in the middle of writing it). `finish` may be called again for a stream whose first
 * completion notice did not reach the sender; it should be idempotent.
 */
export interface StreamSink {
  open(): Promise<SinkResume>;
  write(chunk: SinkChunk): Promise<void>;
  finish(result: StreamResult): Promise<void>;
  /** The stream failed for good (`error.code` says why); the sink may discard what it holds. */
  abort(error: StreamError): Promise<void>;
}

export interface StreamReceiverOptions {
  connection: AmqpConnectionManager;
  topology: BridgeTopology;
  /** This end: a node, or a control-plane instance. */
  side: StreamSide;
  logger: Logger;
  /** Chunks a sender may have unacknowledged per stream (its credit). Default 16. */
  window?: number;
  /** Chunks delivered at once over all streams: bounds this end's memory. Default: the window. */
  prefetch?: number;
  /** How long a credit or outcome message may wait for the broker. Default 30 s. */
  publishTimeoutMs?: number;
}

export interface AcceptOptions {
  streamId: string;
  /** The sending end: a node id on the control plane, a control-plane instance id on a node. */
  from: string;
  sink: StreamSink;
  /** Must equal the sender's. Default 1 MiB. */
  chunkSize?: number;
  /** The stream fails when no chunk arrives for this long. Default 60 s. */
  idleTimeoutMs?: number;
}

/** Counters for tests and metrics. */
export interface StreamReceiverStats {
  chunksWritten: number;
  /** Chunks received again after they were written (redelivery, resend); acknowledged, ignored. */
  duplicates: number;
  /** Chunks ahead of the next expected one (a gap); dropped, and the sender asked to resend. */
  outOfOrder: number;
  /** Messages refused: malformed, from the wrong peer, or for an unknown stream. */
  refused: number;
  /** Deliveries held in memory now, and the most ever: at most the prefetch. */
  buffered: number;
  maxBuffered: number;
}

type Item =
  | { kind: 'chunk'; delivery: Delivery; header: ChunkHeader }
  | { kind: 'control'; delivery: Delivery; message: ToReceiver };

interface Incoming {
  streamId: string;
  from: string;
  sink: StreamSink;
  chunkSize: number;
  /** Index of the next chunk to write; chunks before it are in the sink. */
  expected: number;
  /** Bytes in the sink, hashed into `hash`. */
  bytes: number;
  hash: Hash;
  opened: boolean;
  busy: boolean;
  settled: boolean;
  queue: Item[];
  idleTimer: NodeJS.Timeout;
  resolve: (result: StreamResult) => void;
  reject: (error: StreamError) => void;
}

/** Outcomes of finished streams are remembered this many at most, to answer a late hello. */
const REMEMBERED_OUTCOMES = 1000;

/**
 * Receives streams on this end's data queue and writes them to sinks, one chunk at a time in
 * index order, verifying the SHA-256 and size at the end. See STREAMS.md for the protocol.
 *
 * Flow control: the receiver grants credit `acked + window` after each chunk it stored, so a
 * sender never has more than `window` chunks unacknowledged; and it consumes with a prefetch,
 * so its own memory holds at most `prefetch` chunks whatever the number or size of streams.
 */
export class StreamReceiver {
  private readonly streamTopology: StreamTopology;
  private readonly logger: Logger;
  private readonly window: number;
  private readonly prefetch: number;
  private readonly publishTimeoutMs: number;
  private readonly streams = new Map<string, Incoming>();
  private readonly outcomes = new Map<string, { from: string; message: ToSender }>();
  private readonly work = new Set<Promise<void>>();
  private link: StreamLink | undefined;
  private closing = false;
  readonly stats: StreamReceiverStats = {
    chunksWritten: 0,
    duplicates: 0,
    outOfOrder: 0,
    refused: 0,
    buffered: 0,
    maxBuffered: 0,
  };

  constructor(private readonly options: StreamReceiverOptions) {
    this.streamTopology = new StreamTopology(options.topology);
    this.logger = options.logger.child({ component: 'bridge.stream-receiver' });
    this.window = checkWindow(options.window ?? DEFAULT_WINDOW);
    this.prefetch = checkWindow(options.prefetch ?? this.window);
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
  }

  /** Declares this end's queues and starts consuming; resolves once consuming. */
  async start(): Promise<void> {
    const { side } = this.options;
    this.link ??= new StreamLink({
      connection: this.options.connection,
      logger: this.logger,
      name: 'bridge-stream-receiver',
      queue: this.streamTopology.ownQueue(side, 'data'),
      prefetch: this.prefetch,
      setup: (channel) => this.streamTopology.assertOwn(channel, side),
      onDelivery: (delivery) => this.onDelivery(delivery),
      onReconnected: (generation) => this.onReconnected(generation),
      onClosed: () => this.onClosed(),
    });
    await this.link.start();
  }

  /**
   * Takes up a stream: opens the sink (which says how much it already holds), tells the sender
   * where to start, and resolves once every byte is stored and verified. Rejects with a
   * `StreamError` (`checksum_mismatch`, `protocol_error`, `sink_failed`, `stream_cancelled`,
   * `stream_timeout`, or `stream_closed` when this receiver closes; the latter is resumable by
   * accepting the stream again with the same sink).
   */
  accept(options: AcceptOptions): Promise<StreamResult> {
    if (!this.link || this.closing) throw new Error('the stream receiver is not started');
    const streamId = checkStreamId(options.streamId);
    const from = this.streamTopology.checkPeer(this.options.side, options.from);
    if (this.streams.has(streamId)) throw new Error(`stream ${streamId} is already being received`);
    const chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.outcomes.delete(streamId);
    return new Promise<StreamResult>((resolve, reject) => {
      const stream: Incoming = {
        streamId,
        from,
        sink: options.sink,
        chunkSize,
        expected: 0,
        bytes: 0,
        hash: createHash('sha256'),
        opened: false,
        busy: false,
        settled: false,
        queue: [],
        idleTimer: setTimeout(() => {
          void this.fail(
            stream,
            new StreamError(
              'stream_timeout',
              `no chunk of stream ${streamId} for ${idleTimeoutMs} ms`,
            ),
            true,
          );
        }, idleTimeoutMs),
        resolve,
        reject,
      };
      this.streams.set(streamId, stream);
      this.track(this.open(stream));
    });
  }

  /**
   * Stops consuming, lets sink writes in progress finish (so that a new receiver never shares a
   * sink with a write in flight), and rejects the streams still open with `stream_closed`.
   * Their sinks keep what they hold; accepting the streams again resumes them.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.link?.stopConsuming();
    await Promise.allSettled([...this.work]);
    this.closeStreams();
    await this.link?.close();
  }

  private onClosed(): void {
    // The connection manager closed the channel under us (it was closed itself).
    this.closing = true;
    this.closeStreams();
  }

  private closeStreams(): void {
    for (const stream of this.streams.values()) {
      // Not acknowledged: the broker delivers them again to whoever resumes the stream.
      this.settle(stream, 'forget');
      stream.reject(
        new StreamError(
          'stream_closed',
          `the receiver closed before stream ${stream.streamId} completed`,
        ),
      );
    }
  }

  private track(work: Promise<void>): void {
    this.work.add(work);
    void work.finally(() => this.work.delete(work));
  }

  private async open(stream: Incoming): Promise<void> {
    try {
      await this.ensurePeer(stream.from);
    } catch (error) {
      await this.fail(stream, asStreamError(error, 'setup_failed'), false);
      return;
    }
    try {
      const resume = await stream.sink.open();
      if (!Number.isSafeInteger(resume.size) || resume.size < 0) {
        throw new StreamError('sink_failed', `the sink reports an invalid size ${resume.size}`);
      }
      // Resume after the last whole chunk held. A partly written chunk is written again, and
      // so is a full last chunk: whether it was the final one only the sender knows.
      const kept = Math.floor(resume.size / stream.chunkSize);
      if (kept > 0) await this.rehash(stream, resume, kept * stream.chunkSize);
      stream.expected = kept;
      stream.bytes = kept * stream.chunkSize;
      if (stream.settled) return;
      stream.opened = true;
      if (kept > 0) {
        this.logger.info(
          { streamId: stream.streamId, chunks: kept, bytes: stream.bytes },
          'resuming stream from what the sink holds',
        );
      }
      // Tells a sender already waiting where to start; one that starts later asks with a hello.
      this.sendState(stream, true);
      this.pump(stream);
    } catch (error) {
      await this.fail(stream, asStreamError(error, 'sink_failed'), true);
    }
  }

  private async rehash(stream: Incoming, resume: SinkResume, length: number): Promise<void> {
    if (!resume.read) {
      throw new StreamError(
        'sink_failed',
        `the sink holds ${resume.size} bytes of stream ${stream.streamId} but cannot read them back`,
      );
    }
    let remaining = length;
    for await (const piece of resume.read()) {
      const bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      const used = bytes.subarray(0, remaining);
      stream.hash.update(used);
      remaining -= used.length;
      if (remaining === 0) break;
    }
    if (remaining > 0) {
      throw new StreamError(
        'sink_failed',
        `the sink reported ${resume.size} bytes but returned ${length - remaining}`,
      );
    }
  }

  /** On the control plane: the node's queues and route must exist before we write to them. */
  private ensurePeer(peer: string): Promise<void> {
    const { side } = this.options;
    if (!this.link) return Promise.resolve();
    return this.link.setupOnce(peer, (channel) =>
      this.streamTopology.assertPeer(channel, side, peer),
    );
  }

  private onDelivery(delivery: Delivery): void {
    this.stats.buffered++;
    this.stats.maxBuffered = Math.max(this.stats.maxBuffered, this.stats.buffered);
    const item = this.parse(delivery);
    if (!item) return;
    const streamId = item.kind === 'chunk' ? item.header.streamId : item.message.streamId;
    const exchange = delivery.msg.fields.exchange;
    const stream = this.streams.get(streamId);
    if (!stream) {
      const outcome = this.outcomes.get(streamId);
      if (outcome && this.streamTopology.cameFrom(this.options.side, outcome.from, exchange)) {
        // The sender missed the outcome (it restarted, say): tell it again.
        this.publishControl(outcome.from, outcome.message);
      } else {
        this.stats.refused++;
        this.logger.debug({ streamId }, 'message for a stream not being received; dropped');
      }
      this.release(delivery);
      return;
    }
    if (!this.streamTopology.cameFrom(this.options.side, stream.from, exchange)) {
      this.stats.refused++;
      this.logger.warn(
        { streamId, expected: stream.from, exchange },
        'stream message not from the stream sender; dropped',
      );
      this.release(delivery);
      return;
    }
    stream.queue.push(item);
    this.pump(stream);
  }

  private parse(delivery: Delivery): Item | undefined {
    const { msg } = delivery;
    if (msg.properties.type === STREAM_CHUNK_TYPE) {
      const header = parseChunkHeaders(msg.properties.headers);
      if (typeof header !== 'string') return { kind: 'chunk', delivery, header };
      this.refuse(delivery, header);
      return undefined;
    }
    if (msg.properties.type === STREAM_CONTROL_TYPE) {
      const decoded = decode(msg.content, toReceiverSchema);
      if (decoded.ok) return { kind: 'control', delivery, message: decoded.value };
      this.refuse(delivery, decoded.detail);
      return undefined;
    }
    this.refuse(delivery, `unknown message type ${String(msg.properties.type)}`);
    return undefined;
  }

  /** A malformed message is logged and dropped: parking 1 MiB chunks as dead letters would
   * only fill the broker, and the sender publishes again whatever is not acknowledged. */
  private refuse(delivery: Delivery, detail: string): void {
    this.stats.refused++;
    this.logger.warn({ detail }, 'malformed stream message; dropped');
    this.release(delivery);
  }

  private release(delivery: Delivery): void {
    this.stats.buffered--;
    this.link?.ack(delivery);
  }

  private onReconnected(generation: number): void {
    for (const stream of this.streams.values()) {
      // Deliveries of the lost channel are forgotten, unacknowledged: the broker has put them
      // back in the queue and delivers them again.
      const kept = stream.queue.filter((item) => item.delivery.generation === generation);
      this.stats.buffered -= stream.queue.length - kept.length;
      stream.queue = kept;
      // Credit published during the outage may have been lost; it costs little to repeat it.
      if (stream.opened && !stream.settled) this.sendState(stream, false);
    }
  }

  private pump(stream: Incoming): void {
    if (stream.busy || !stream.opened || stream.settled || stream.queue.length === 0) return;
    stream.busy = true;
    this.track(this.drain(stream));
  }

  /** Handles a stream's deliveries one at a time, in the order they arrived. */
  private async drain(stream: Incoming): Promise<void> {
    try {
      let item: Item | undefined;
      while (!stream.settled && !this.closing && (item = stream.queue.shift())) {
        await this.handle(stream, item);
      }
    } catch (error) {
      await this.fail(stream, asStreamError(error, 'sink_failed'), true);
    } finally {
      stream.busy = false;
    }
  }

  private async handle(stream: Incoming, item: Item): Promise<void> {
    if (item.kind === 'control') {
      this.release(item.delivery);
      const message = item.message;
      switch (message.type) {
        case 'stream.hello':
          if (message.chunkSize !== stream.chunkSize) {
            await this.fail(
              stream,
              new StreamError(
                'protocol_error',
                `the sender cuts stream ${stream.streamId} into ${message.chunkSize}-byte chunks, the receiver expects ${stream.chunkSize}`,
              ),
              true,
            );
            return;
          }
          // Nothing in hand for this stream: chunks in flight may have been lost, ask again.
          this.sendState(stream, !stream.queue.some((queued) => queued.kind === 'chunk'));
          return;
        case 'stream.cancel':
          await this.fail(
            stream,
            new StreamError(
              'stream_cancelled',
              `the sender cancelled stream ${stream.streamId} (${message.code}: ${message.message})`,
            ),
            false,
          );
          return;
      }
    }
    const { header, delivery } = item;
    const bytes = delivery.msg.content;
    if (header.index < stream.expected) {
      if (header.final) {
        // Only after a resume: the sink already held the whole final chunk.
        await this.complete(stream, header, delivery);
        return;
      }
      this.stats.duplicates++;
      this.release(delivery);
      return;
    }
    if (header.index > stream.expected) {
      // A gap: never hold chunks back waiting for it (they would tie up a prefetch that other
      // streams share, and the missing chunk may be queued behind them); drop and ask again.
      this.stats.outOfOrder++;
      this.release(delivery);
      this.sendState(stream, true);
      return;
    }
    const sizeProblem = header.final
      ? bytes.length > stream.chunkSize || (bytes.length === 0 && header.index > 0)
      : bytes.length !== stream.chunkSize;
    if (sizeProblem) {
      this.release(delivery);
      await this.fail(
        stream,
        new StreamError(
          'protocol_error',
          `chunk ${header.index} of stream ${stream.streamId} has ${bytes.length} bytes; chunks have ${stream.chunkSize}`,
        ),
        true,
      );
      return;
    }
    try {
      await stream.sink.write({
        index: header.index,
        offset: stream.bytes,
        bytes,
        final: header.final,
      });
    } catch (error) {
      this.release(delivery);
      throw new StreamError(
        'sink_failed',
        `the sink could not store a chunk: ${errorMessage(error)}`,
      );
    }
    if (stream.settled) {
      // Failed (timed out, say) while the sink was writing: nothing more to do for it.
      this.release(delivery);
      return;
    }
    stream.hash.update(bytes);
    stream.bytes += bytes.length;
    stream.expected++;
    this.stats.chunksWritten++;
    stream.idleTimer.refresh();
    if (header.final) {
      await this.complete(stream, header, delivery);
      return;
    }
    this.release(delivery);
    this.sendState(stream, false);
  }

  /** After the final chunk: checks size and SHA-256, then finishes or aborts the sink. */
  private async complete(stream: Incoming, header: ChunkHeader, delivery: Delivery): Promise<void> {
    const sha256 = stream.hash.digest('hex');
    if (header.size !== stream.bytes || header.sha256 !== sha256) {
      this.release(delivery);
      await this.fail(
        stream,
        new StreamError(
          'checksum_mismatch',
          `stream ${stream.streamId}: received ${stream.bytes} bytes with SHA-256 ${sha256}; the sender sent ${String(header.size)} bytes with SHA-256 ${String(header.sha256)}`,
        ),
        true,
      );
      return;
    }
    const result: StreamResult = { streamId: stream.streamId, size: stream.bytes, sha256 };
    try {
      await stream.sink.finish(result);
    } catch (error) {
      this.release(delivery);
      throw new StreamError('sink_failed', `the sink could not finish: ${errorMessage(error)}`);
    }
    this.release(delivery);
    this.settle(stream, 'release');
    const done: ToSender = { v: STREAM_PROTOCOL_VERSION, type: 'stream.done', ...result };
    this.remember(stream, done);
    this.publishControl(stream.from, done);
    this.logger.info(result, 'stream received and verified');
    stream.resolve(result);
  }

  /** Ends a stream for good: the sink is aborted and, if `notify`, the sender told why. */
  private async fail(stream: Incoming, error: StreamError, notify: boolean): Promise<void> {
    if (stream.settled) return;
    this.settle(stream, 'release');
    this.logger.warn(
      { streamId: stream.streamId, code: error.code, reason: error.message },
      'stream failed',
    );
    const failed: ToSender = {
      v: STREAM_PROTOCOL_VERSION,
      type: 'stream.failed',
      streamId: stream.streamId,
      code: error.code,
      message: error.message.slice(0, 1000),
    };
    this.remember(stream, failed);
    if (notify) this.publishControl(stream.from, failed);
    try {
      await stream.sink.abort(error);
    } catch (abortError) {
      this.logger.warn(
        { streamId: stream.streamId, reason: errorMessage(abortError) },
        'sink abort failed',
      );
    }
    stream.reject(error);
  }

  /**
   * Takes a stream out. Deliveries still queued for it are acknowledged (`release`: the stream
   * is over, they are duplicates or moot) or left to the broker (`forget`: this receiver is
   * closing and they belong to whoever resumes the stream). Either way they stop counting
   * against the prefetch here: a delivery never acknowledged would hold its slot for good.
   */
  private settle(stream: Incoming, queued: 'release' | 'forget'): void {
    stream.settled = true;
    clearTimeout(stream.idleTimer);
    this.streams.delete(stream.streamId);
    for (const item of stream.queue) {
      if (queued === 'release') this.release(item.delivery);
      else this.stats.buffered--;
    }
    stream.queue = [];
  }

  private remember(stream: Incoming, message: ToSender): void {
    this.outcomes.set(stream.streamId, { from: stream.from, message });
    if (this.outcomes.size > REMEMBERED_OUTCOMES) {
      const oldest = this.outcomes.keys().next();
      if (!oldest.done) this.outcomes.delete(oldest.value);
    }
  }

  private sendState(stream: Incoming, resend: boolean): void {
    const acked = stream.expected - 1;
    this.publishControl(stream.from, {
      v: STREAM_PROTOCOL_VERSION,
      type: 'stream.state',
      streamId: stream.streamId,
      acked,
      credit: acked + this.window,
      resend,
    });
  }

  /** Fire and forget: a lost credit is repeated on reconnection or when the sender asks. */
  private publishControl(peer: string, message: ToSender): void {
    if (!this.link) return;
    const target = this.streamTopology.target(this.options.side, peer, 'control');
    this.link
      .publish(target, encode(message), {
        persistent: true,
        type: STREAM_CONTROL_TYPE,
        contentType: 'application/json',
        timeout: this.publishTimeoutMs,
      })
      .catch((error: unknown) =>
        this.logger.debug(
          { streamId: message.streamId, type: message.type, reason: errorMessage(error) },
          'stream control message not published',
        ),
      );
  }
}
