/**
 * A promise settled once by a stream (on its last chunk or on its first error). It is marked as
 * handled at creation so that a stream whose caller never asks for the outcome does not raise
 * an unhandled rejection; a caller who asks still sees the rejection.
 */
export class Outcome<T> {
  readonly promise: Promise<T>;
  private settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.promise.catch(() => undefined);
  }

  resolve(value: T): void {
    this.settle.resolve(value);
  }

  reject(error: unknown): void {
    this.settle.reject(error);
  }
}

/**
 * Bytes received but not yet consumed, kept as the buffers that arrived (no copy until taken).
 * Consumed buffers are dropped by moving a head index, so many tiny writes stay linear.
 */
export class ByteQueue {
  private parts: Buffer[] = [];
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  /** Removes and returns the first `n` bytes (`n <= length`), copying only across buffers. */
  take(n: number): Buffer {
    const first = this.parts[this.head];
    let out: Buffer;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      this.consume(first, n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const part = this.parts[this.head];
        const count = Math.min(part.length, n - filled);
        part.copy(out, filled, 0, count);
        filled += count;
        this.consume(part, count);
      }
    }
    this.size -= n;
    if (this.head === this.parts.length) {
      this.parts = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.parts.length) {
      this.parts = this.parts.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Removes and returns everything held. */
  takeAll(): Buffer {
    return this.take(this.size);
  }

  private consume(part: Buffer, count: number): void {
    if (count === part.length) {
      this.parts[this.head] = EMPTY;
      this.head += 1;
    } else {
      this.parts[this.head] = part.subarray(count);
    }
  }
}

const EMPTY = Buffer.alloc(0);
