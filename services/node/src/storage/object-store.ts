import type { Readable } from 'node:stream';

/**
 * Where a node keeps the (already encrypted) bytes of workspace files. Every driver behaves the
 * same way, checked by one contract suite (object-store.spec.ts), so the rest of the node never
 * needs to know which one is configured.
 *
 * Keys are internal: the node generates them (for example `<workspaceId>/<objectId>`). They are
 * still validated strictly, because a key becomes a file path or an object name.
 */
export interface ObjectStore {
  /** Which driver this is, for logs and diagnostics. */
  readonly driver: 'local' | 's3';
  /**
   * Stores exactly `size` bytes read from `source` under `key`, replacing any earlier object;
   * without `size`, whatever the source yields until it ends (a stream being encrypted as it
   * arrives, whose length is known only at its end). Atomic: a reader sees the old object or the
   * new one, never a partial one; when the source fails or yields another number of bytes than
   * `size`, nothing new is left behind.
   */
  put(key: string, source: Readable, size?: number): Promise<ObjectStat>;
  /** The object's bytes, or only `range` of them (both ends inclusive). */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** The object's size; `NOT_FOUND` when there is none. */
  stat(key: string): Promise<ObjectStat>;
  /** Removes the object; succeeds when there is none (idempotent). */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix` (a plain string prefix, as in S3), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes every object whose key starts with `prefix` (not empty); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

export interface ObjectStat {
  size: number;
}

/** A byte range; `end` is inclusive, like an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Longest key accepted; S3 allows 1024 bytes, and segment suffixes need room. */
export const MAX_KEY_LENGTH = 512;
/** Longest part between two slashes: it becomes a file name, and file systems stop at 255. */
export const MAX_SEGMENT_LENGTH = 200;

/** The drivers' stable error codes; the node maps them to bridge replies in one place. */
export type ObjectStoreErrorCode =
  'INVALID_KEY' | 'INVALID_RANGE' | 'INVALID_SIZE' | 'SIZE_MISMATCH' | 'NOT_FOUND' | 'CORRUPT';

/** The typed error every driver throws for the cases callers must tell apart. */
export class ObjectStoreError extends Error {
  readonly code: ObjectStoreErrorCode;

  constructor(code: ObjectStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectStoreError';
    this.code = code;
  }
}

export function isObjectStoreError(
  error: unknown,
  code?: ObjectStoreErrorCode,
): error is ObjectStoreError {
  return error instanceof ObjectStoreError && (code === undefined || error.code === code);
}

const KEY_CHARS = /^[A-Za-z0-9/_-]*$/;

/** Shows at most a short, printable excerpt of a refused key in an error message. */
function excerpt(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

function checkPath(value: string, what: 'key' | 'prefix'): void {
  if (typeof value !== 'string') {
    throw new ObjectStoreError('INVALID_KEY', `an object ${what} must be a string`);
  }
  if (value.length > MAX_KEY_LENGTH) {
    throw new ObjectStoreError(
      'INVALID_KEY',
      `object ${what} is longer than ${MAX_KEY_LENGTH} characters`,
    );
  }
  if (!KEY_CHARS.test(value)) {
    throw new ObjectStoreError(
      'INVALID_KEY',
      `object ${what} ${excerpt(value)} may only hold A-Z, a-z, 0-9, /, _ and -`,
    );
  }
  if (value.startsWith('/')) {
    throw new ObjectStoreError('INVALID_KEY', `object ${what} ${excerpt(value)} starts with /`);
  }
  // No '.' can pass KEY_CHARS, so '..' cannot either; '//' would name an empty path segment.
  if (value.includes('//')) {
    throw new ObjectStoreError('INVALID_KEY', `object ${what} ${excerpt(value)} holds //`);
  }
  if (value.split('/').some((segment) => segment.length > MAX_SEGMENT_LENGTH)) {
    throw new ObjectStoreError(
      'INVALID_KEY',
      `object ${what} has a part between slashes longer than ${MAX_SEGMENT_LENGTH} characters`,
    );
  }
}

/**
 * Refuses anything but `[A-Za-z0-9/_-]`, at most 512 characters (200 between slashes), no
 * leading or trailing `/`, no empty segment. Since `.` is never allowed, drivers can name their own files and objects
 * with a `.` (temporary files, segments) without ever colliding with a key.
 */
export function assertValidKey(key: string): void {
  checkPath(key, 'key');
  if (key.length === 0) throw new ObjectStoreError('INVALID_KEY', 'object key is empty');
  if (key.endsWith('/')) {
    throw new ObjectStoreError('INVALID_KEY', `object key ${excerpt(key)} ends with /`);
  }
}

/** Same alphabet as keys; may be empty (everything) and may end with `/`. */
export function assertValidPrefix(prefix: string): void {
  checkPath(prefix, 'prefix');
}

export function assertValidSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ObjectStoreError('INVALID_SIZE', `object size must be a whole number >= 0`);
  }
}

/** Checks a range against an object of `size` bytes. */
export function assertValidRange(range: ByteRange, size: number): void {
  const { start, end } = range;
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end < start ||
    end >= size
  ) {
    throw new ObjectStoreError(
      'INVALID_RANGE',
      `byte range ${String(start)}-${String(end)} is not inside an object of ${size} bytes`,
    );
  }
}

export function notFound(key: string): ObjectStoreError {
  return new ObjectStoreError('NOT_FOUND', `no object ${excerpt(key)}`);
}

export function sizeMismatch(key: string, expected: number, got: number): ObjectStoreError {
  return new ObjectStoreError(
    'SIZE_MISMATCH',
    `object ${excerpt(key)}: expected ${expected} bytes, the source ${got > expected ? 'yielded more' : `ended after ${got}`}`,
  );
}
