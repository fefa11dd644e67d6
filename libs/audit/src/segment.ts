import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { canonicalJson, type ChainedEntry } from './hash-chain';

/**
 * A sealed segment: the entries of one chain since the previous seal, as gzip'd JSONL (one
 * `ChainedEntry` per line, in sequence order), and a manifest that pins them down (range, first
 * previous hash, last hash, SHA-256 of the compressed bytes) signed with Ed25519. Consecutive
 * manifests link up: a segment's `firstPrevHash` is the previous one's `lastHash`.
 * See docs/design/audit-chain.md.
 */
export interface SegmentManifest {
  version: 1;
  /** Which chain: a tenant id, `platform`, or `node`. */
  chain: string;
  firstSeq: number;
  lastSeq: number;
  firstPrevHash: string;
  lastHash: string;
  count: number;
  /** SHA-256 (hex) of the gzip'd JSONL bytes as archived. */
  segmentSha256: string;
  /** Time of the first and last entry (ISO 8601). */
  firstAt: string;
  lastAt: string;
  sealedAt: string;
  /** Id of the Ed25519 key that signed the manifest. */
  keyId: string;
}

/** The manifest as archived: its canonical JSON and the signature over exactly those bytes. */
export interface SignedManifest {
  manifest: string;
  /** Ed25519 signature, base64. */
  signature: string;
}

export interface SealedSegment {
  manifest: SegmentManifest;
  signed: SignedManifest;
  /** The gzip'd JSONL bytes. */
  data: Buffer;
}

export interface SegmentSigner {
  keyId: string;
  privateKey: KeyObject;
}

/** Seals a non-empty run of consecutive entries. `at` reads an entry's time. */
export function sealSegment(
  chain: string,
  entries: readonly ChainedEntry[],
  options: { signer: SegmentSigner; sealedAt: Date; at: (entry: ChainedEntry) => string },
): SealedSegment {
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (!first || !last) throw new Error('a segment needs at least one entry');
  const data = encodeSegment(entries);
  const manifest: SegmentManifest = {
    version: 1,
    chain,
    firstSeq: first.seq,
    lastSeq: last.seq,
    firstPrevHash: first.prevHash,
    lastHash: last.hash,
    count: entries.length,
    segmentSha256: sha256Hex(data),
    firstAt: options.at(first),
    lastAt: options.at(last),
    sealedAt: options.sealedAt.toISOString(),
    keyId: options.signer.keyId,
  };
  const text = canonicalJson(manifest);
  const signature = sign(null, Buffer.from(text, 'utf8'), options.signer.privateKey);
  return { manifest, signed: { manifest: text, signature: signature.toString('base64') }, data };
}

export function encodeSegment(entries: readonly ChainedEntry[]): Buffer {
  const lines = entries.map((e) =>
    JSON.stringify({ seq: e.seq, prevHash: e.prevHash, hash: e.hash, body: e.body }),
  );
  return gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8'));
}

/** The entries of a segment; throws when the bytes are not gzip'd JSONL of entries. */
const DECODE_BATCH = 4096;

export function decodeSegment(data: Buffer): ChainedEntry[] {
  const text = gunzipSync(data).toString('utf8').trim();
  if (text === '') return [];
  // Lines parsed as arrays of a few thousand: much faster than a parse per line, without one
  // string the size of the whole segment.
  const lines = text.split('\n');
  const entries: ChainedEntry[] = [];
  for (let i = 0; i < lines.length; i += DECODE_BATCH) {
    const batch = JSON.parse(`[${lines.slice(i, i + DECODE_BATCH).join(',')}]`) as Array<
      Partial<ChainedEntry>
    >;
    for (const v of batch) {
      if (
        typeof v.seq !== 'number' ||
        typeof v.prevHash !== 'string' ||
        typeof v.hash !== 'string' ||
        typeof v.body !== 'string'
      ) {
        throw new Error('a segment line is not an audit entry');
      }
      entries.push({ seq: v.seq, prevHash: v.prevHash, hash: v.hash, body: v.body });
    }
  }
  return entries;
}

/** The manifest if the signature verifies with `publicKey`, else undefined. */
export function openManifest(
  signed: SignedManifest,
  publicKey: KeyObject,
): SegmentManifest | undefined {
  let ok = false;
  try {
    ok = verify(
      null,
      Buffer.from(signed.manifest, 'utf8'),
      publicKey,
      Buffer.from(signed.signature, 'base64'),
    );
  } catch {
    ok = false;
  }
  return ok ? parseManifest(signed.manifest) : undefined;
}

/** Reads a manifest without checking its signature (to learn its key id and range). */
export function parseManifest(text: string): SegmentManifest | undefined {
  try {
    const m = JSON.parse(text) as Partial<SegmentManifest>;
    if (
      m.version !== 1 ||
      typeof m.chain !== 'string' ||
      !Number.isSafeInteger(m.firstSeq) ||
      !Number.isSafeInteger(m.lastSeq) ||
      typeof m.firstPrevHash !== 'string' ||
      typeof m.lastHash !== 'string' ||
      typeof m.segmentSha256 !== 'string' ||
      typeof m.keyId !== 'string'
    ) {
      return undefined;
    }
    return m as SegmentManifest;
  } catch {
    return undefined;
  }
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Object names of a segment in an archive: `audit/<chain>/<first>-<last>/{segment,manifest}`. */
export function segmentKeys(
  chain: string,
  firstSeq: number,
  lastSeq: number,
): { prefix: string; segment: string; manifest: string } {
  const prefix = `audit/${chain}/${pad(firstSeq)}-${pad(lastSeq)}`;
  return { prefix, segment: `${prefix}/segment`, manifest: `${prefix}/manifest` };
}

function pad(n: number): string {
  return String(n).padStart(12, '0');
}
