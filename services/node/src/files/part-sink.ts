import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type {
  SinkChunk,
  SinkResume,
  StreamError,
  StreamResult,
  StreamSink,
} from '@causeway/bridge';
import {
  createEncryptStream,
  type EncryptSummary,
  type EnvelopeEncryptStream,
} from '@causeway/crypto';

export interface PartSinkOptions {
  /** Where the part's ciphertext is staged until the stream is verified (encrypted bytes only). */
  stagingPath: string;
  /** The part object's own data key; the sink zeroes it when done. */
  dataKey: Buffer;
  objectId: string;
  /** The part may not carry more than this (what the upload still lacks). */
  maxSize: number;
  /** Stores the staged object and commits the part; called once, after the stream verified. */
  commit(result: StreamResult, summary: EncryptSummary): Promise<void>;
  /** Called once when the part will not be committed (the data key and object are dropped). */
  discard(): Promise<void>;
}

/**
 * Receives one upload part from a bridge stream and encrypts it as it arrives: plaintext only
 * ever lives in memory (one chunk), the staging file holds envelope ciphertext. A part is not
 * resumable within its stream (`open` always reports 0 bytes): an interrupted part is dropped
 * and sent again from the upload's committed offset under a new stream id.
 */
export class PartSink implements StreamSink {
  private encrypt: EnvelopeEncryptStream | undefined;
  private file: WriteStream | undefined;
  private written: Promise<void> | undefined;
  private received = 0;
  private done: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PartSinkOptions) {}

  open(): Promise<SinkResume> {
    if (this.encrypt) throw new Error('a part sink opens once');
    this.encrypt = createEncryptStream({
      dataKey: this.options.dataKey,
      objectId: this.options.objectId,
    });
    this.file = createWriteStream(this.options.stagingPath, { mode: 0o600, flags: 'w' });
    this.written = pipeline(this.encrypt, this.file);
    // Observed here so a failure before `finish` is never an unhandled rejection.
    this.written.catch(() => undefined);
    return Promise.resolve({ size: 0 });
  }

  async write(chunk: SinkChunk): Promise<void> {
    const encrypt = this.encrypt;
    if (!encrypt || this.closed) throw new Error('the part sink is not open');
    if (chunk.offset !== this.received) {
      throw new Error(`part chunk at ${chunk.offset}, expected ${this.received}`);
    }
    if (this.received + chunk.bytes.length > this.options.maxSize) {
      throw new Error(`the part is larger than the ${this.options.maxSize} bytes still expected`);
    }
    this.received += chunk.bytes.length;
    if (!encrypt.write(chunk.bytes)) {
      await Promise.race([once(encrypt, 'drain'), this.written]);
    }
  }

  finish(result: StreamResult): Promise<void> {
    this.done ??= this.complete(result);
    return this.done;
  }

  async abort(_error: StreamError): Promise<void> {
    await this.drop();
  }

  /** Drops the staged bytes and the data key, unless the part was committed. Idempotent. */
  async drop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.encrypt?.destroy();
    this.file?.destroy();
    await this.written?.catch(() => undefined);
    this.options.dataKey.fill(0);
    await rm(this.options.stagingPath, { force: true });
    await this.options.discard();
  }

  private async complete(result: StreamResult): Promise<void> {
    const encrypt = this.encrypt;
    if (!encrypt || this.closed) throw new Error('the part sink is not open');
    try {
      encrypt.end();
      await this.written;
      const summary = await encrypt.result();
      if (summary.plaintextBytes !== result.size || summary.plaintextSha256 !== result.sha256) {
        throw new Error('the encrypted part does not match the stream it came from');
      }
      await this.options.commit(result, summary);
      this.closed = true;
      this.options.dataKey.fill(0);
      await rm(this.options.stagingPath, { force: true });
    } catch (error) {
      await this.drop();
      throw error;
    }
  }
}
