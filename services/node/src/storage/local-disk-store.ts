import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  assertValidSize,
  notFound,
  ObjectStoreError,
  sizeMismatch,
  type ByteRange,
  type ObjectStat,
  type ObjectStore,
} from './object-store';

/**
 * Suffix of every object file. Keys never contain `.`, so `a` (file `a.obj`) and `a/b`
 * (directory `a/`) can coexist, as they can in S3, and temporary files (`.<name>.tmp-...`)
 * never look like objects.
 */
const OBJECT_SUFFIX = '.obj';

/**
 * Bytes per read of an object: one envelope chunk record of the default chunk size (1 MiB of
 * plaintext + 28 bytes, libs/crypto/src/envelope/FORMAT.md) rather than the 64 KiB default. A
 * read of the records (from byte 12, after the header) then hands the decryptor whole records it
 * can take without copying, and a download makes 16 times fewer reads and stream hand-offs.
 */
const READ_BUFFER_BYTES = 1024 * 1024 + 28;

/** A put starts flushing what it wrote to disk (in the background) after each this many bytes. */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

function isErrno(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    codes.includes((error as NodeJS.ErrnoException).code ?? '')
  );
}

/**
 * Objects as files under one root directory (mode 700 directories, 600 files). A put writes a
 * temporary file in the target directory, fsyncs it, renames it over the target and fsyncs the
 * directory, so a crash leaves the old object or the new one, plus at worst a temporary file.
 */
export class LocalDiskStore implements ObjectStore {
  readonly driver = 'local' as const;
  private readonly root: string;
  private realRoot: Promise<string> | undefined;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file that holds `key`, for operators and tests; the key is validated first. */
  pathOf(key: string): string {
    assertValidKey(key);
    const path = resolve(this.root, key + OBJECT_SUFFIX);
    if (!path.startsWith(this.root + sep)) throw notFound(key);
    return path;
  }

  async put(key: string, source: Readable, size?: number): Promise<ObjectStat> {
    const target = this.pathOf(key);
    if (size !== undefined) assertValidSize(size);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.assertInsideRoot(dir);
    const temp = join(dir, `.tmp-${randomBytes(12).toString('hex')}`);
    const file = await open(temp, 'wx', 0o600);
    let written = 0;
    // Flushes started while writing go on in the background, so the disk works while the
    // source still produces and the last `sync` has little left to write. Their errors are kept
    // and thrown (an fsync error is reported once: it must not be lost).
    let flushed = 0;
    let flushing: Promise<unknown> | undefined;
    let flushError: Error | undefined;
    const flush = (): void => {
      flushed = written;
      flushing = file.datasync().then(
        () => (flushing = undefined),
        (error: unknown) => {
          flushError ??= error instanceof Error ? error : new Error(String(error));
          flushing = undefined;
        },
      );
    };
    try {
      try {
        for await (const chunk of source) {
          const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
          written += buffer.length;
          if (size !== undefined && written > size) throw sizeMismatch(key, size, written);
          let offset = 0;
          while (offset < buffer.length) {
            const { bytesWritten } = await file.write(buffer, offset);
            offset += bytesWritten;
          }
          if (flushError !== undefined) throw flushError;
          if (!flushing && written - flushed >= FLUSH_EVERY_BYTES) flush();
        }
        if (size !== undefined && written !== size) throw sizeMismatch(key, size, written);
        await flushing;
        if (flushError !== undefined) throw flushError;
        await file.sync();
      } finally {
        await flushing;
        await file.close();
      }
      await rename(temp, target);
    } catch (error) {
      source.destroy();
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await this.syncDirectory(dir);
    return { size: written };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    // Open first, then check size on the same descriptor: a concurrent rename cannot mix files.
    // O_NOFOLLOW: an object file that is a symbolic link is refused, not followed.
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      (error: unknown) => {
        throw isErrno(error, 'ENOENT', 'ENOTDIR') ? notFound(key) : error;
      },
    );
    try {
      await this.assertInsideRoot(dirname(path));
      const { size } = await file.stat();
      if (range) assertValidRange(range, size);
      return file.createReadStream({
        start: range?.start,
        end: range?.end,
        autoClose: true,
        highWaterMark: READ_BUFFER_BYTES,
      });
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectStat> {
    const path = this.pathOf(key);
    try {
      const info = await lstat(path);
      if (!info.isFile()) throw notFound(key);
      return { size: info.size };
    } catch (error) {
      throw isErrno(error, 'ENOENT', 'ENOTDIR') ? notFound(key) : error;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    await this.syncDirectory(dirname(path));
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const keys: string[] = [];
    const start = resolve(this.root, prefix.slice(0, prefix.lastIndexOf('/') + 1));
    await this.walk(start, (file) => {
      const key = relative(this.root, file).split(sep).join('/').slice(0, -OBJECT_SUFFIX.length);
      if (key.startsWith(prefix)) keys.push(key);
    });
    return keys.sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    if (prefix === '') {
      throw new ObjectStoreError('INVALID_KEY', 'refusing to delete with an empty prefix');
    }
    let removed = 0;
    for (const key of await this.list(prefix)) {
      await this.delete(key);
      removed += 1;
    }
    await this.pruneEmptyDirectories(
      resolve(this.root, prefix.slice(0, prefix.lastIndexOf('/') + 1)),
    );
    return removed;
  }

  /** Visits every object file below `dir`; skips temporary files and unknown entries. */
  private async walk(dir: string, visit: (file: string) => void): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await this.walk(path, visit);
      } else if (
        entry.isFile() &&
        !entry.name.startsWith('.') &&
        entry.name.endsWith(OBJECT_SUFFIX)
      ) {
        visit(path);
      }
    }
  }

  /** Removes directories left empty below the root, deepest first; never the root itself. */
  private async pruneEmptyDirectories(dir: string): Promise<void> {
    if (dir !== this.root && !dir.startsWith(this.root + sep)) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) await this.pruneEmptyDirectories(join(dir, entry.name));
    }
    if (dir === this.root) return;
    await rmdir(dir).catch(() => undefined);
  }

  /** Refuses a directory that a symbolic link placed outside the root. */
  private async assertInsideRoot(dir: string): Promise<void> {
    this.realRoot ??= mkdir(this.root, { recursive: true, mode: 0o700 }).then(() =>
      realpath(this.root),
    );
    const root = await this.realRoot;
    const real = await realpath(dir);
    if (real !== root && !real.startsWith(root + sep)) {
      throw new Error(`storage directory ${dir} resolves outside the storage root`);
    }
  }

  private async syncDirectory(dir: string): Promise<void> {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
