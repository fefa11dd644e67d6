import type { KeyObject } from 'node:crypto';
import type { ArchivedSegment, ListedSegment, SegmentSource } from './archive';
import { GENESIS_HASH, entryHash, type ChainedEntry } from './hash-chain';
import {
  decodeSegment,
  decodeSegmentStream,
  openManifest,
  parseManifest,
  sha256Hex,
} from './segment';

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

/** What both forms of verification take besides the segments and the live log. */
export interface AuditVerifyOptions {
  chain: string;
  /** Names of segments the log's own index says were archived (missing ones are reported). */
  indexedSegments?: readonly string[];
  /** Public keys that may sign manifests, by key id. */
  keys: ReadonlyMap<string, KeyObject>;
  /** The last entry removed by retention (their segments are gone legitimately). */
  anchor?: ChainPoint;
  /** The chain head as recorded at append time: entries up to it must exist. */
  head?: ChainPoint;
  /** At most this many problems are listed (default 1000). */
  maxProblems?: number;
}

export interface VerifyAuditInput extends AuditVerifyOptions {
  /** Archived segments as read from storage (`readArchivedChain`). */
  segments: readonly ArchivedSegment[];
  /** The live entries in the order they are stored. */
  live: readonly ChainedEntry[];
}

/** The live log as pages of entries in stored order. */
export type LivePages = Iterable<readonly ChainedEntry[]> | AsyncIterable<readonly ChainedEntry[]>;

/** Reported after each segment and each page of the live log. */
export interface AuditVerifyProgress {
  /** Segments whose bytes were checked so far. */
  segments: number;
  /** Entries checked so far, archived and live. */
  entries: number;
  /** What was just checked: a segment (by name) or a page of the live log. */
  done: { where: 'segment'; segment: string } | { where: 'live'; page: number };
}

export interface VerifyAuditStreamInput extends AuditVerifyOptions {
  /** The chain's archive (`archivedSegments`): manifests first, then one segment at a time. */
  segments: SegmentSource;
  /**
   * Opens the live log from its start. Read once, a page at a time; opened a second time only
   * when the streaming checks find a problem in it (or cannot vouch for its overlap with the
   * archive), for the detailed report, which then holds the live log in memory.
   */
  live: () => LivePages;
  onProgress?: (progress: AuditVerifyProgress) => void;
}

const GENESIS: ChainPoint = { seq: 0, hash: GENESIS_HASH };

/**
 * Checks archived segments (signature, SHA-256, their entries, continuity from one to the next)
 * and the live log (its entries, its continuity with the archive, its head), and lists every
 * problem with its position rather than stopping at the first. Everything is in memory already;
 * `verifyAuditTrailStream` is the same check reading from storage as it goes.
 */
export function verifyAuditTrail(input: VerifyAuditInput): AuditVerifyReport {
  let decoding: Buffer | undefined;
  let livePage = 0;
  return runSync(verifySteps(input), (step) => {
    switch (step.op) {
      case 'list':
        return input.segments.map(({ name, signed }) => ({ name, signed }));
      case 'data':
        return input.segments[step.index]?.data;
      case 'decode':
        decoding = step.data;
        return undefined;
      case 'batch': {
        const data = decoding;
        decoding = undefined;
        return data ? decodeSegment(data) : undefined;
      }
      case 'live':
        livePage = 0;
        return undefined;
      case 'page':
        livePage += 1;
        return livePage === 1 ? input.live : undefined;
    }
  });
}

/**
 * `verifyAuditTrail` over storage, in memory that does not grow with the chain while it is
 * intact: manifests are read first, then each segment's bytes when its turn comes (signature,
 * SHA-256, then entries decoded from a gunzip stream batch by batch), then the live log page by
 * page, holding one segment's bytes, one batch and one page at a time. It reports the same
 * problems, in the same order, as `verifyAuditTrail`. When a segment fails the streaming check it
 * is decoded whole for the detailed report (bounded by the seal size); when the live log does,
 * it is read again into memory with the archived hashes it overlaps, as all verification once
 * was: a tampered log costs what it always cost, an intact one costs one segment.
 */
export async function verifyAuditTrailStream(
  input: VerifyAuditStreamInput,
): Promise<AuditVerifyReport> {
  let decoder: AsyncGenerator<ChainedEntry[], void, undefined> | undefined;
  let pages: AsyncIterator<readonly ChainedEntry[]> | Iterator<readonly ChainedEntry[]> | undefined;
  try {
    return await runAsync(verifySteps(input, input.onProgress), async (step) => {
      switch (step.op) {
        case 'list':
          return input.segments.list();
        case 'data':
          return input.segments.data(step.name);
        case 'decode':
          await decoder?.return();
          decoder = decodeSegmentStream(step.data);
          return undefined;
        case 'batch': {
          if (!decoder) return undefined;
          const next = await decoder.next();
          if (next.done) decoder = undefined;
          return next.done ? undefined : next.value;
        }
        case 'live': {
          await pages?.return?.();
          const source = input.live();
          pages =
            Symbol.asyncIterator in source
              ? source[Symbol.asyncIterator]()
              : source[Symbol.iterator]();
          return undefined;
        }
        case 'page': {
          if (!pages) return undefined;
          const next = await pages.next();
          return next.done ? undefined : next.value;
        }
      }
    });
  } finally {
    // Closes what an error left open (a page query, a gunzip stream).
    await decoder?.return();
    await pages?.return?.();
  }
}

/**
 * What the verification asks of its storage. The check itself (`verifySteps`) is one generator
 * that yields these and is resumed with the answer, so the in-memory and the streaming forms
 * share every rule and differ only in how they answer.
 */
type Step =
  | { op: 'list' }
  | { op: 'data'; index: number; name: string }
  | { op: 'decode'; data: Buffer }
  | { op: 'batch' }
  | { op: 'live' }
  | { op: 'page' };

interface Answers {
  list: readonly ListedSegment[];
  data: Buffer | undefined;
  decode: undefined;
  /** The next entries of the segment being decoded, or undefined at its end; throws if unreadable. */
  batch: readonly ChainedEntry[] | undefined;
  /** (Re)opens the live log at its start. */
  live: undefined;
  /** The next page of the live log, or undefined at its end. */
  page: readonly ChainedEntry[] | undefined;
}

type Steps = Generator<Step, AuditVerifyReport, unknown>;

function* ask<S extends Step>(step: S): Generator<Step, Answers[S['op']], unknown> {
  return (yield step) as Answers[S['op']];
}

function runSync(steps: Steps, answer: (step: Step) => unknown): AuditVerifyReport {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = answer(next.value);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

async function runAsync(
  steps: Steps,
  answer: (step: Step) => Promise<unknown>,
): Promise<AuditVerifyReport> {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = await answer(next.value);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

/**
 * The whole check, yielding a `Step` whenever it needs storage. Problems are reported in the
 * order the former in-memory check found them: manifests, the index, each segment in sequence
 * order, then the live log.
 */
function* verifySteps(
  input: AuditVerifyOptions,
  onProgress?: (progress: AuditVerifyProgress) => void,
): Steps {
  const { chain } = input;
  const max = input.maxProblems ?? 1000;
  const problems: AuditProblem[] = [];
  let capped = false;
  const report = (p: Omit<AuditProblem, 'chain'>): void => {
    if (problems.length >= max) capped = true;
    else problems.push({ chain, ...p });
  };

  const origin = input.anchor ?? GENESIS;
  let expected = origin;
  let entries = 0;
  let checked = 0;

  const listed = yield* ask({ op: 'list' });
  const parsed = listed.map((s, index) => {
    const manifest = s.signed ? parseManifest(s.signed.manifest) : undefined;
    return { s, index, manifest };
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
  const found = new Set(listed.map((s) => s.name));
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

  // The first live entry tells which archived hashes the live log may overlap; the rest of the
  // live log is read after the archive.
  yield* ask({ op: 'live' });
  let page = yield* ask({ op: 'page' });
  while (page && page.length === 0) page = yield* ask({ op: 'page' });
  const first = page?.[0];
  const before = first ? first.seq - 1 : undefined;
  /** The archived hash of entry `before` (where the live log starts), if archived. */
  let archivedBefore: string | undefined;
  /** Segments whose entries were decoded, in order (their hashes may be compared with live). */
  const decoded: Array<{ index: number; name: string }> = [];
  /**
   * Whether the archive decoded as one run of linked entries from the origin to `expected`. Then
   * the live log, if linked too, matches every archived copy as soon as it matches the last one.
   */
  let oneRun = true;

  const readable = parsed
    .flatMap((p) => (p.manifest && p.s.signed ? [{ ...p, manifest: p.manifest }] : []))
    .sort((a, b) => a.manifest.firstSeq - b.manifest.firstSeq);
  for (const { s, index, manifest } of readable) {
    const at = { where: 'segment' as const, segment: s.name };
    const key = input.keys.get(manifest.keyId);
    if (manifest.chain !== chain) {
      report({ kind: 'edited', ...at, detail: `the manifest names chain ${manifest.chain}` });
    }
    if (!key || !s.signed || !openManifest(s.signed, key)) {
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
      oneRun = false;
      report({
        kind: 'missing_segment',
        ...at,
        seq: expected.seq + 1,
        detail: `entries ${expected.seq + 1}-${manifest.firstSeq - 1} are in no segment`,
      });
    } else if (manifest.firstSeq <= expected.seq) {
      oneRun = false;
      report({
        kind: 'reordered',
        ...at,
        seq: manifest.firstSeq,
        detail: `the segment overlaps the previous one (which ends at ${expected.seq})`,
      });
    } else if (manifest.firstPrevHash !== expected.hash) {
      oneRun = false;
      report({
        kind: 'edited',
        ...at,
        seq: manifest.firstSeq,
        detail: 'the segment does not continue the previous one (previous hash differs)',
      });
    }
    expected = { seq: manifest.lastSeq, hash: manifest.lastHash };
    const data = yield* ask({ op: 'data', index, name: s.name });
    checked += 1;
    const progress = (): void =>
      onProgress?.({ segments: checked, entries, done: { where: 'segment', segment: s.name } });
    if (!data) {
      oneRun = false;
      report({ kind: 'missing_segment', ...at, seq: manifest.firstSeq, detail: 'data missing' });
      progress();
      continue;
    }
    if (sha256Hex(data) !== manifest.segmentSha256) {
      report({
        kind: 'segment_hash_mismatch',
        ...at,
        seq: manifest.firstSeq,
        detail: 'the segment bytes differ from the SHA-256 in its manifest',
      });
    }
    const start = { seq: manifest.firstSeq - 1, hash: manifest.firstPrevHash };
    const end = { seq: manifest.lastSeq, hash: manifest.lastHash };
    const run = new LinkedRun(start);
    let count = 0;
    let hashBefore: string | undefined;
    let unreadable = false;
    yield* ask({ op: 'decode', data });
    try {
      for (let batch = yield* ask({ op: 'batch' }); batch; batch = yield* ask({ op: 'batch' })) {
        count += batch.length;
        run.push(batch);
        if (before !== undefined) {
          for (const e of batch) if (e.seq === before) hashBefore = e.hash;
        }
      }
    } catch {
      unreadable = true;
    }
    if (unreadable) {
      oneRun = false;
      report({ kind: 'unreadable_segment', ...at, detail: 'not gzip-compressed audit entries' });
      progress();
      continue;
    }
    entries += count;
    if (hashBefore !== undefined) archivedBefore = hashBefore;
    if (first) decoded.push({ index, name: s.name });
    if (run.linked) {
      const problem = run.endProblem(end);
      if (problem) report({ ...at, ...problem });
      if (!run.endsAt(end)) oneRun = false;
    } else {
      oneRun = false;
      // The detailed report needs the whole run: one segment, bounded by the seal size.
      checkRun(decodeSegment(data), start, end, (p) => report({ ...at, ...p }));
    }
    progress();
  }

  const liveAt = { where: 'live' as const };
  if (first === undefined || before === undefined) {
    if (input.head && input.head.seq > expected.seq) {
      report({
        kind: 'truncated',
        ...liveAt,
        seq: expected.seq + 1,
        detail: `entries ${expected.seq + 1}-${input.head.seq} are missing at the end`,
      });
    }
    return finish();
  }

  const known =
    before === 0
      ? GENESIS_HASH
      : before === input.anchor?.seq
        ? input.anchor.hash
        : before === expected.seq
          ? expected.hash
          : archivedBefore;
  const start: ChainPoint = { seq: before, hash: known ?? first.prevHash };
  const gap: Omit<AuditProblem, 'chain'> | undefined =
    known === undefined && before > expected.seq
      ? {
          kind: 'removed',
          ...liveAt,
          seq: expected.seq + 1,
          index: 0,
          detail: `entries ${expected.seq + 1}-${before} are neither archived nor live`,
        }
      : undefined;

  const run = new LinkedRun(start);
  let liveCount = 0;
  let pageNo = 0;
  let hashAtExpected: string | undefined;
  while (page) {
    run.push(page);
    liveCount += page.length;
    for (const e of page) if (e.seq === expected.seq) hashAtExpected = e.hash;
    pageNo += 1;
    onProgress?.({
      segments: checked,
      entries: entries + liveCount,
      done: { where: 'live', page: pageNo },
    });
    page = yield* ask({ op: 'page' });
  }
  // Entries both live and archived: (from, to]. With both sides one linked run, the hashes
  // agree on all of them if they agree on the last (each hash covers the one before).
  const from = Math.max(before, origin.seq);
  const to = Math.min(run.last.seq, expected.seq);
  const overlapAgrees =
    from >= to || (oneRun && run.last.seq >= expected.seq && hashAtExpected === expected.hash);
  if (run.linked && overlapAgrees) {
    if (gap) report(gap);
    const problem = run.endProblem(input.head);
    if (problem) report({ ...liveAt, ...problem });
    entries += liveCount;
    return finish();
  }

  // The detailed report: the live log and the archived hashes it overlaps, in memory.
  const live: ChainedEntry[] = [];
  yield* ask({ op: 'live' });
  for (let p = yield* ask({ op: 'page' }); p; p = yield* ask({ op: 'page' })) {
    for (const e of p) live.push(e);
  }
  const archived = new Map<number, string>();
  const liveFrom = (live[0]?.seq ?? Infinity) - 1;
  for (const { index, name } of decoded) {
    const data = yield* ask({ op: 'data', index, name });
    let list: ChainedEntry[];
    try {
      list = data ? decodeSegment(data) : [];
    } catch {
      list = [];
    }
    for (const e of list) if (e.seq >= liveFrom) archived.set(e.seq, e.hash);
  }
  entries += live.length;
  checkLive(live, archived);
  return finish();

  /** The live part of the check with everything in memory. */
  function checkLive(live: readonly ChainedEntry[], archived: ReadonlyMap<number, string>): void {
    if (live.length === 0) {
      if (input.head && input.head.seq > expected.seq) {
        report({
          kind: 'truncated',
          ...liveAt,
          seq: expected.seq + 1,
          detail: `entries ${expected.seq + 1}-${input.head.seq} are missing at the end`,
        });
      }
      return;
    }
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
  }

  function finish(): AuditVerifyReport {
    return {
      chain,
      ok: problems.length === 0,
      entries,
      segments: listed.length,
      problems,
      problemsCapped: capped,
    };
  }
}

/**
 * A run checked entry by entry, holding only its last entry: while every entry follows the one
 * before (next sequence number, linked, matching its hash), that is all `checkRun` would look at.
 */
class LinkedRun {
  linked = true;
  last: ChainPoint;
  private count = 0;

  constructor(start: ChainPoint) {
    this.last = start;
  }

  push(entries: readonly ChainedEntry[]): void {
    if (!this.linked) return;
    for (const e of entries) {
      if (
        e.seq !== this.last.seq + 1 ||
        e.prevHash !== this.last.hash ||
        e.hash !== entryHash(e.seq, e.prevHash, e.body)
      ) {
        this.linked = false;
        return;
      }
      this.last = { seq: e.seq, hash: e.hash };
      this.count += 1;
    }
  }

  endsAt(end: ChainPoint): boolean {
    return this.last.seq === end.seq && this.last.hash === end.hash;
  }

  /** What `checkRun` reports about a linked run: only its end can be wrong. */
  endProblem(end: ChainPoint | undefined): Found | undefined {
    if (!end) return undefined;
    if (end.seq > this.last.seq) {
      return {
        kind: 'truncated',
        seq: this.last.seq + 1,
        index: this.count,
        detail: `entries ${this.last.seq + 1}-${end.seq} are missing at the end`,
      };
    }
    if (end.seq === this.last.seq && end.hash !== this.last.hash) {
      return {
        kind: 'edited',
        seq: end.seq,
        detail: `the last entry differs from the recorded head`,
      };
    }
    return undefined;
  }
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
