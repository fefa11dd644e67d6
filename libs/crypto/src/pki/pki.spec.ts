import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import {
  KeyPairPem,
  PkiErrorCode,
  createCertificateAuthority,
  createCsr,
  generateKeyPair,
  inspectCsr,
  signNodeCertificate,
  verifyNodeCertificate,
} from './index';

/** Expects `fn` to throw a PkiError with `code`. */
function expectCode(fn: () => unknown, code: PkiErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toMatchObject({ name: 'PkiError', code });
}

function pem(type: string, der: Buffer): string {
  return forge.pem.encode({ type, body: der.toString('binary') });
}

function derOf(pemText: string): Buffer {
  return Buffer.from(forge.pem.decode(pemText)[0].body, 'binary');
}

const T0 = new Date('2026-03-01T12:00:00Z');
const HOUR = 3600;
const NODE = 'node-a1';
const TENANT = 'tenant-42';

describe('node enrolment PKI', () => {
  // RSA 3072 keygen is the slow part: make three pairs once and share them.
  let caKeys: KeyPairPem;
  let otherCaKeys: KeyPairPem;
  let nodeKeys: KeyPairPem;
  let ca: { certPem: string; keyPem: string };
  let csrPem: string;

  beforeAll(async () => {
    [caKeys, otherCaKeys, nodeKeys] = await Promise.all([
      generateKeyPair(),
      generateKeyPair(),
      generateKeyPair(),
    ]);
    ca = await createCertificateAuthority({
      commonName: 'Causeway test CA',
      validityDays: 365,
      now: T0,
      keyPair: caKeys,
    });
    csrPem = createCsr({ ...nodeKeys, commonName: NODE });
  });

  const issue = (overrides: Partial<Parameters<typeof signNodeCertificate>[0]> = {}) =>
    signNodeCertificate({
      ca,
      csrPem,
      nodeId: NODE,
      tenantId: TENANT,
      validitySeconds: HOUR,
      now: T0,
      ...overrides,
    });

  describe('keys and CA', () => {
    it('generates RSA 3072 key pairs as SPKI and PKCS#8 PEM', () => {
      expect(nodeKeys.publicKeyPem).toContain('-----BEGIN PUBLIC KEY-----');
      expect(nodeKeys.privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----');
      expect(new X509Certificate(ca.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(
        3072,
      );
    });

    it('makes a self-signed, SHA-256, leaf-only CA with a random positive serial', () => {
      const x = new X509Certificate(ca.certPem);
      expect(x.ca).toBe(true);
      expect(x.checkIssued(x)).toBe(true);
      expect(x.verify(x.publicKey)).toBe(true);
      const cert = forge.pki.certificateFromPem(ca.certPem);
      expect(cert.signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
      expect(cert.getExtension('basicConstraints')).toMatchObject({
        cA: true,
        pathLenConstraint: 0,
        critical: true,
      });
      expect(cert.getExtension('keyUsage')).toMatchObject({
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: false,
      });
      expect(cert.getExtension('subjectKeyIdentifier')).toBeDefined();
      expect(cert.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
      expect(cert.validity.notBefore.getTime()).toBe(T0.getTime() - 60_000);
      expect(cert.validity.notAfter.getTime()).toBe(T0.getTime() + 365 * 86_400_000);
    });

    it('refuses a CA key pair whose halves do not match, and silly validity', async () => {
      await expect(
        createCertificateAuthority({
          commonName: 'x',
          validityDays: 1,
          now: T0,
          keyPair: { publicKeyPem: nodeKeys.publicKeyPem, privateKeyPem: caKeys.privateKeyPem },
        }),
      ).rejects.toMatchObject({ code: 'key_invalid' });
      await expect(
        createCertificateAuthority({ commonName: 'x', validityDays: 0, now: T0, keyPair: caKeys }),
      ).rejects.toMatchObject({ code: 'invalid_argument' });
    });
  });

  describe('CSR', () => {
    it('carries only CN = node id, signed with SHA-256, and no challengePassword', () => {
      const info = inspectCsr(csrPem);
      expect(info).toEqual({
        commonName: NODE,
        publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY'),
        keyBits: 3072,
      });
      const csr = forge.pki.certificationRequestFromPem(csrPem);
      expect(csr.signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
      expect(csr.attributes).toHaveLength(0);
      expect(csr.subject.attributes).toHaveLength(1);
    });

    it('refuses a mismatched public key when creating', () => {
      expectCode(
        () =>
          createCsr({
            privateKeyPem: nodeKeys.privateKeyPem,
            publicKeyPem: caKeys.publicKeyPem,
            commonName: NODE,
          }),
        'key_invalid',
      );
    });

    it('refuses a CSR whose subject was changed after signing', () => {
      const der = derOf(csrPem);
      const at = der.indexOf(Buffer.from(NODE, 'ascii'));
      expect(at).toBeGreaterThan(0);
      const tampered = Buffer.from(der);
      tampered.write('node-b1', at, 'ascii');
      expectCode(() => inspectCsr(pem('CERTIFICATE REQUEST', tampered)), 'invalid_csr');
      expectCode(
        () => issue({ csrPem: pem('CERTIFICATE REQUEST', tampered), nodeId: 'node-b1' }),
        'invalid_csr',
      );
    });

    it('refuses a CSR with a flipped signature bit', () => {
      const der = Buffer.from(derOf(csrPem));
      der[der.length - 1] ^= 0x01;
      expectCode(() => inspectCsr(pem('CERTIFICATE REQUEST', der)), 'invalid_csr');
    });

    it('refuses a CSR with a 1024-bit RSA key', () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const key = forge.pki.privateKeyFromPem(
        weak.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      );
      const csr = forge.pki.createCertificationRequest();
      csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
      csr.setSubject([{ shortName: 'CN', value: NODE }]);
      csr.sign(key, forge.md.sha256.create());
      expectCode(() => inspectCsr(forge.pki.certificationRequestToPem(csr)), 'invalid_csr');
      // And our own helper will not even make one.
      expectCode(
        () =>
          createCsr({
            privateKeyPem: weak.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            commonName: NODE,
          }),
        'key_invalid',
      );
    });

    it('refuses a CSR signed with SHA-1', () => {
      const key = forge.pki.privateKeyFromPem(nodeKeys.privateKeyPem);
      const csr = forge.pki.createCertificationRequest();
      csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
      csr.setSubject([{ shortName: 'CN', value: NODE }]);
      csr.sign(key, forge.md.sha1.create());
      expectCode(() => inspectCsr(forge.pki.certificationRequestToPem(csr)), 'invalid_csr');
    });

    it('reads an optional O (the tenant asked for) and refuses any other subject shape', () => {
      const key = forge.pki.privateKeyFromPem(nodeKeys.privateKeyPem);
      const csrWith = (subject: forge.pki.CertificateField[]): string => {
        const csr = forge.pki.createCertificationRequest();
        csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
        csr.setSubject(subject);
        csr.sign(key, forge.md.sha256.create());
        return forge.pki.certificationRequestToPem(csr);
      };
      expect(
        inspectCsr(
          csrWith([
            { shortName: 'CN', value: NODE },
            { shortName: 'O', value: TENANT },
          ]),
        ),
      ).toMatchObject({ commonName: NODE, organization: TENANT });
      expect(inspectCsr(csrWith([{ shortName: 'CN', value: NODE }])).organization).toBeUndefined();
      for (const subject of [
        [
          { shortName: 'CN', value: NODE },
          { shortName: 'OU', value: 'x' },
        ],
        [
          { shortName: 'O', value: TENANT },
          { shortName: 'CN', value: NODE },
        ],
        [
          { shortName: 'CN', value: NODE },
          { shortName: 'O', value: TENANT },
          { shortName: 'O', value: TENANT },
        ],
        [
          { shortName: 'CN', value: NODE },
          { shortName: 'CN', value: NODE },
        ],
      ]) {
        expectCode(() => inspectCsr(csrWith(subject)), 'invalid_csr');
      }
    });

    it('refuses malformed input', () => {
      for (const input of [
        '',
        'garbage',
        '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
        csrPem + csrPem,
        csrPem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE'),
        pem('CERTIFICATE REQUEST', Buffer.concat([derOf(csrPem), Buffer.from([0])])),
      ]) {
        expectCode(() => inspectCsr(input), 'invalid_csr');
      }
    });
  });

  describe('signing a node certificate', () => {
    it('issues a client certificate that verifies: CA -> CSR -> sign -> verify', () => {
      const issued = issue();
      expect(issued.chainPem).toEqual([
        forge.pki.certificateToPem(forge.pki.certificateFromPem(ca.certPem)),
      ]);
      expect(issued.notBefore.getTime()).toBe(T0.getTime() - 60_000);
      expect(issued.notAfter.getTime()).toBe(T0.getTime() + HOUR * 1000);
      const verified = verifyNodeCertificate({
        certPem: issued.certPem,
        caCertPem: ca.certPem,
        now: new Date(T0.getTime() + 1000),
      });
      expect(verified).toEqual({
        nodeId: NODE,
        tenantId: TENANT,
        serial: issued.serial,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
      });
      // OpenSSL agrees with the chain.
      const leaf = new X509Certificate(issued.certPem);
      expect(leaf.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    });

    it('puts the node and tenant ids, clientAuth and the CSR key into the leaf', () => {
      const issued = issue();
      const x = new X509Certificate(issued.certPem);
      expect(x.ca).toBe(false);
      expect(x.subject).toBe(`CN=${NODE}\nO=${TENANT}`);
      expect(x.subjectAltName).toBe(
        `URI:urn:causeway:node:${NODE}, URI:urn:causeway:tenant:${TENANT}`,
      );
      expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
      expect(x.publicKey.export({ type: 'spki', format: 'pem' }).toString()).toBe(
        nodeKeys.publicKeyPem,
      );

      const cert = forge.pki.certificateFromPem(issued.certPem);
      const caCert = forge.pki.certificateFromPem(ca.certPem);
      expect(cert.signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
      expect(cert.getExtension('keyUsage')).toMatchObject({
        digitalSignature: true,
        keyCertSign: false,
        critical: true,
      });
      expect(cert.getExtension('basicConstraints')).toMatchObject({ cA: false, critical: true });
      // The AKI names the CA's key, not the leaf's own (node-forge's default would).
      const aki = cert.getExtension('authorityKeyIdentifier') as { value: string };
      const ski = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string };
      expect(forge.util.bytesToHex(aki.value)).toContain(ski.subjectKeyIdentifier);
      expect(issue().serial).not.toBe(issued.serial);
    });

    it('refuses a CSR whose CN is not the enrolling node', () => {
      expectCode(() => issue({ nodeId: 'node-zz' }), 'csr_subject_mismatch');
    });

    it('refuses a CA key that does not match the CA certificate', () => {
      expectCode(
        () => issue({ ca: { certPem: ca.certPem, keyPem: otherCaKeys.privateKeyPem } }),
        'ca_invalid',
      );
    });

    it('refuses to sign with a leaf as if it were a CA', () => {
      const leaf = issue();
      expectCode(
        () => issue({ ca: { certPem: leaf.certPem, keyPem: nodeKeys.privateKeyPem } }),
        'ca_invalid',
      );
    });

    it('refuses a validity the CA does not cover, or out of bounds, and unsafe ids', () => {
      expectCode(() => issue({ now: new Date(T0.getTime() + 365 * 86_400_000) }), 'ca_invalid');
      expectCode(() => issue({ validitySeconds: 10 }), 'invalid_argument');
      expectCode(() => issue({ validitySeconds: 365 * 86_400 }), 'invalid_argument');
      expectCode(() => issue({ tenantId: 'a,O=evil' }), 'invalid_argument');
    });
  });

  describe('verifying a node certificate', () => {
    it('refuses a certificate from another CA, even one with the same name', async () => {
      const other = await createCertificateAuthority({
        commonName: 'Causeway test CA',
        validityDays: 365,
        now: T0,
        keyPair: otherCaKeys,
      });
      const foreign = issue({ ca: other });
      expectCode(
        () => verifyNodeCertificate({ certPem: foreign.certPem, caCertPem: ca.certPem, now: T0 }),
        'certificate_untrusted',
      );
      // And the foreign CA does not trust ours.
      expectCode(
        () =>
          verifyNodeCertificate({ certPem: issue().certPem, caCertPem: other.certPem, now: T0 }),
        'certificate_untrusted',
      );
    });

    it('refuses a certificate with an altered signed field', () => {
      const der = Buffer.from(derOf(issue().certPem));
      const at = der.indexOf(Buffer.from(TENANT, 'ascii'));
      der.write('tenant-43', at, 'ascii');
      expectCode(
        () =>
          verifyNodeCertificate({
            certPem: pem('CERTIFICATE', der),
            caCertPem: ca.certPem,
            now: T0,
          }),
        'certificate_untrusted',
      );
    });

    it('refuses an expired certificate and one not valid yet, by the injected clock', () => {
      // Issue a day after the CA was made, so the CA itself is valid throughout.
      const issuedAt = T0.getTime() + 86_400_000;
      const { certPem } = issue({ now: new Date(issuedAt) });
      const check = (offsetMs: number) =>
        verifyNodeCertificate({
          certPem,
          caCertPem: ca.certPem,
          now: new Date(issuedAt + offsetMs),
        });
      // The window is [issuedAt - 60 s, issuedAt + 1 h], both ends inclusive.
      expect(check(-60_000).nodeId).toBe(NODE);
      expect(check(HOUR * 1000).nodeId).toBe(NODE);
      expectCode(() => check(HOUR * 1000 + 1000), 'certificate_expired');
      expectCode(() => check(-61_000), 'certificate_not_yet_valid');
    });

    it('refuses everything once the CA itself has expired', () => {
      const { certPem } = issue();
      expectCode(
        () =>
          verifyNodeCertificate({
            certPem,
            caCertPem: ca.certPem,
            now: new Date(T0.getTime() + 366 * 86_400_000),
          }),
        'certificate_untrusted',
      );
    });

    it('refuses a leaf signed by the CA but without the node profile', () => {
      // A certificate this CA signed for another purpose (here: the CA itself) is not a node.
      expectCode(
        () => verifyNodeCertificate({ certPem: ca.certPem, caCertPem: ca.certPem, now: T0 }),
        'certificate_invalid',
      );
    });

    it('refuses garbage as certificate_invalid and a bad trust anchor as ca_invalid', () => {
      expectCode(
        () => verifyNodeCertificate({ certPem: 'nope', caCertPem: ca.certPem, now: T0 }),
        'certificate_invalid',
      );
      expectCode(
        () => verifyNodeCertificate({ certPem: issue().certPem, caCertPem: 'nope', now: T0 }),
        'ca_invalid',
      );
    });
  });
});
