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

/** Every archived segment of a chain, in sequence order. */
export async function readArchivedChain(
  archive: AuditArchive,
  chain: string,
): Promise<ArchivedSegment[]> {
  const keys = await archive.list(`audit/${chain}/`);
  const names = [...new Set(keys.map((k) => k.replace(/\/(segment|manifest)$/, '')))].sort();
  const out: ArchivedSegment[] = [];
  for (const name of names) {
    const manifest = await archive.get(`${name}/manifest`);
    let signed: SignedManifest | undefined;
    if (manifest) {
      try {
        const v = JSON.parse(manifest.toString('utf8')) as Partial<SignedManifest>;
        if (typeof v.manifest === 'string' && typeof v.signature === 'string') {
          signed = { manifest: v.manifest, signature: v.signature };
        }
      } catch {
        signed = undefined;
      }
    }
    out.push({ name, signed, data: await archive.get(`${name}/segment`) });
  }
  return out;
}
