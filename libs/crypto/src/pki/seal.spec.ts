import { randomBytes } from 'node:crypto';
import { SealedEnvelope, generateKeyPair, sealPrivateKey, unsealPrivateKey } from './index';

describe('sealing a private key at rest', () => {
  let pem: string;
  const passphrase = 'correct horse battery staple';
  let sealedWithPassphrase: string;

  beforeAll(async () => {
    pem = (await generateKeyPair()).privateKeyPem;
    sealedWithPassphrase = await sealPrivateKey(pem, passphrase);
  });

  /** Re-serialises an envelope after `edit`. */
  const edited = (sealed: string, edit: (e: SealedEnvelope) => void): string => {
    const envelope = JSON.parse(sealed) as SealedEnvelope;
    edit(envelope);
    return JSON.stringify(envelope);
  };

  /** Flips one bit of a base64 field. */
  const flip = (field: string, index = 0): string => {
    const bytes = Buffer.from(field, 'base64');
    bytes[index] ^= 0x01;
    return bytes.toString('base64');
  };

  it('round-trips with a passphrase, in a versioned envelope that hides the key', async () => {
    const envelope = JSON.parse(sealedWithPassphrase) as SealedEnvelope;
    expect(envelope).toMatchObject({ v: 1, alg: 'aes-256-gcm', kdf: 'scrypt' });
    expect(Buffer.from(envelope.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(envelope.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(envelope.tag, 'base64')).toHaveLength(16);
    expect(sealedWithPassphrase).not.toContain('PRIVATE KEY');
    await expect(unsealPrivateKey(sealedWithPassphrase, passphrase)).resolves.toBe(pem);
  });

  it('round-trips with a 32-byte key, with a fresh IV every time', async () => {
    const key = randomBytes(32);
    const a = await sealPrivateKey(pem, key);
    const b = await sealPrivateKey(pem, key);
    expect((JSON.parse(a) as SealedEnvelope).iv).not.toBe((JSON.parse(b) as SealedEnvelope).iv);
    await expect(unsealPrivateKey(a, key)).resolves.toBe(pem);
    await expect(unsealPrivateKey(b, key)).resolves.toBe(pem);
  });

  it('refuses a wrong passphrase or a wrong key', async () => {
    await expect(
      unsealPrivateKey(sealedWithPassphrase, 'correct horse battery stapler'),
    ).rejects.toMatchObject({ code: 'seal_invalid' });
    const sealed = await sealPrivateKey(pem, randomBytes(32));
    await expect(unsealPrivateKey(sealed, randomBytes(32))).rejects.toMatchObject({
      code: 'seal_invalid',
    });
    // A raw-key envelope is never opened with a passphrase, or the other way round.
    await expect(unsealPrivateKey(sealed, passphrase)).rejects.toMatchObject({
      code: 'seal_invalid',
    });
  });

  it('refuses any flipped byte in the ciphertext, tag, IV or salt', async () => {
    const key = randomBytes(32);
    const sealed = await sealPrivateKey(pem, key);
    const middle = Math.floor(
      Buffer.from((JSON.parse(sealed) as SealedEnvelope).data, 'base64').length / 2,
    );
    for (const tampered of [
      edited(sealed, (e) => (e.data = flip(e.data))),
      edited(sealed, (e) => (e.data = flip(e.data, middle))),
      edited(sealed, (e) => (e.tag = flip(e.tag, 15))),
      edited(sealed, (e) => (e.iv = flip(e.iv))),
    ]) {
      await expect(unsealPrivateKey(tampered, key)).rejects.toMatchObject({ code: 'seal_invalid' });
    }
    await expect(
      unsealPrivateKey(
        edited(sealedWithPassphrase, (e) => (e.salt = flip(e.salt))),
        passphrase,
      ),
    ).rejects.toMatchObject({ code: 'seal_invalid' });
  });

  it('refuses malformed envelopes and unknown versions', async () => {
    const key = randomBytes(32);
    const sealed = await sealPrivateKey(pem, key);
    for (const bad of [
      '',
      'null',
      '{}',
      edited(sealed, (e) => ((e as unknown as { v: number }).v = 2)),
      edited(sealed, (e) => ((e as unknown as { alg: string }).alg = 'aes-128-gcm')),
      edited(
        sealed,
        (e) => (e.tag = Buffer.from(e.tag, 'base64').subarray(0, 4).toString('base64')),
      ),
      edited(sealed, (e) => (e.data = `${e.data}!`)),
      edited(sealed, (e) => Object.assign(e, { extra: 1 })),
    ]) {
      await expect(unsealPrivateKey(bad, key)).rejects.toMatchObject({ code: 'seal_invalid' });
    }
  });

  it('refuses weak secrets when sealing', async () => {
    await expect(sealPrivateKey(pem, 'short')).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(sealPrivateKey(pem, randomBytes(16))).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
