import { appendEntry, canonicalJson, verifyChain, type ChainedEntry } from './hash-chain';

function chain(n: number): ChainedEntry[] {
  const entries: ChainedEntry[] = [];
  for (let i = 0; i < n; i++) entries.push(appendEntry(entries.at(-1), { type: 'test.event', i }));
  return entries;
}

describe('audit hash chain', () => {
  it('accepts an untouched chain', () => {
    expect(verifyChain(chain(5))).toBeUndefined();
  });

  it('hashes the same event the same whatever its key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(
      canonicalJson({ a: { c: 3, d: 2 }, b: 1 }),
    );
  });

  it('reports an edited entry at its position', () => {
    const entries = chain(5);
    entries[2] = { ...entries[2], body: canonicalJson({ type: 'test.event', i: 99 }) };
    expect(verifyChain(entries)).toEqual({ kind: 'hash_mismatch', position: 2, seq: 3 });
  });

  it('reports a removed entry', () => {
    const entries = chain(5);
    entries.splice(1, 1);
    expect(verifyChain(entries)).toMatchObject({
      kind: 'sequence_gap',
      position: 1,
      expectedSeq: 2,
      foundSeq: 3,
    });
  });

  it('reports re-ordered entries', () => {
    const entries = chain(5);
    [entries[1], entries[2]] = [entries[2], entries[1]];
    expect(verifyChain(entries)).toMatchObject({ kind: 'sequence_gap', position: 1 });
  });

  it('reports an entry re-hashed after editing, through the broken link that follows', () => {
    const entries = chain(4);
    const forged = appendEntry(entries[0], { type: 'test.event', i: 'forged' });
    entries[1] = forged;
    expect(verifyChain(entries)).toEqual({ kind: 'broken_link', position: 2, seq: 3 });
  });
});
