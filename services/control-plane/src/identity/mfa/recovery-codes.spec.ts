import { argon2idParameters } from './argon2-parameters';
import { generateRecoveryCodes, matchRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes';

describe('recovery codes', () => {
  it('generates ten distinct readable codes and stores only argon2id hashes', async () => {
    const { codes, hashes } = await generateRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}$/);
    expect(hashes).toHaveLength(RECOVERY_CODE_COUNT);
    for (const [i, hash] of hashes.entries()) {
      expect(argon2idParameters(hash)).toEqual({ m: 19456, t: 2, p: 1 });
      expect(hash).not.toContain(codes[i].replace('-', ''));
    }
  });

  it('matches a code whatever the case and separators, and nothing else', async () => {
    const { codes, hashes } = await generateRecoveryCodes(3);
    const stored = hashes.map((hash, i) => ({ id: `c${i}`, hash }));
    await expect(matchRecoveryCode(codes[1], stored)).resolves.toBe('c1');
    await expect(matchRecoveryCode(codes[2].toLowerCase().replace('-', ' '), stored)).resolves.toBe(
      'c2',
    );
    await expect(matchRecoveryCode('22222-22222', stored)).resolves.toBeUndefined();
    await expect(matchRecoveryCode('', stored)).resolves.toBeUndefined();
    await expect(
      matchRecoveryCode(codes[0], [{ id: 'x', hash: 'broken' }]),
    ).resolves.toBeUndefined();
  });
});
