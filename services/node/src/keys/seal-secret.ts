import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { SealingSecret } from '@causeway/crypto';
import { KeysError } from './keys.errors';

/** The key file used when CAUSEWAY_NODE_SEAL_KEY is empty. */
export const SEAL_KEY_FILE = 'master-seal.key';
export const MIN_SEAL_PASSPHRASE_LENGTH = 16;
const KEY_FILE_BYTES = 32;

/**
 * The secret that seals the node's keystore: the passphrase from CAUSEWAY_NODE_SEAL_KEY when it
 * is set, otherwise a random 32-byte key kept in `master-seal.key` (mode 600) in the state
 * directory, created on first start. The key file lives beside node.db, so a copy of the whole
 * state directory opens every key: it protects a stolen node.db or backup of it, not a stolen
 * disk. A passphrase kept elsewhere protects both. See docs/operator/keys.md.
 */
export function resolveNodeSealSecret(options: {
  nodeSealKey: string;
  stateDir: string;
}): SealingSecret {
  if (options.nodeSealKey !== '') {
    if (options.nodeSealKey.length < MIN_SEAL_PASSPHRASE_LENGTH) {
      throw new KeysError(
        'invalid_argument',
        `CAUSEWAY_NODE_SEAL_KEY needs at least ${MIN_SEAL_PASSPHRASE_LENGTH} characters.`,
      );
    }
    return options.nodeSealKey;
  }
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const file = join(options.stateDir, SEAL_KEY_FILE);
  createKeyFileIfAbsent(file);
  return readKeyFile(file);
}

/**
 * Writes a fresh key to a temporary file, flushes it, then links it into place: the link fails
 * if the file exists, so two starting processes cannot overwrite each other's key and a crash
 * never leaves a half-written key file under the real name.
 */
function createKeyFileIfAbsent(file: string): void {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const key = randomBytes(KEY_FILE_BYTES);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    key.fill(0);
  }
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temp);
  }
}

function readKeyFile(file: string): Buffer {
  const stat = statSync(file);
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new KeysError(
      'seal_key_file_invalid',
      `${file} is readable by other users; restrict it with "chmod 600 ${file}".`,
    );
  }
  const key = readFileSync(file);
  if (key.length !== KEY_FILE_BYTES) {
    key.fill(0);
    throw new KeysError(
      'seal_key_file_invalid',
      `${file} must hold exactly ${KEY_FILE_BYTES} bytes; restore it from your backup.`,
    );
  }
  return key;
}
