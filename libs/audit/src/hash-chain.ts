import { createHash } from 'node:crypto';

/**
 * The hash chain under every audit log: each entry's hash covers its sequence number, the
 * previous entry's hash and its canonical content, so an edited, removed, re-ordered or
 * truncated-in-the-middle entry breaks the chain at a position `verifyChain` reports.
 */
export interface ChainedEntry {
  seq: number;
  prevHash: string;
  hash: string;
  /** Canonical JSON of the event (see `canonicalJson`). */
  body: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted, so the same event always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

export function entryHash(seq: number, prevHash: string, body: string): string {
  return createHash('sha256').update(`${seq}\n${prevHash}\n${body}`, 'utf8').digest('hex');
}

/** The entry that follows `previous` (or starts the chain when there is none). */
export function appendEntry(previous: ChainedEntry | undefined, event: unknown): ChainedEntry {
  const seq = previous ? previous.seq + 1 : 1;
  const prevHash = previous ? previous.hash : GENESIS_HASH;
  const body = canonicalJson(event);
  return { seq, prevHash, hash: entryHash(seq, prevHash, body), body };
}

export type ChainProblem =
  | { kind: 'sequence_gap'; position: number; expectedSeq: number; foundSeq: number }
  | { kind: 'broken_link'; position: number; seq: number }
  | { kind: 'hash_mismatch'; position: number; seq: number };

/** Checks a run of entries; returns the first problem with its position (0-based), or none. */
export function verifyChain(
  entries: readonly ChainedEntry[],
  anchor?: ChainedEntry,
): ChainProblem | undefined {
  let previous = anchor;
  for (const [position, entry] of entries.entries()) {
    const expectedSeq = previous ? previous.seq + 1 : 1;
    if (entry.seq !== expectedSeq)
      return { kind: 'sequence_gap', position, expectedSeq, foundSeq: entry.seq };
    if (entry.prevHash !== (previous ? previous.hash : GENESIS_HASH)) {
      return { kind: 'broken_link', position, seq: entry.seq };
    }
    if (entry.hash !== entryHash(entry.seq, entry.prevHash, entry.body)) {
      return { kind: 'hash_mismatch', position, seq: entry.seq };
    }
    previous = entry;
  }
  return undefined;
}
