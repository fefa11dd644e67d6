import { generateKeyPairSync } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  archivedSegments,
  type ArchivedSegment,
  type AuditArchive,
  type SegmentSource,
} from './archive';
import { GENESIS_HASH, appendEntry, entryHash, type ChainedEntry } from './hash-chain';
import {
  decodeSegment,
  decodeSegmentStream,
  openManifest,
  parseManifest,
  sealSegment,
  segmentKeys,
  sha256Hex,
  type SegmentManifest,
  type SignedManifest,
} from './segment';
import {
  checkRun,
  verifyAuditTrail,
  verifyAuditTrailStream,
  type AuditProblem,
  type AuditVerifyProgress,
  type AuditVerifyReport,
  type ChainPoint,
  type VerifyAuditInput,
} from './verify';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keys = new Map([['k1', publicKey]]);

function chain(n: number): ChainedEntry[] {
  const out: ChainedEntry[] = [];
  for (let i = 0; i < n; i += 1) out.push(appendEntry(out[i - 1], { at: `t${i + 1}`, i: i + 1 }));
  return out;
}

function segment(entries: ChainedEntry[]): ArchivedSegment {
  const sealed = sealSegment('c', entries, {
    signer: { keyId: 'k1', privateKey },
    sealedAt: new Date(0),
    at: (e) => `t${e.seq}`,
  });
  const { prefix } = segmentKeys('c', entries[0].seq, entries[entries.length - 1].seq);
  return { name: prefix, signed: sealed.signed, data: sealed.data };
}

/** The in-memory segments as a `SegmentSource`, recording what is read. */
function source(segments: readonly ArchivedSegment[], log: string[] = []): SegmentSource {
  return {
    list: () => {
      log.push('list');
      return Promise.resolve(segments.map(({ name, signed }) => ({ name, signed })));
    },
    data: (name) => {
      log.push(`data ${name}`);
      return Promise.resolve(segments.find((s) => s.name === name)?.data);
    },
  };
}

function pages(entries: readonly ChainedEntry[], size: number): ChainedEntry[][] {
  const out: ChainedEntry[][] = [];
  for (let i = 0; i < entries.length; i += size) out.push(entries.slice(i, i + size));
  return out;
}

function streamed(input: VerifyAuditInput, pageSize = 3): Promise<AuditVerifyReport> {
  return verifyAuditTrailStream({
    ...input,
    segments: source(input.segments),
    live: async function* () {
      for (const p of pages(input.live, pageSize)) {
        await Promise.resolve();
        yield p;
      }
    },
  });
}

/** A deterministic pseudo-random sequence, so a failing case can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const SCENARIOS = 400;

describe('verifyAuditTrailStream', () => {
  const all = chain(40);

  it('reports exactly what the in-memory verification of before reported, in order', async () => {
    for (let n = 0; n < SCENARIOS; n += 1) {
      const input = scenario(all, random(n + 1));
      const expected = reference(input);
      expect({ n, report: verifyAuditTrail(input) }).toEqual({ n, report: expected });
      expect({ n, report: await streamed(input, 1 + (n % 5)) }).toEqual({ n, report: expected });
    }
  });

  it('finds the problems of a tampered chain (the scenarios are not all clean)', () => {
    const kinds = new Set<string>();
    let clean = 0;
    for (let n = 0; n < SCENARIOS; n += 1) {
      const report = reference(scenario(all, random(n + 1)));
      if (report.ok) clean += 1;
      for (const p of report.problems) kinds.add(`${p.where} ${p.kind}`);
    }
    expect(clean).toBeGreaterThan(10);
    expect(clean).toBeLessThan(SCENARIOS - 100);
    expect([...kinds].sort()).toEqual([
      'live edited',
      'live removed',
      'live reordered',
      'live truncated',
      'segment bad_signature',
      'segment edited',
      'segment missing_segment',
      'segment removed',
      'segment reordered',
      'segment segment_hash_mismatch',
      'segment truncated',
      'segment unreadable_segment',
    ]);
  });

  it('keeps to the cap on problems', async () => {
    const live = all.map((e) => ({ ...e, body: e.body.replace('"t', '"x') }));
    const input = { chain: 'c', segments: [], live, keys, maxProblems: 5 };
    const report = await streamed(input);
    expect(report.problems).toHaveLength(5);
    expect(report.problemsCapped).toBe(true);
    expect(report).toEqual(reference(input));
  });

  it('reads the live log a page at a time: page N+1 only after page N is checked', async () => {
    const size = 4;
    const checkedWhenAsked: number[] = [];
    let checked = 0;
    const report = await verifyAuditTrailStream({
      chain: 'c',
      segments: source([segment(all.slice(0, 8))]),
      keys,
      live: async function* () {
        for (const p of pages(all.slice(8), size)) {
          checkedWhenAsked.push(checked);
          await Promise.resolve();
          yield p;
        }
      },
      onProgress: (p: AuditVerifyProgress) => {
        if (p.done.where === 'live') checked = p.entries - 8;
      },
    });
    expect(report.problems).toEqual([]);
    expect(report.entries).toBe(40);
    // Page 1 is read before the archive (its first entry says where the live log starts).
    expect(checkedWhenAsked).toEqual([0, 4, 8, 12, 16, 20, 24, 28]);
  });

  it('reads an intact live log once', async () => {
    let opened = 0;
    const report = await verifyAuditTrailStream({
      chain: 'c',
      segments: source([segment(all.slice(0, 20)), segment(all.slice(20, 30))]),
      keys,
      head: { seq: 40, hash: all[39].hash },
      live: () => {
        opened += 1;
        return pages(all, 7);
      },
    });
    expect(report.ok).toBe(true);
    expect(opened).toBe(1);
  });

  it('reads one segment at a time, each checked before the next is fetched', async () => {
    const segments = [0, 10, 20, 30].map((i) => segment(all.slice(i, i + 10)));
    const log: string[] = [];
    const report = await verifyAuditTrailStream({
      chain: 'c',
      segments: source(segments, log),
      keys,
      live: () => [],
      onProgress: (p) => {
        if (p.done.where === 'segment') log.push(`checked ${p.done.segment} (${p.entries})`);
      },
    });
    expect(report.ok).toBe(true);
    expect(log).toEqual([
      'list',
      ...segments.flatMap((s, i) => [`data ${s.name}`, `checked ${s.name} (${(i + 1) * 10})`]),
    ]);
  });

  it('reads an archive through `archivedSegments` (manifests first, then bytes in turn)', async () => {
    const objects = new Map<string, Buffer>();
    const gets: string[] = [];
    const archive: AuditArchive = {
      put: (key, data) => Promise.resolve(void objects.set(key, data)),
      get: (key) => {
        gets.push(key);
        return Promise.resolve(objects.get(key));
      },
      list: (prefix) =>
        Promise.resolve([...objects.keys()].filter((k) => k.startsWith(prefix)).sort()),
      delete: (key) => Promise.resolve(void objects.delete(key)),
    };
    for (const s of [segment(all.slice(0, 20)), segment(all.slice(20, 40))]) {
      await archive.put(`${s.name}/manifest`, Buffer.from(JSON.stringify(s.signed)));
      await archive.put(`${s.name}/segment`, s.data as Buffer);
    }
    const report = await verifyAuditTrailStream({
      chain: 'c',
      segments: archivedSegments(archive, 'c'),
      keys,
      live: () => [],
      onProgress: (p) => {
        if (p.done.where === 'segment') gets.push(`checked ${p.done.segment}`);
      },
    });
    expect(report).toMatchObject({ ok: true, entries: 40, segments: 2 });
    const [a, b] = ['audit/c/000000000001-000000000020', 'audit/c/000000000021-000000000040'];
    expect(gets).toEqual([
      `${a}/manifest`,
      `${b}/manifest`,
      `${a}/segment`,
      `checked ${a}`,
      `${b}/segment`,
      `checked ${b}`,
    ]);
  });
});

describe('decodeSegmentStream', () => {
  const entries = chain(10_000);
  const data = segment(entries).data as Buffer;

  it('yields the entries in batches as the bytes inflate, not as one array', async () => {
    const sizes: number[] = [];
    const out: ChainedEntry[] = [];
    for await (const batch of decodeSegmentStream(data)) {
      sizes.push(batch.length);
      out.push(...batch);
    }
    expect(sizes.length).toBeGreaterThan(2);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(128);
    expect(out).toEqual(entries);
    expect(decodeSegment(data)).toEqual(entries);
  });

  it("throws, like decodeSegment, on bytes that are not gzip'd entries", async () => {
    const text = gunzipSync(data).toString('utf8').split('\n');
    const bad = [
      data.subarray(0, data.length - 10),
      gzipSync('{"seq":1}\n'),
      gzipSync(`${text[0]}\n\n${text[1]}\n`),
      Buffer.from('not gzip'),
    ];
    for (const b of bad) {
      expect(() => decodeSegment(b)).toThrow();
      await expect(
        (async () => {
          for await (const batch of decodeSegmentStream(b)) void batch;
        })(),
      ).rejects.toThrow();
    }
  });
});

/**
 * A random chain layout (segments, anchor, live overlap) with random tampering of the live log and
 * the archive.
 */
function scenario(all: readonly ChainedEntry[], rnd: () => number): VerifyAuditInput {
  const pick = (n: number) => Math.floor(rnd() * n);
  const n = all.length;
  // Segment boundaries and where retention and the live log start.
  const cuts = [0];
  while (cuts[cuts.length - 1] < n - 8) cuts.push(Math.min(n, cuts[cuts.length - 1] + 3 + pick(8)));
  const sealed = cuts[cuts.length - 1];
  const pruned = rnd() < 0.3 ? 1 + pick(cuts.length - 1) : 0;
  let segments = cuts.slice(pruned, -1).map((c, i) => segment(all.slice(c, cuts[pruned + i + 1])));
  const anchorAt = cuts[pruned];
  const anchor: ChainPoint | undefined =
    anchorAt > 0 ? { seq: anchorAt, hash: all[anchorAt - 1].hash } : undefined;
  const liveFrom = [anchorAt, sealed, anchorAt + pick(Math.max(1, sealed - anchorAt))][pick(3)];
  let live = all.slice(liveFrom).map((e) => ({ ...e }));
  const head = rnd() < 0.8 ? { seq: n, hash: all[n - 1].hash } : undefined;
  const indexed = rnd() < 0.5 ? segments.map((s) => s.name) : undefined;

  const tampers = rnd() < 0.15 ? 0 : 1 + pick(3);
  for (let t = 0; t < tampers; t += 1) {
    const i = pick(Math.max(1, live.length));
    switch (pick(14)) {
      case 0:
        if (live[i]) live[i] = { ...live[i], body: live[i].body.replace('"t', '"x') };
        break;
      case 1:
        live.splice(i, 1 + pick(3));
        break;
      case 2:
        if (live[i + 1]) [live[i], live[i + 1]] = [live[i + 1], live[i]];
        break;
      case 3:
        live = live.slice(0, i);
        break;
      case 4: {
        // Rewritten from i on with recomputed hashes (and a rewritten head when there is one).
        for (let k = i; k < live.length; k += 1) {
          const prevHash = k === i ? live[k].prevHash : live[k - 1].hash;
          const body = k === i ? live[k].body.replace('"t', '"y') : live[k].body;
          live[k] = {
            seq: live[k].seq,
            prevHash,
            body,
            hash: entryHash(live[k].seq, prevHash, body),
          };
        }
        break;
      }
      case 5:
        if (live[i]) live[i] = { ...live[i], seq: live[i].seq + 1 + pick(5) };
        break;
      case 6:
        if (live[i]) live.splice(i + pick(4), 0, { ...live[i] });
        break;
      case 7:
        segments = segments.filter((_, k) => k !== pick(segments.length));
        break;
      case 8: {
        const k = pick(segments.length);
        const s = segments[k];
        if (s?.data) {
          const lines = gunzipSync(s.data).toString('utf8').trim().split('\n');
          const j = pick(lines.length - 1);
          const op = pick(4);
          if (op === 0) [lines[j], lines[j + 1]] = [lines[j + 1], lines[j]];
          else if (op === 1) lines.splice(j, 1);
          else if (op === 2) lines.pop();
          else lines[j] = lines[j].replace('\\"t', '\\"z');
          segments[k] = { ...s, data: gzipSync(lines.join('\n') + '\n') };
        }
        break;
      }
      case 9: {
        const k = pick(segments.length);
        if (segments[k]) {
          segments[k] = [
            { ...segments[k], data: undefined },
            { ...segments[k], signed: undefined },
            { ...segments[k], data: Buffer.from('garbage') },
            { ...segments[k], signed: { manifest: '{', signature: '' } },
          ][pick(4)];
        }
        break;
      }
      case 10: {
        const k = pick(segments.length);
        const s = segments[k];
        if (s?.signed) {
          const m = JSON.parse(s.signed.manifest) as Record<string, unknown>;
          m[['lastSeq', 'firstPrevHash', 'chain', 'keyId'][pick(4)]] =
            typeof m.lastSeq === 'number' && rnd() < 0.5 ? 2 : 'other';
          segments[k] = { ...s, signed: { ...s.signed, manifest: JSON.stringify(m) } };
        }
        break;
      }
      case 11: {
        // A segment re-sealed with tampered entries: signed, hashed, and wrong.
        const k = pick(segments.length);
        const s = segments[k];
        if (s?.data) {
          const entries = decodeSegment(s.data).map((e, j) =>
            j === 0 ? { ...e, body: e.body.replace('"t', '"w') } : e,
          );
          segments[k] = { ...segment(entries), name: s.name };
        }
        break;
      }
      case 12: {
        // Linked to a forged predecessor, its own hash recomputed (often the first live entry).
        const k = rnd() < 0.5 ? 0 : i;
        if (live[k]) {
          const prevHash = entryHash(0, GENESIS_HASH, 'forged');
          live[k] = { ...live[k], prevHash, hash: entryHash(live[k].seq, prevHash, live[k].body) };
        }
        break;
      }
      default:
        if (head && live.length > 0) head.seq += pick(3) - 1;
    }
  }
  return { chain: 'c', segments, indexedSegments: indexed, live, keys, anchor, head };
}

/**
 * The verification as it was before it streamed (everything in memory), kept as the oracle the
 * streaming form must agree with.
 */
const GENESIS: ChainPoint = { seq: 0, hash: GENESIS_HASH };

function reference(input: VerifyAuditInput): AuditVerifyReport {
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
    .sort((a, b) => (a.manifest?.firstSeq ?? 0) - (b.manifest?.firstSeq ?? 0));
  for (const { s, manifest: m } of readable) {
    const manifest = m as SegmentManifest;
    const at = { where: 'segment' as const, segment: s.name };
    const key = input.keys.get(manifest.keyId);
    if (manifest.chain !== chain) {
      report({ kind: 'edited', ...at, detail: `the manifest names chain ${manifest.chain}` });
    }
    if (!key || !openManifest(s.signed as SignedManifest, key)) {
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
