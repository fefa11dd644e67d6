/**
 * Internal helpers around PEM and DER. They exist so that we verify signatures over the exact
 * bytes we received (not node-forge's re-encoding of them) and so that what node-forge parsed is
 * provably what was signed: a parser differential cannot smuggle an unsigned field through.
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** Decodes a PEM that must contain exactly one block of `type`, unencrypted. Returns DER or null. */
export function decodeSinglePem(pem: string, type: string): Buffer | null {
  let blocks: forge.pem.ObjectPEM[];
  try {
    blocks = forge.pem.decode(pem);
  } catch {
    return null;
  }
  if (blocks.length !== 1) return null;
  const [block] = blocks;
  // Proc-Type headers mean legacy PEM encryption: never meaningful for a CSR or certificate.
  if (block.type !== type || block.procType !== null || block.body.length === 0) return null;
  return Buffer.from(block.body, 'binary');
}

/**
 * Splits a DER SEQUENCE (a certificate or CSR: `SEQUENCE { tbs, algorithm, signature }`) into
 * the raw bytes of its children. Refuses indefinite lengths, non-minimal lengths and trailing
 * bytes, because DER has exactly one encoding and we compare encodings below.
 */
export function splitDerSequence(der: Buffer): Buffer[] | null {
  const outer = readTlv(der, 0);
  if (!outer || der[0] !== 0x30 || outer.end !== der.length) return null;
  const children: Buffer[] = [];
  let offset = outer.contentStart;
  while (offset < outer.end) {
    const child = readTlv(der, offset);
    if (!child || child.end > outer.end) return null;
    children.push(der.subarray(offset, child.end));
    offset = child.end;
  }
  return children;
}

/** Contents of a DER BIT STRING with no unused bits (a signature value), or null. */
export function bitStringBytes(tlv: Buffer): Buffer | null {
  const parsed = readTlv(tlv, 0);
  if (!parsed || tlv[0] !== 0x03 || parsed.end !== tlv.length) return null;
  const content = tlv.subarray(parsed.contentStart, parsed.end);
  if (content.length < 2 || content[0] !== 0) return null;
  return content.subarray(1);
}

/** Bytes of an ASN.1 node as node-forge would encode it again. */
export function forgeToDer(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');
}

/**
 * A certificate serial: 16 random bytes (RFC 5280 allows 20; CA/B asks for 64+ random bits).
 * The first byte is forced into 0x40-0x7f so the DER INTEGER is positive and minimally encoded
 * without a leading zero (126 random bits remain).
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x3f) | 0x40;
  return bytes.toString('hex');
}

function readTlv(buf: Buffer, offset: number): { contentStart: number; end: number } | null {
  if (offset + 2 > buf.length) return null;
  // Only low tag numbers occur at the levels we read (SEQUENCE, BIT STRING).
  if ((buf[offset] & 0x1f) === 0x1f) return null;
  const first = buf[offset + 1];
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || offset + 2 + count > buf.length) return null;
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + buf[offset + 2 + i];
    // Non-minimal long forms are BER, not DER.
    if (length < 0x80 || buf[offset + 2] === 0) return null;
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  return end <= buf.length ? { contentStart, end } : null;
}
