import { argon2idParameters } from './argon2-parameters';
import * as argon2 from 'argon2';
import { OWASP_MINIMUM_PARAMETERS, PasswordHasher } from './passwords';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('hashes with argon2id and the OWASP parameters, salted', async () => {
    const a = await hasher.hash('correct horse battery staple');
    const b = await hasher.hash('correct horse battery staple');
    expect(argon2idParameters(a)).toEqual({ m: 19456, t: 2, p: 1 });
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hasher.hash('s3cret-enough');
    await expect(hasher.verify(hash, 's3cret-enough')).resolves.toBe(true);
    await expect(hasher.verify(hash, 's3cret-enougH')).resolves.toBe(false);
  });

  it('treats a malformed stored hash as no match', async () => {
    await expect(hasher.verify('not-a-hash', 'x')).resolves.toBe(false);
  });

  it('needsRehash: false for current parameters, true for weaker ones or other algorithms', async () => {
    const current = await hasher.hash('pw');
    expect(hasher.needsRehash(current)).toBe(false);
    const weaker = await argon2.hash('pw', {
      type: argon2.argon2id,
      memoryCost: 19_456,
      timeCost: 1,
      parallelism: 1,
    });
    expect(hasher.needsRehash(weaker)).toBe(true);
    const argon2i = await argon2.hash('pw', { type: argon2.argon2i, ...OWASP_MINIMUM_PARAMETERS });
    expect(hasher.needsRehash(argon2i)).toBe(true);
    expect(hasher.needsRehash('$2b$10$abcdefghijklmnopqrstuv')).toBe(true);
    const stronger = new PasswordHasher({ memoryCost: 32_768, timeCost: 3 });
    expect(stronger.needsRehash(current)).toBe(true);
  });

  it('refuses parameters below the OWASP floor', () => {
    expect(() => new PasswordHasher({ memoryCost: 8_192 })).toThrow(RangeError);
    expect(() => new PasswordHasher({ timeCost: 1 })).toThrow(RangeError);
  });
});
