import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AuditArchive } from '@causeway/audit';

const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** Whether `key` is one an archive driver accepts (`AuditArchive` keys are `[A-Za-z0-9/_-]`). */
export function isAuditArchiveKey(key: string): boolean {
  return KEY.test(key);
}

/** Refuses keys outside the archive's alphabet, so no driver can be led outside its root. */
export function checkKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`invalid audit archive key ${JSON.stringify(key)}`);
}

/**
 * The control plane's audit archive in a directory (CAUSEWAY_AUDIT_ARCHIVE_DIR): one file per
 * key. Writes go to a temporary file renamed into place, so a reader never sees half a segment.
 * One host only: instances that share an archive use `S3AuditArchive`.
 */
export class DirectoryAuditArchive implements AuditArchive {
  constructor(readonly root: string) {}

  async put(key: string, data: Buffer): Promise<void> {
    checkKey(key);
    const file = join(this.root, key);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, file);
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    try {
      return await readFile(join(this.root, key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let names;
      try {
        names = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const d of names) {
        const path = join(dir, d.name);
        if (d.isDirectory()) await walk(path);
        else if (!d.name.endsWith('.tmp')) {
          const key = relative(this.root, path).split(sep).join('/');
          if (key.startsWith(prefix)) out.push(key);
        }
      }
    };
    await walk(join(this.root, base));
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await rm(join(this.root, key), { force: true });
  }
}
