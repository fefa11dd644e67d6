/** An inclusive byte range inside a file. */
export interface ByteRange {
  start: number;
  end: number;
}

const DIGITS = /^\d+$/;

/**
 * Reads a `Range` header against a file of `size` bytes (RFC 9110 §14.2): one range of the
 * forms `bytes=a-b`, `bytes=a-` and `bytes=-n`. Returns `undefined` when the whole file should
 * be sent (no header, another unit, several ranges or a malformed one, which the RFC lets a
 * server ignore), and `'unsatisfiable'` when the range lies outside the file (416).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=([^,]*)$/.exec(header.trim());
  if (!match?.[1]) return undefined;
  const [first = '', last = ''] = match[1]
    .trim()
    .split('-', 2)
    .map((s) => s.trim());
  if (!match[1].includes('-')) return undefined;
  if (first === '') {
    if (!DIGITS.test(last)) return undefined;
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return undefined;
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return undefined;
  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
  if (last !== '' && end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** A `Content-Disposition: attachment` value that no file name can break out of. */
export function attachmentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_').replace(/^[.\s]+/, '') || 'download';
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
