import { hmacSha256Hex, randomToken, secretsEqual } from '@causeway/crypto';

/** The header that carries the signature of an alert webhook's body. */
export const SIGNATURE_HEADER = 'Causeway-Signature';

/** A new webhook signing secret: `whsec_` and 32 random bytes, base64url. Shown once. */
export function newWebhookSecret(): string {
  return `whsec_${randomToken(32)}`;
}

/**
 * The signature header value, Stripe-style: `t=<unix seconds>,v1=<hex HMAC-SHA256>` where the
 * HMAC is keyed with the secret (its UTF-8 text) over `<t>.<raw body>`. The timestamp inside
 * the signed text lets receivers refuse replays of old deliveries.
 */
export function signWebhook(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${hmacSha256Hex(secret, `${t}.${body}`)}`;
}

/**
 * What a receiver does (the admin docs show the same in plain Node): the body must be the raw
 * bytes received, the timestamp within `toleranceSeconds` of now, and one `v1` must match.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  now: Date,
  toleranceSeconds = 300,
): boolean {
  if (header === undefined) return false;
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string?]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) return false;
  if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return false;
  const expected = hmacSha256Hex(secret, `${t}.${body}`);
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && secretsEqual(v, expected));
}
