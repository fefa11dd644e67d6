import { KeyObject, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CausewayError,
  signedKeySetSchema,
  signingKeySetSchema,
  type SignedKeySet,
  type SigningKeySet,
} from '@causeway/contracts';
import { signingKeyId, verifyPayload } from '@causeway/crypto';
import { STATE_FILES, replaceFile } from './files';

/**
 * The control plane's signing keys this node trusts, pinned at enrolment. A new key set is
 * accepted only when the CA pinned at enrolment signed it, it names this installation's issuer,
 * and its version is newer: neither the broker nor an old key set can change the node's trust.
 */
export class TrustStore {
  private keys = new Map<string, KeyObject>();
  private current: SigningKeySet;
  private currentDocument: string;

  private constructor(
    private readonly stateDir: string,
    private readonly caCertPem: string,
    readonly issuer: string,
    initial: SignedKeySet,
  ) {
    this.current = this.check(initial);
    this.currentDocument = initial.document;
    this.keys = keyMap(this.current);
  }

  /** Reads ca.crt and trust.json from the state directory. */
  static open(stateDir: string, issuer: string): TrustStore {
    const caFile = join(stateDir, STATE_FILES.caChain);
    const trustFile = join(stateDir, STATE_FILES.trust);
    if (!existsSync(caFile) || !existsSync(trustFile)) {
      throw new Error(
        `${stateDir} holds no trust anchors (${STATE_FILES.caChain}, ${STATE_FILES.trust}); enrol the node first`,
      );
    }
    const signed = signedKeySetSchema.parse(JSON.parse(readFileSync(trustFile, 'utf8')));
    return new TrustStore(stateDir, readFileSync(caFile, 'utf8'), issuer, signed);
  }

  get version(): number {
    return this.current.version;
  }

  /** The pinned key with this id, if any. Never fetched from anywhere else. */
  key(kid: string): KeyObject | undefined {
    return this.keys.get(kid);
  }

  /** Installs a newer key set; returns false when it is the one already held. */
  update(signed: SignedKeySet): boolean {
    const next = this.check(signed);
    if (next.version === this.current.version && signed.document === this.currentDocument) {
      return false;
    }
    if (next.version <= this.current.version) {
      throw new CausewayError(
        'conflict',
        `Key set version ${next.version} is not newer than the one this node holds (${this.current.version}).`,
      );
    }
    replaceFile(this.stateDir, STATE_FILES.trust, `${JSON.stringify(signed)}\n`);
    this.current = next;
    this.currentDocument = signed.document;
    this.keys = keyMap(next);
    return true;
  }

  private check(signed: SignedKeySet): SigningKeySet {
    const valid = verifyPayload(
      this.caCertPem,
      Buffer.from(signed.document, 'utf8'),
      Buffer.from(signed.signature, 'base64'),
    );
    if (!valid) {
      throw new CausewayError(
        'forbidden',
        'The key set is not signed by the pinned certificate authority.',
      );
    }
    let parsed: SigningKeySet;
    try {
      parsed = signingKeySetSchema.parse(JSON.parse(signed.document));
    } catch {
      throw new CausewayError('validation_failed', 'The key set document is not valid.');
    }
    if (parsed.issuer !== this.issuer) {
      throw new CausewayError('forbidden', 'The key set belongs to another installation.');
    }
    return parsed;
  }
}

/** Keys by id; an id that is not the key's own fingerprint is refused, not trusted. */
function keyMap(set: SigningKeySet): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const k of set.keys) {
    const key = createPublicKey({ key: { ...k.jwk }, format: 'jwk' });
    if (signingKeyId(key) !== k.kid) {
      throw new CausewayError('validation_failed', `Key id ${k.kid} does not match its key.`);
    }
    keys.set(k.kid, key);
  }
  return keys;
}
