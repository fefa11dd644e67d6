import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Names of the files enrolment and renewal keep in the state directory. */
export const STATE_FILES = {
  enrolment: 'node.json',
  /** RSA key of the node certificate; proves the node when it renews. */
  certificateKey: 'node.key',
  certificate: 'node.crt',
  caChain: 'ca.crt',
  /** Ed25519 key that signs replies and heartbeats. */
  signingKey: 'signing.key',
  /** The control plane's signing keys as last received, signed by the CA. */
  trust: 'trust.json',
} as const;

/**
 * Replaces a file in one step (write a temporary file, then rename), readable by this user only,
 * so a crash never leaves a half-written key or certificate behind.
 */
export function replaceFile(stateDir: string, name: string, data: string): void {
  const target = join(stateDir, name);
  const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, data, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, target);
}
