import { generateKeyPairSync } from 'node:crypto';
import { appendEntry, type ChainedEntry } from './hash-chain';
import { sealSegment, segmentKeys } from './segment';
import { verifyAuditTrail, type AuditProblem } from './verify';
import type { ArchivedSegment } from './archive';

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

const brief = (ps: AuditProblem[]) => ps.map((p) => [p.kind, p.where, p.seq]);

describe('verifyAuditTrail', () => {
  const all = chain(12);

  it('accepts segments followed by the live tail, with or without overlap', () => {
    const segments = [segment(all.slice(0, 4)), segment(all.slice(4, 8))];
    expect(verifyAuditTrail({ chain: 'c', segments, live: all.slice(8), keys }).problems).toEqual(
      [],
    );
    expect(verifyAuditTrail({ chain: 'c', segments, live: all, keys }).problems).toEqual([]);
  });

  it('reports each problem of the live log at its position, not only the first', () => {
    const live = all.map((e) => ({ ...e }));
    live[2] = { ...live[2], body: live[2].body.replace('t3', 'tX') };
    live.splice(5, 1); // seq 6 removed
    [live[7], live[8]] = [live[8], live[7]]; // seqs 9 and 10 swapped
    const report = verifyAuditTrail({
      chain: 'c',
      segments: [],
      live: live.slice(0, 10), // seq 12 cut off
      keys,
      head: { seq: 12, hash: all[11].hash },
    });
    expect(brief(report.problems)).toEqual([
      ['edited', 'live', 3],
      ['reordered', 'live', 9],
      ['removed', 'live', 6],
      ['truncated', 'live', 12],
    ]);
  });

  it('reports an entry moved to another sequence number as re-ordered', () => {
    const live = all.slice(0, 6).map((e) => ({ ...e }));
    const moved = { ...live[4], seq: 4 }; // the content of 5 stored as 4
    live[3] = moved;
    live.splice(4, 1);
    const problems = verifyAuditTrail({ chain: 'c', segments: [], live, keys }).problems;
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'reordered', seq: 4 }));
  });

  it('reports a recomputed hash at the entry that changed', () => {
    const live = all.slice(0, 5).map((e) => ({ ...e }));
    live[1] = appendEntry(live[0], { at: 't2', i: 99 });
    const problems = verifyAuditTrail({ chain: 'c', segments: [], live, keys }).problems;
    expect(brief(problems)).toEqual([['edited', 'live', 2]]);
  });

  it('reports a missing segment between two others and one the index lists', () => {
    const first = segment(all.slice(0, 4));
    const second = segment(all.slice(4, 8));
    const third = segment(all.slice(8, 12));
    const report = verifyAuditTrail({
      chain: 'c',
      segments: [first, third],
      indexedSegments: [first.name, second.name, third.name],
      live: [],
      keys,
    });
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'missing_segment', segment: second.name, seq: 5 }),
      expect.objectContaining({ kind: 'missing_segment', segment: third.name, seq: 5 }),
    ]);
  });

  it('accepts a start after retention only from the recorded anchor', () => {
    const segments = [segment(all.slice(4, 8))];
    const live = all.slice(8);
    expect(
      verifyAuditTrail({ chain: 'c', segments, live, keys, anchor: { seq: 4, hash: all[3].hash } })
        .ok,
    ).toBe(true);
    const problems = verifyAuditTrail({ chain: 'c', segments, live, keys }).problems;
    expect(brief(problems)).toEqual([['missing_segment', 'segment', 1]]);
  });

  it('refuses a manifest signed by an unknown key', () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    const problems = verifyAuditTrail({
      chain: 'c',
      segments: [segment(all.slice(0, 4))],
      live: [],
      keys: new Map([['k1', other]]),
    }).problems;
    expect(brief(problems)).toEqual([['bad_signature', 'segment', 1]]);
  });
});
