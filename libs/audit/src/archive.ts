import { segmentKeys, type SealedSegment, type SignedManifest } from './segment';

/**
 * Where sealed segments are kept: the node's object store, a directory on the control plane,
 * later S3. Keys use `[A-Za-z0-9/_-]` only (see `segmentKeys`).
 */
export interface AuditArchive {
  put(key: string, data: Buffer): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** Keys that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Idempotent. */
  delete(key: string): Promise<void>;
}

/** One archived segment as found: either half may be missing. */
export interface ArchivedSegment {
  /** `audit/<chain>/<first>-<last>`. */
  name: string;
  signed: SignedManifest | undefined;
  data: Buffer | undefined;
}

/** A view of `archive` with every key under `prefix/` (one deployment's part of a shared store). */
export function prefixedArchive(archive: AuditArchive, prefix: string): AuditArchive {
  const strip = (key: string): string => key.slice(prefix.length + 1);
  return {
    put: (key, data) => archive.put(`${prefix}/${key}`, data),
    get: (key) => archive.get(`${prefix}/${key}`),
    list: async (p) => (await archive.list(`${prefix}/${p}`)).map(strip),
    delete: (key) => archive.delete(`${prefix}/${key}`),
  };
}

/** Writes the segment first and the manifest last: a manifest means a complete segment. */
export async function archiveSegment(
  archive: AuditArchive,
  sealed: SealedSegment,
): Promise<string> {
  const keys = segmentKeys(
    sealed.manifest.chain,
    sealed.manifest.firstSeq,
    sealed.manifest.lastSeq,
  );
  await archive.put(keys.segment, sealed.data);
  await archive.put(keys.manifest, Buffer.from(JSON.stringify(sealed.signed), 'utf8'));
  return keys.prefix;
}

export async function removeArchivedSegment(archive: AuditArchive, name: string): Promise<void> {
  // Manifest first: a segment without a manifest is ignored, the reverse would look tampered.
  await archive.delete(`${name}/manifest`);
  await archive.delete(`${name}/segment`);
}

/** A segment as listed before its bytes are read: its name and signed manifest. */
export interface ListedSegment {
  /** `audit/<chain>/<first>-<last>`. */
  name: string;
  signed: SignedManifest | undefined;
}

/**
 * How the streaming verifier reads one chain's archive: every manifest first (a few hundred
 * bytes each), then the bytes of one segment at a time, when its turn comes.
 */
export interface SegmentSource {
  /** Every segment of the chain found in the archive, by name in sequence order. */
  list(): Promise<ListedSegment[]>;
  /** The gzip'd bytes of one segment, or undefined when there are none. */
  data(name: string): Promise<Buffer | undefined>;
}

/** The segments of `chain` in `archive`, read on demand. */
export function archivedSegments(archive: AuditArchive, chain: string): SegmentSource {
  return {
    async list() {
      const keys = await archive.list(`audit/${chain}/`);
      const names = [...new Set(keys.map((k) => k.replace(/\/(segment|manifest)$/, '')))].sort();
      const out: ListedSegment[] = [];
      for (const name of names) {
        out.push({ name, signed: readSignedManifest(await archive.get(`${name}/manifest`)) });
      }
      return out;
    },
    data: (name) => archive.get(`${name}/segment`),
  };
}

/**
 * Every archived segment of a chain, in sequence order, bytes included: the whole archive in
 * memory. Verification streams through `archivedSegments` instead.
 */
export async function readArchivedChain(
  archive: AuditArchive,
  chain: string,
): Promise<ArchivedSegment[]> {
  const source = archivedSegments(archive, chain);
  const out: ArchivedSegment[] = [];
  for (const { name, signed } of await source.list()) {
    out.push({ name, signed, data: await source.data(name) });
  }
  return out;
}

function readSignedManifest(stored: Buffer | undefined): SignedManifest | undefined {
  if (!stored) return undefined;
  try {
    const v = JSON.parse(stored.toString('utf8')) as Partial<SignedManifest>;
    if (typeof v.manifest === 'string' && typeof v.signature === 'string') {
      return { manifest: v.manifest, signature: v.signature };
    }
  } catch {
    // Unparsable: reported like a missing manifest.
  }
  return undefined;
}
