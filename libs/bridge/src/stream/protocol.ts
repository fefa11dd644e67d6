import type { MessagePropertyHeaders } from 'amqplib';
import { z } from 'zod';

/**
 * Wire format of bridge streams, version 1 (design note: libs/bridge/STREAMS.md).
 *
 * Chunks carry raw bytes as the message body and everything else in headers, so the data path
 * never pays for JSON or base64. The few control messages (hello, state, done, failed, cancel)
 * are small JSON bodies validated with the schemas below.
 */
export const STREAM_PROTOCOL_VERSION = 1 as const;

/** AMQP `type` property of the two kinds of message. */
export const STREAM_CHUNK_TYPE = 'stream.chunk';
export const STREAM_CONTROL_TYPE = 'stream.control';

export const HEADER_STREAM_VERSION = 'x-stream-v';
export const HEADER_STREAM_ID = 'x-stream-id';
export const HEADER_CHUNK_INDEX = 'x-chunk-index';
export const HEADER_CHUNK_FINAL = 'x-chunk-final';
/** On the final chunk only: hex SHA-256 and byte count of the whole stream. */
export const HEADER_STREAM_SHA256 = 'x-stream-sha256';
export const HEADER_STREAM_SIZE = 'x-stream-size';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** RabbitMQ refuses messages above 128 MiB by default; chunks stay far below that. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const MIN_CHUNK_SIZE = 1024;
/** Chunks a receiver lets a sender have unacknowledged: memory is about window x chunk size. */
export const DEFAULT_WINDOW = 16;
export const MAX_WINDOW = 256;

/**
 * Why a stream failed. Sent in `stream.failed` / `stream.cancel` messages, so a new code is a
 * wire change: add it here and on the reading side first.
 */
export const STREAM_ERROR_CODES = [
  /** The bytes that arrived do not hash to the SHA-256 (or size) the sender announced. */
  'checksum_mismatch',
  /** A message broke the protocol (wrong chunk size, chunk past the end, bad header). */
  'protocol_error',
  /** The receiver's sink could not store or finish the stream. */
  'sink_failed',
  /** The sender's source failed while being read. */
  'source_failed',
  /** The other side gave up (its own timeout, source or sink failure). */
  'stream_cancelled',
  /** No progress for longer than the stream's idle timeout. */
  'stream_timeout',
  /** This side was closed before the stream completed; it can be resumed. */
  'stream_closed',
  /** The receiver asks for bytes the sender can no longer produce. */
  'stream_not_resumable',
  /** The broker refused to declare the stream's queues (permissions, or other arguments). */
  'setup_failed',
] as const;
export type StreamErrorCode = (typeof STREAM_ERROR_CODES)[number];

export class StreamError extends Error {
  constructor(
    readonly code: StreamErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StreamError';
  }
}

/** Turns whatever was thrown into a `StreamError`, keeping the code of one already. */
export function asStreamError(error: unknown, code: StreamErrorCode): StreamError {
  if (error instanceof StreamError) return error;
  return new StreamError(code, error instanceof Error ? error.message : String(error));
}

/** What a completed stream was: its size and the SHA-256 both ends agree on. */
export interface StreamResult {
  streamId: string;
  size: number;
  sha256: string;
}

const streamIdSchema = z.uuid().regex(/^[0-9a-f-]+$/, 'stream ids are lowercase');
const indexSchema = z.number().int().min(-1);
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);
const errorFields = {
  code: z.enum(STREAM_ERROR_CODES),
  message: z.string().max(1000),
};

/** Sender -> receiver (data queue): "I am sending this stream; tell me where you are." */
export const helloSchema = z.strictObject({
  v: z.literal(STREAM_PROTOCOL_VERSION),
  type: z.literal('stream.hello'),
  streamId: streamIdSchema,
  chunkSize: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE),
});

/** Sender -> receiver (data queue): the sender gave up; the receiver aborts its sink. */
export const cancelSchema = z.strictObject({
  v: z.literal(STREAM_PROTOCOL_VERSION),
  type: z.literal('stream.cancel'),
  streamId: streamIdSchema,
  ...errorFields,
});

/**
 * Receiver -> sender (control queue): chunks up to `acked` are durably stored by the sink; the
 * sender may publish chunks up to `credit`. `resend` asks the sender to publish again what it
 * holds after `acked` (sent when the receiver (re)starts, sees a gap, or answers a hello while
 * it has nothing to do: chunks in flight may then have been lost).
 */
export const stateSchema = z.strictObject({
  v: z.literal(STREAM_PROTOCOL_VERSION),
  type: z.literal('stream.state'),
  streamId: streamIdSchema,
  acked: indexSchema,
  credit: indexSchema,
  resend: z.boolean(),
});

/** Receiver -> sender: every byte stored and verified; the stream is complete. */
export const doneSchema = z.strictObject({
  v: z.literal(STREAM_PROTOCOL_VERSION),
  type: z.literal('stream.done'),
  streamId: streamIdSchema,
  size: z.number().int().min(0),
  sha256: sha256Schema,
});

/** Receiver -> sender: the stream failed for good (checksum mismatch, sink failure, ...). */
export const failedSchema = z.strictObject({
  v: z.literal(STREAM_PROTOCOL_VERSION),
  type: z.literal('stream.failed'),
  streamId: streamIdSchema,
  ...errorFields,
});

export const toReceiverSchema = z.discriminatedUnion('type', [helloSchema, cancelSchema]);
export const toSenderSchema = z.discriminatedUnion('type', [stateSchema, doneSchema, failedSchema]);
export type ToReceiver = z.infer<typeof toReceiverSchema>;
export type ToSender = z.infer<typeof toSenderSchema>;

/** Header fields of one chunk, as validated on receipt. */
export interface ChunkHeader {
  streamId: string;
  index: number;
  final: boolean;
  /** Present on the final chunk only. */
  sha256?: string;
  size?: number;
}

export function chunkHeaders(header: ChunkHeader): MessagePropertyHeaders {
  const headers: MessagePropertyHeaders = {
    [HEADER_STREAM_VERSION]: STREAM_PROTOCOL_VERSION,
    [HEADER_STREAM_ID]: header.streamId,
    [HEADER_CHUNK_INDEX]: header.index,
    [HEADER_CHUNK_FINAL]: header.final,
  };
  if (header.final) {
    headers[HEADER_STREAM_SHA256] = header.sha256;
    headers[HEADER_STREAM_SIZE] = header.size;
  }
  return headers;
}

/** Stream ids are lowercase UUIDs (as `randomUUID()` makes them), so they compare as strings. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Reads the headers of a chunk; a string saying what is wrong when they are not valid. Written
 * by hand rather than with zod: it runs once per chunk and the checks are few.
 */
export function parseChunkHeaders(
  headers: MessagePropertyHeaders | undefined,
): ChunkHeader | string {
  if (!headers) return 'the chunk has no headers';
  if (headers[HEADER_STREAM_VERSION] !== STREAM_PROTOCOL_VERSION) {
    return `unsupported stream protocol version ${String(headers[HEADER_STREAM_VERSION])}`;
  }
  const streamId: unknown = headers[HEADER_STREAM_ID];
  const index: unknown = headers[HEADER_CHUNK_INDEX];
  const final: unknown = headers[HEADER_CHUNK_FINAL];
  if (typeof streamId !== 'string' || !UUID.test(streamId)) return 'x-stream-id is not a uuid';
  if (!Number.isSafeInteger(index) || (index as number) < 0) {
    return 'x-chunk-index is not a non-negative integer';
  }
  if (typeof final !== 'boolean') return 'x-chunk-final is not a boolean';
  if (!final) return { streamId, index: index as number, final };
  const sha256: unknown = headers[HEADER_STREAM_SHA256];
  const size: unknown = headers[HEADER_STREAM_SIZE];
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    return 'x-stream-sha256 is not a hex SHA-256';
  }
  if (!Number.isSafeInteger(size) || (size as number) < 0) {
    return 'x-stream-size is not a non-negative integer';
  }
  return { streamId, index: index as number, final, sha256, size: size as number };
}

export function checkChunkSize(chunkSize: number): number {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(
      `stream chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`,
    );
  }
  return chunkSize;
}

export function checkWindow(window: number): number {
  if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) {
    throw new RangeError(`stream window must be an integer from 1 to ${MAX_WINDOW} chunks`);
  }
  return window;
}

export function checkStreamId(streamId: string): string {
  if (!UUID.test(streamId)) throw new RangeError(`stream id "${streamId}" is not a lowercase uuid`);
  return streamId;
}
