import type { ZodType } from 'zod';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string; detail: string };

/**
 * Parses a message body as JSON and validates it. Never throws: a malformed message is a value
 * the caller dead-letters, not an exception that could take a consumer down.
 */
export function decode<T>(content: Buffer, schema: ZodType<T>): Decoded<T> {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid_json', detail: 'The message body is not valid JSON.' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return {
      ok: false,
      reason: 'invalid_envelope',
      detail: `The message does not match the bridge envelope schema: ${issues}`,
    };
  }
  return { ok: true, value: parsed.data };
}

export function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
