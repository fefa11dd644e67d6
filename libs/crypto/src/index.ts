import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** A random secret of `bytes` bytes, URL-safe (base64url). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Compares two secrets in constant time. Both are hashed first so that neither the content
 * nor the length of the expected secret leaks through timing.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** SHA-256 of the input, hex-encoded. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
export * from './pki';
export * from './signing';
export * from './envelope';

/** A string of `length` characters drawn uniformly from `alphabet` (no modulo bias). */
export function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A code of `digits` decimal digits, leading zeros kept (emailed one-time codes). */
export function randomDigits(digits: number): string {
  return randomString('0123456789', digits);
}

/** HMAC-SHA256 of `data` under `key`, hex-encoded. */
export function hmacSha256Hex(key: Uint8Array | string, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex');
}
