import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { MessagePropertyHeaders } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from '../client';
import { decode, encode } from '../codec';
import type { BridgeTopology } from '../topology';
import { ChunkReader } from './chunker';
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
  chunkHeaders,
  toSenderSchema,
  type StreamResult,
  type ToReceiver,
  type ToSender,
} from './protocol';
import { StreamTopology, type StreamSide } from './topology';

export interface StreamSenderOptions {
  connection: AmqpConnectionManager;
  topology: BridgeTopology;
  /** This end: a node, or a control-plane instance. */
  side: StreamSide;
  logger: Logger;
  /**
   * The most chunks this sender keeps unacknowledged per stream, whatever credit a receiver
   * grants: bounds its memory to about (maxWindow + 2) chunks a stream. Default 16.
   */
  maxWindow?: number;
  /** How long a chunk may wait for the broker's confirm before it is published again. Default 30 s. */
  publishTimeoutMs?: number;
  /** Without word from the receiver for this long, the sender asks it where it is. Default 5 s. */
  stallMs?: number;
}

export interface SendOptions {
  streamId: string;
  /** The receiving end: a node id on the control plane, a control-plane instance id on a node. */
  to: string;
  /**
   * The bytes, e.g. a `Readable` (`fs.createReadStream(path)`). Buffers it yields are kept until
   * the receiver acknowledges them and must not be reused. To resume a stream after this process
   * restarted, send it again with the same `streamId` and a source yielding the same bytes from
   * the start: they are read and hashed, and only those the receiver lacks are published.
   */
  source: AsyncIterable<Uint8Array>;
  /** Must equal the receiver's. Default 1 MiB. */
  chunkSize?: number;
  /** The stream fails when the receiver acknowledges nothing for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * The SHA-256 (hex) the source's bytes must have, when the caller knows it (a stored file).
   * The sender hashes every byte anyway; with this it checks that hash before it publishes the
   * final chunk, and fails the stream with `source_failed` on a mismatch, so the receiver never
   * completes it. The caller then need not hash the bytes a second time to verify them.
   */
  sha256?: string;
}

/** Counters for tests and metrics. */
export interface StreamSenderStats {
  chunksPublished: number;
  /** Publishes of chunks already published once (after a gap, a failed publish, a resume). */
  chunksResent: number;
  /** Chunks read but not published because the receiver already held them (resume). */
  chunksSkipped: number;
  /** Most chunks ever published and not yet acknowledged by the receiver: at most the window. */
  maxInFlight: number;
  /** Most chunks ever held in memory for one stream: at most the window plus one read ahead. */
  maxRetained: number;
}

interface OutChunk {
  index: number;
  bytes: Buffer;
  headers: MessagePropertyHeaders;
  published: boolean;
}

interface Outgoing {
  streamId: string;
  to: string;
  chunkSize: number;
  reader: ChunkReader;
  /** Chunks read and not yet acknowledged, by index. The final chunk stays until `done`. */
  retained: Map<number, OutChunk>;
  /** Highest index the receiver holds (-1: none) and highest it lets us publish. */
  acked: number;
  credit: number;
  nextToPublish: number;
  finalIndex: number | undefined;
  sha256: string | undefined;
  size: number | undefined;
  /** What the source must hash to (`SendOptions.sha256`), checked before the final chunk. */
  expectedSha256: string | undefined;
  lastRewind: { acked: number; at: number } | undefined;
  driving: boolean;
  settled: boolean;
  retryTimer: NodeJS.Timeout | undefined;
  stallTimer: NodeJS.Timeout;
  idleTimer: NodeJS.Timeout;
  resolve: (result: StreamResult) => void;
  reject: (error: StreamError) => void;
}

/** A publish that failed is tried again after this long (not at once: the broker may be
 * refusing every publish right now). */
const RETRY_DELAY_MS = 1_000;

/**
 * Sends streams from this end: cuts a byte source into chunks, publishes them (raw bytes,
 * persistent, confirmed) within the credit the receiver grants, and resolves when the receiver
 * reports every byte stored with the SHA-256 the sender computed. See STREAMS.md.
 *
 * The sender learns where to start from the receiver (a `stream.state` with the last chunk it
 * holds), so the same call serves a new stream and the resumption of an interrupted one.
 */
export class StreamSender {
  private readonly streamTopology: StreamTopology;
  private readonly logger: Logger;
  private readonly maxWindow: number;
  private readonly publishTimeoutMs: number;
  private readonly stallMs: number;
  private readonly streams = new Map<string, Outgoing>();
  private link: StreamLink | undefined;
  private closed = false;
  readonly stats: StreamSenderStats = {
    chunksPublished: 0,
    chunksResent: 0,
    chunksSkipped: 0,
    maxInFlight: 0,
    maxRetained: 0,
  };

  constructor(private readonly options: StreamSenderOptions) {
    this.streamTopology = new StreamTopology(options.topology);
    this.logger = options.logger.child({ component: 'bridge.stream-sender' });
    this.maxWindow = checkWindow(options.maxWindow ?? DEFAULT_WINDOW);
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.stallMs = options.stallMs ?? 5_000;
  }

  /** Declares this end's queues and consumes its control queue; resolves once consuming. */
  async start(): Promise<void> {
    const { side } = this.options;
    this.link ??= new StreamLink({
      connection: this.options.connection,
      logger: this.logger,
      name: 'bridge-stream-sender',
      queue: this.streamTopology.ownQueue(side, 'control'),
      // Control messages are tiny and handled at once.
      prefetch: 64,
      setup: (channel) => this.streamTopology.assertOwn(channel, side),
      onDelivery: (delivery) => this.onControl(delivery),
      onReconnected: () => this.onReconnected(),
      onClosed: () => this.closeStreams(),
    });
    await this.link.start();
  }

  /**
   * Sends a stream and resolves once the receiver stored and verified all of it. Rejects with a
   * `StreamError`: `checksum_mismatch`, `protocol_error`, `sink_failed`, `stream_cancelled` or
   * `stream_timeout` (from the receiver), `source_failed`, `stream_timeout`, `setup_failed`,
   * `stream_not_resumable`, or `stream_closed` when this sender closes. After `stream_closed`
   * and `stream_timeout` the stream can be resumed by sending it again under the same id.
   */
  send(options: SendOptions): Promise<StreamResult> {
    if (!this.link || this.closed) throw new Error('the stream sender is not started');
    const streamId = checkStreamId(options.streamId);
    const to = this.streamTopology.checkPeer(this.options.side, options.to);
    if (this.streams.has(streamId)) throw new Error(`stream ${streamId} is already being sent`);
    const chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    return new Promise<StreamResult>((resolve, reject) => {
      const stream: Outgoing = {
        streamId,
        to,
        chunkSize,
        reader: new ChunkReader(options.source, chunkSize),
        retained: new Map(),
        acked: -1,
        // Nothing may be published before the receiver said where it stands.
        credit: -1,
        nextToPublish: 0,
        finalIndex: undefined,
        sha256: undefined,
        size: undefined,
        expectedSha256: options.sha256?.toLowerCase(),
        lastRewind: undefined,
        driving: false,
        settled: false,
        retryTimer: undefined,
        stallTimer: setTimeout(() => this.onStall(stream), this.stallMs),
        idleTimer: setTimeout(() => {
          this.fail(
            stream,
            new StreamError(
              'stream_timeout',
              `the receiver acknowledged nothing of stream ${streamId} for ${idleTimeoutMs} ms`,
            ),
            // No cancel: the receiver has a timeout of its own, and a cancel left in its queue
            // would abort a later attempt to resume the stream under the same id.
            false,
          );
        }, idleTimeoutMs),
        resolve,
        reject,
      };
      this.streams.set(streamId, stream);
      this.ensurePeer(to).then(
        () => this.sendHello(stream),
        (error: unknown) => this.fail(stream, asStreamError(error, 'setup_failed'), false),
      );
    });
  }

  /** Rejects the streams in progress with `stream_closed` and closes the channel. */
  async close(): Promise<void> {
    this.closeStreams();
    await this.link?.close();
  }

  private closeStreams(): void {
    this.closed = true;
    for (const stream of this.streams.values()) {
      this.settle(stream);
      stream.reject(
        new StreamError(
          'stream_closed',
          `the sender closed before stream ${stream.streamId} completed`,
        ),
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

  private onControl(delivery: Delivery): void {
    // Handled synchronously, so acknowledged at once.
    this.link?.ack(delivery);
    const decoded = decode(delivery.msg.content, toSenderSchema);
    if (!decoded.ok) {
      this.logger.warn({ detail: decoded.detail }, 'malformed stream control message; dropped');
      return;
    }
    const message = decoded.value;
    const stream = this.streams.get(message.streamId);
    if (!stream) {
      this.logger.debug(
        { streamId: message.streamId, type: message.type },
        'control message for a stream not being sent; dropped',
      );
      return;
    }
    if (!this.streamTopology.cameFrom(this.options.side, stream.to, delivery.msg.fields.exchange)) {
      this.logger.warn(
        { streamId: stream.streamId, expected: stream.to, exchange: delivery.msg.fields.exchange },
        'stream control message not from the stream receiver; dropped',
      );
      return;
    }
    this.onMessage(stream, message);
  }

  private onMessage(stream: Outgoing, message: ToSender): void {
    stream.stallTimer.refresh();
    switch (message.type) {
      case 'stream.state':
        this.onState(stream, message.acked, message.credit, message.resend);
        return;
      case 'stream.done': {
        if (
          stream.sha256 !== undefined &&
          (stream.sha256 !== message.sha256 || stream.size !== message.size)
        ) {
          this.fail(
            stream,
            new StreamError(
              'checksum_mismatch',
              `the receiver stored ${message.size} bytes with SHA-256 ${message.sha256}; the sender read ${String(stream.size)} bytes with SHA-256 ${stream.sha256}`,
            ),
            false,
          );
          return;
        }
        this.settle(stream);
        const result = { streamId: stream.streamId, size: message.size, sha256: message.sha256 };
        this.logger.info(result, 'stream sent and verified by the receiver');
        stream.resolve(result);
        return;
      }
      case 'stream.failed':
        this.fail(
          stream,
          new StreamError(message.code, `the receiver failed the stream: ${message.message}`),
          false,
        );
        return;
    }
  }

  private onState(stream: Outgoing, acked: number, credit: number, resend: boolean): void {
    // Credits can arrive out of order (one retried after an outage): only ever move forward.
    if (acked > stream.acked) {
      stream.acked = acked;
      stream.idleTimer.refresh();
      for (const index of stream.retained.keys()) {
        if (index <= acked && index !== stream.finalIndex) stream.retained.delete(index);
      }
    }
    stream.credit = Math.max(stream.credit, credit);
    const first = this.firstUnacked(stream);
    if (stream.nextToPublish < first) stream.nextToPublish = first;
    if (resend && first < stream.nextToPublish) this.rewind(stream, first);
    void this.drive(stream);
  }

  /** The first chunk the receiver lacks. The final chunk is never taken as held before `done`:
   * a receiver resuming from a sink that holds all bytes still needs it to finish. */
  private firstUnacked(stream: Outgoing): number {
    const next = stream.acked + 1;
    return stream.finalIndex === undefined ? next : Math.min(next, stream.finalIndex);
  }

  /** Publishes again from `from`, at most once per acknowledged position and stall period:
   * several reports of one gap must not multiply the copies in flight. */
  private rewind(stream: Outgoing, from: number): void {
    const now = Date.now();
    const last = stream.lastRewind;
    if (last && last.acked === stream.acked && now - last.at < this.stallMs) return;
    stream.lastRewind = { acked: stream.acked, at: now };
    stream.nextToPublish = from;
  }

  /** Publishes while there is credit: retained chunks first, then new ones from the source. */
  private async drive(stream: Outgoing): Promise<void> {
    if (stream.driving || stream.settled) return;
    stream.driving = true;
    try {
      for (;;) {
        const index = stream.nextToPublish;
        if (stream.settled) return;
        if (stream.finalIndex !== undefined && index > stream.finalIndex) return;
        if (index > Math.min(stream.credit, stream.acked + this.maxWindow)) return;
        const chunk = stream.retained.get(index) ?? (await this.read(stream, index));
        if (!chunk || stream.settled) return;
        this.publish(stream, chunk);
        // A credit or a failed publish that arrived while the source was read may have moved
        // the position (forward past what the receiver holds, or back to publish again): keep it.
        if (stream.nextToPublish === index) stream.nextToPublish = chunk.index + 1;
      }
    } catch (error) {
      const failure =
        error instanceof StreamError
          ? error
          : new StreamError(
              'source_failed',
              `could not read the stream source: ${errorMessage(error)}`,
            );
      this.fail(stream, failure, true);
    } finally {
      stream.driving = false;
    }
  }

  /**
   * Reads from the source up to chunk `index`. Chunks before it are ones the receiver held
   * when this sender started (a resume): hashed, not published. The final chunk is returned
   * whatever its index.
   */
  private async read(stream: Outgoing, index: number): Promise<OutChunk | undefined> {
    for (;;) {
      const chunk = await stream.reader.next();
      if (!chunk) return undefined;
      if (chunk.final) {
        if (stream.expectedSha256 !== undefined && chunk.sha256 !== stream.expectedSha256) {
          throw new StreamError(
            'source_failed',
            `the source of stream ${stream.streamId} has SHA-256 ${String(chunk.sha256)}, not the expected ${stream.expectedSha256}`,
          );
        }
        stream.finalIndex = chunk.index;
        stream.sha256 = chunk.sha256;
        stream.size = chunk.size;
        if (stream.acked > chunk.index) {
          throw new StreamError(
            'stream_not_resumable',
            `the receiver holds ${stream.acked + 1} chunks of stream ${stream.streamId}; the source has ${chunk.index + 1}`,
          );
        }
      } else if (chunk.index < index) {
        this.stats.chunksSkipped++;
        continue;
      }
      const out: OutChunk = {
        index: chunk.index,
        bytes: chunk.bytes,
        headers: chunkHeaders({
          streamId: stream.streamId,
          index: chunk.index,
          final: chunk.final,
          sha256: chunk.sha256,
          size: chunk.size,
        }),
        published: false,
      };
      stream.retained.set(chunk.index, out);
      this.stats.maxRetained = Math.max(
        this.stats.maxRetained,
        stream.retained.size + stream.reader.lookahead,
      );
      return out;
    }
  }

  private publish(stream: Outgoing, chunk: OutChunk): void {
    if (!this.link) return;
    this.stats.chunksPublished++;
    if (chunk.published) this.stats.chunksResent++;
    chunk.published = true;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, chunk.index - stream.acked);
    this.link
      .publish(this.streamTopology.target(this.options.side, stream.to, 'data'), chunk.bytes, {
        persistent: true,
        type: STREAM_CHUNK_TYPE,
        headers: chunk.headers,
        timeout: this.publishTimeoutMs,
      })
      .catch((error: unknown) => this.onPublishFailed(stream, chunk.index, error));
  }

  /**
   * amqp-connection-manager publishes again by itself what was unconfirmed when a connection
   * dropped; a publish rejected here (timeout, refusal) is gone, and is published again.
   */
  private onPublishFailed(stream: Outgoing, index: number, error: unknown): void {
    if (stream.settled || index < this.firstUnacked(stream)) return;
    this.logger.warn(
      { streamId: stream.streamId, index, reason: errorMessage(error) },
      'stream chunk not confirmed by the broker; publishing it again',
    );
    if (index < stream.nextToPublish) stream.nextToPublish = index;
    stream.retryTimer ??= setTimeout(() => {
      stream.retryTimer = undefined;
      void this.drive(stream);
    }, RETRY_DELAY_MS);
  }

  private onStall(stream: Outgoing): void {
    if (stream.settled) return;
    this.sendHello(stream);
    stream.stallTimer.refresh();
  }

  private onReconnected(): void {
    for (const stream of this.streams.values()) this.sendHello(stream);
  }

  /** Asks the receiver where it stands; it answers with a `stream.state`. */
  private sendHello(stream: Outgoing): void {
    if (stream.settled) return;
    this.publishControl(stream, {
      v: STREAM_PROTOCOL_VERSION,
      type: 'stream.hello',
      streamId: stream.streamId,
      chunkSize: stream.chunkSize,
    });
  }

  private publishControl(stream: Outgoing, message: ToReceiver): void {
    if (!this.link) return;
    this.link
      .publish(this.streamTopology.target(this.options.side, stream.to, 'data'), encode(message), {
        persistent: true,
        type: STREAM_CONTROL_TYPE,
        contentType: 'application/json',
        timeout: this.publishTimeoutMs,
      })
      .catch((error: unknown) =>
        this.logger.debug(
          { streamId: stream.streamId, type: message.type, reason: errorMessage(error) },
          'stream control message not published',
        ),
      );
  }

  /** Ends a stream for good; with `notify`, tells the receiver to abort its sink. */
  private fail(stream: Outgoing, error: StreamError, notify: boolean): void {
    if (stream.settled) return;
    if (notify) {
      this.publishControl(stream, {
        v: STREAM_PROTOCOL_VERSION,
        type: 'stream.cancel',
        streamId: stream.streamId,
        code: error.code,
        message: error.message.slice(0, 1000),
      });
    }
    this.settle(stream);
    this.logger.warn(
      { streamId: stream.streamId, code: error.code, reason: error.message },
      'stream failed',
    );
    stream.reject(error);
  }

  private settle(stream: Outgoing): void {
    stream.settled = true;
    clearTimeout(stream.stallTimer);
    clearTimeout(stream.idleTimer);
    clearTimeout(stream.retryTimer);
    stream.retained.clear();
    this.streams.delete(stream.streamId);
    stream.reader
      .close()
      .catch((error: unknown) =>
        this.logger.debug({ reason: errorMessage(error) }, 'stream source did not close cleanly'),
      );
  }
}
