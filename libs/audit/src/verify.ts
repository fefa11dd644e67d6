import type { KeyObject } from 'node:crypto';
import type { ArchivedSegment } from './archive';
import { GENESIS_HASH, entryHash, type ChainedEntry } from './hash-chain';
import { decodeSegment, openManifest, parseManifest, sha256Hex } from './segment';

/**
 * What `verifyAuditTrail` can find wrong. Entries: `edited` (content or a recomputed hash no
 * longer linked), `removed` (a gap in the sequence), `reordered` (an entry out of sequence order,
 * or one moved to another sequence number), `truncated` (entries missing at the end of a segment
 * or of the live log). Segments: `bad_signature`, `segment_hash_mismatch`, `missing_segment`,
 * `unreadable_segment`.
 */
export type AuditProblemKind =
  | 'edited'
  | 'removed'
  | 'reordered'
  | 'truncated'
  | 'bad_signature'
  | 'segment_hash_mismatch'
  | 'missing_segment'
  | 'unreadable_segment';

export interface AuditProblem {
  kind: AuditProblemKind;
  chain: string;
  /** Where it was found: the live log or an archived segment. */
  where: 'live' | 'segment';
  /** The segment's name (`audit/<chain>/<first>-<last>`) when in a segment. */
  segment?: string;
  /** The sequence number concerned (the first of a range). */
  seq?: number;
  /** 0-based position in the live log as stored, or in the segment's lines. */
  index?: number;
  detail: string;
}

export interface AuditVerifyReport {
  chain: string;
  ok: boolean;
  /** Entries checked, live and archived. */
  entries: number;
  segments: number;
  problems: AuditProblem[];
  /** True when more problems were found than reported. */
  problemsCapped: boolean;
}

export interface ChainPoint {
  seq: number;
  hash: string;
}

export interface VerifyAuditInput {
  chain: string;
  /** Archived segments as read from storage (`readArchivedChain`). */
  segments: readonly ArchivedSegment[];
  /** Names of segments the log's own index says were archived (missing ones are reported). */
  indexedSegments?: readonly string[];
  /** The live entries in the order they are stored. */
  live: readonly ChainedEntry[];
  /** Public keys that may sign manifests, by key id. */
  keys: ReadonlyMap<string, KeyObject>;
  /** The last entry removed by retention (their segments are gone legitimately). */
  anchor?: ChainPoint;
  /** The chain head as recorded at append time: entries up to it must exist. */
  head?: ChainPoint;
  /** At most this many problems are listed (default 1000). */
  maxProblems?: number;
}

const GENESIS: ChainPoint = { seq: 0, hash: GENESIS_HASH };

/**
 * Checks archived segments (signature, SHA-256, their entries, continuity from one to the next)
 * and the live log (its entries, its continuity with the archive, its head), and lists every
 * problem with its position rather than stopping at the first.
 */
export function verifyAuditTrail(input: VerifyAuditInput): AuditVerifyReport {
  const { chain } = input;
  const max = input.maxProblems ?? 1000;
  const problems: AuditProblem[] = [];
  let capped = false;
  const report = (p: Omit<AuditProblem, 'chain'>): void => {
    if (problems.length >= max) capped = true;
    else problems.push({ chain, ...p });
  };

  let expected = input.anchor ?? GENESIS;
  const archived = new Map<number, string>();
  const decoded: ChainedEntry[][] = [];
  let entries = 0;

  const parsed = input.segments.map((s) => {
    const manifest = s.signed ? parseManifest(s.signed.manifest) : undefined;
    return { s, manifest };
  });
  for (const { s, manifest } of parsed) {
    if (!s.signed || !manifest) {
      report({
        kind: s.signed ? 'unreadable_segment' : 'missing_segment',
        where: 'segment',
        segment: s.name,
        detail: s.signed ? 'the manifest cannot be read' : 'the manifest is missing',
      });
    }
  }
  const found = new Set(input.segments.map((s) => s.name));
  for (const name of input.indexedSegments ?? []) {
    if (!found.has(name)) {
      report({
        kind: 'missing_segment',
        where: 'segment',
        segment: name,
        seq: Number(/\/(\d+)-\d+$/.exec(name)?.[1] ?? NaN) || undefined,
        detail: 'the log index lists this segment but the archive does not hold it',
      });
    }
  }

  const readable = parsed
    .filter((p) => p.manifest !== undefined && p.s.signed !== undefined)
    .sort((a, b) => a.manifest!.firstSeq - b.manifest!.firstSeq);
  for (const { s, manifest: m } of readable) {
    const manifest = m!;
    const at = { where: 'segment' as const, segment: s.name };
    const key = input.keys.get(manifest.keyId);
    if (manifest.chain !== chain) {
      report({ kind: 'edited', ...at, detail: `the manifest names chain ${manifest.chain}` });
    }
    if (!key || !openManifest(s.signed!, key)) {
      report({
        kind: 'bad_signature',
        ...at,
        seq: manifest.firstSeq,
        detail: key
          ? 'the manifest signature does not verify'
          : `the manifest is signed by unknown key ${manifest.keyId}`,
      });
    }
    if (manifest.firstSeq > expected.seq + 1) {
      report({
        kind: 'missing_segment',
        ...at,
        seq: expected.seq + 1,
        detail: `entries ${expected.seq + 1}-${manifest.firstSeq - 1} are in no segment`,
      });
    } else if (manifest.firstSeq <= expected.seq) {
      report({
        kind: 'reordered',
        ...at,
        seq: manifest.firstSeq,
        detail: `the segment overlaps the previous one (which ends at ${expected.seq})`,
      });
    } else if (manifest.firstPrevHash !== expected.hash) {
      report({
        kind: 'edited',
        ...at,
        seq: manifest.firstSeq,
        detail: 'the segment does not continue the previous one (previous hash differs)',
      });
    }
    expected = { seq: manifest.lastSeq, hash: manifest.lastHash };
    if (!s.data) {
      report({ kind: 'missing_segment', ...at, seq: manifest.firstSeq, detail: 'data missing' });
      continue;
    }
    if (sha256Hex(s.data) !== manifest.segmentSha256) {
      report({
        kind: 'segment_hash_mismatch',
        ...at,
        seq: manifest.firstSeq,
        detail: 'the segment bytes differ from the SHA-256 in its manifest',
      });
    }
    let list: ChainedEntry[];
    try {
      list = decodeSegment(s.data);
    } catch {
      report({ kind: 'unreadable_segment', ...at, detail: 'not gzip-compressed audit entries' });
      continue;
    }
    entries += list.length;
    checkRun(
      list,
      { seq: manifest.firstSeq - 1, hash: manifest.firstPrevHash },
      { seq: manifest.lastSeq, hash: manifest.lastHash },
      (p) => report({ ...at, ...p }),
    );
    // Kept only when the live log may overlap the archive (to compare the two copies).
    if (input.live.length > 0) decoded.push(list);
  }
  // Hashes of archived entries the live log may overlap (rows kept until retention).
  const liveFrom = (input.live[0]?.seq ?? Infinity) - 1;
  for (const list of decoded) {
    for (const e of list) if (e.seq >= liveFrom) archived.set(e.seq, e.hash);
  }

  const live = input.live;
  entries += live.length;
  const liveAt = { where: 'live' as const };
  if (live.length > 0) {
    const before = live[0].seq - 1;
    let start: ChainPoint;
    const known =
      before === 0
        ? GENESIS_HASH
        : before === input.anchor?.seq
          ? input.anchor.hash
          : before === expected.seq
            ? expected.hash
            : archived.get(before);
    if (known !== undefined) {
      start = { seq: before, hash: known };
    } else {
      if (before > expected.seq) {
        report({
          kind: 'removed',
          ...liveAt,
          seq: expected.seq + 1,
          index: 0,
          detail: `entries ${expected.seq + 1}-${before} are neither archived nor live`,
        });
      }
      start = { seq: before, hash: live[0].prevHash };
    }
    checkRun(live, start, input.head, (p) => report({ ...liveAt, ...p }));
    for (const [index, e] of live.entries()) {
      const copy = archived.get(e.seq);
      if (copy !== undefined && copy !== e.hash) {
        report({
          kind: 'edited',
          ...liveAt,
          seq: e.seq,
          index,
          detail: 'the live entry differs from its archived copy',
        });
      }
    }
  } else if (input.head && input.head.seq > expected.seq) {
    report({
      kind: 'truncated',
      ...liveAt,
      seq: expected.seq + 1,
      detail: `entries ${expected.seq + 1}-${input.head.seq} are missing at the end`,
    });
  }

  return {
    chain,
    ok: problems.length === 0,
    entries,
    segments: input.segments.length,
    problems,
    problemsCapped: capped,
  };
}

type Found = Omit<AuditProblem, 'chain' | 'where' | 'segment'>;

/**
 * Checks one run of entries that should continue `start` and (when given) end at `end`. Every
 * problem is reported; after one, checking goes on from the entries as found.
 */
export function checkRun(
  entries: readonly ChainedEntry[],
  start: ChainPoint,
  end: ChainPoint | undefined,
  report: (problem: Found) => void,
): void {
  if (intact(entries, start, end)) return;
  const bySeq = new Map<number, ChainedEntry>();
  const byHash = new Map<string, number>([[start.hash, start.seq]]);
  for (const e of entries) {
    if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
    byHash.set(e.hash, e.seq);
  }
  let maxSeen = start.seq;
  for (const [index, e] of entries.entries()) {
    if (e.seq <= maxSeen) {
      report({
        kind: 'reordered',
        seq: e.seq,
        index,
        detail: `entry ${e.seq} is stored after entry ${maxSeen}`,
      });
    }
    maxSeen = Math.max(maxSeen, e.seq);
    if (e.hash !== entryHash(e.seq, e.prevHash, e.body)) {
      const home = originalSeq(e, byHash);
      if (home !== undefined) {
        report({
          kind: 'reordered',
          seq: e.seq,
          index,
          detail: `entry ${e.seq} holds the entry that belongs at ${home}`,
        });
      } else {
        report({
          kind: 'edited',
          seq: e.seq,
          index,
          detail: `entry ${e.seq} does not match its hash`,
        });
      }
      continue;
    }
    const previous = e.seq === start.seq + 1 ? start.hash : bySeq.get(e.seq - 1)?.hash;
    if (previous !== undefined && e.prevHash !== previous) {
      report({
        kind: 'edited',
        seq: e.seq - 1,
        index: Math.max(0, index - 1),
        detail: `entry ${e.seq} links to another version of entry ${e.seq - 1} (its hash was recomputed)`,
      });
    }
  }
  let missingFrom: number | undefined;
  for (let s = start.seq + 1; s <= maxSeen + 1; s += 1) {
    const present = bySeq.has(s) || s > maxSeen;
    if (!present && missingFrom === undefined) missingFrom = s;
    if (present && missingFrom !== undefined) {
      report({
        kind: 'removed',
        seq: missingFrom,
        index: indexOfNext(entries, missingFrom),
        detail:
          missingFrom === s - 1
            ? `entry ${missingFrom} is missing`
            : `entries ${missingFrom}-${s - 1} are missing`,
      });
      missingFrom = undefined;
    }
  }
  if (end && end.seq > maxSeen) {
    report({
      kind: 'truncated',
      seq: maxSeen + 1,
      index: entries.length,
      detail: `entries ${maxSeen + 1}-${end.seq} are missing at the end`,
    });
  } else if (end && end.seq === maxSeen && bySeq.get(end.seq)?.hash !== end.hash) {
    report({
      kind: 'edited',
      seq: end.seq,
      detail: `the last entry differs from the recorded head`,
    });
  }
}

/**
 * Where an entry whose hash fails at its own sequence number really belongs: after the entry
 * its previous hash names, or a few places away (renumbered after a removal); else undefined.
 */
function originalSeq(e: ChainedEntry, byHash: ReadonlyMap<string, number>): number | undefined {
  const after = byHash.get(e.prevHash);
  const candidates = after !== undefined ? [after + 1] : [];
  for (const d of [1, -1, 2, -2, 3, -3]) candidates.push(e.seq + d);
  return candidates.find(
    (s) => s !== e.seq && s > 0 && entryHash(s, e.prevHash, e.body) === e.hash,
  );
}

/** The fast path: entries in order, linked and matching their hashes, ending at `end`. */
function intact(
  entries: readonly ChainedEntry[],
  start: ChainPoint,
  end: ChainPoint | undefined,
): boolean {
  let previous = start;
  for (const e of entries) {
    if (e.seq !== previous.seq + 1 || e.prevHash !== previous.hash) return false;
    if (e.hash !== entryHash(e.seq, e.prevHash, e.body)) return false;
    previous = e;
  }
  return !end || (end.seq === previous.seq && end.hash === previous.hash);
}

function indexOfNext(entries: readonly ChainedEntry[], seq: number): number {
  const i = entries.findIndex((e) => e.seq > seq);
  return i === -1 ? entries.length : i;
}
