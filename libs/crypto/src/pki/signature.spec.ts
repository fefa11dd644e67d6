import { X509Certificate, constants, sign } from 'node:crypto';
import {
  KeyPairPem,
  createCertificateAuthority,
  generateKeyPair,
  signPayload,
  verifyPayload,
} from './index';

describe('detached payload signatures (RSA-PSS, SHA-256)', () => {
  let alice: KeyPairPem;
  let bob: KeyPairPem;
  const payload = Buffer.from('{"requestId":"r-1","status":200}', 'utf8');

  beforeAll(async () => {
    [alice, bob] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  });

  it('verifies with the public key, and with a certificate for that key', async () => {
    const signature = signPayload(alice.privateKeyPem, payload);
    expect(signature).toHaveLength(384);
    expect(verifyPayload(alice.publicKeyPem, payload, signature)).toBe(true);
    const { certPem } = await createCertificateAuthority({
      commonName: 'Signer',
      validityDays: 1,
      now: new Date('2026-03-01T00:00:00Z'),
      keyPair: alice,
    });
    expect(new X509Certificate(certPem).publicKey.asymmetricKeyType).toBe('rsa');
    expect(verifyPayload(certPem, payload, signature)).toBe(true);
  });

  it('fails on a changed payload byte, a changed signature byte, or another key', () => {
    const signature = signPayload(alice.privateKeyPem, payload);
    const changed = Buffer.from(payload);
    changed[3] ^= 0x01;
    expect(verifyPayload(alice.publicKeyPem, changed, signature)).toBe(false);
    const badSignature = Buffer.from(signature);
    badSignature[100] ^= 0x01;
    expect(verifyPayload(alice.publicKeyPem, payload, badSignature)).toBe(false);
    expect(verifyPayload(bob.publicKeyPem, payload, signature)).toBe(false);
    expect(verifyPayload(alice.publicKeyPem, payload, signature.subarray(1))).toBe(false);
    expect(verifyPayload(alice.publicKeyPem, payload, Buffer.alloc(0))).toBe(false);
  });

  it('does not accept PKCS#1 v1.5 signatures in place of PSS', () => {
    const v15 = sign('sha256', payload, {
      key: alice.privateKeyPem,
      padding: constants.RSA_PKCS1_PADDING,
    });
    expect(verifyPayload(alice.publicKeyPem, payload, v15)).toBe(false);
  });

  it('refuses unusable keys with key_invalid', () => {
    expect(() => signPayload('not a key', payload)).toThrow(
      expect.objectContaining({ code: 'key_invalid' }),
    );
    expect(() => verifyPayload('not a key', payload, Buffer.alloc(384))).toThrow(
      expect.objectContaining({ code: 'key_invalid' }),
    );
  });
});
