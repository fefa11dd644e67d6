import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { MessageSigner } from '@causeway/bridge';
import { loadSigningPrivateKey } from '@causeway/crypto';
import { STATE_FILES } from './files';

/** Suffix of keys made for a renewal that has not been confirmed yet. */
export const PENDING = '.next';

/**
 * The node's own keys and certificate as held in its state directory. The signer is shared by
 * everything that signs (replies, heartbeats), so a renewal swaps the key everywhere at once.
 */
export class NodeIdentity {
  readonly signer: MessageSigner;

  private constructor(
    readonly stateDir: string,
    signingKey: KeyObject,
  ) {
    this.signer = new MessageSigner(signingKey);
  }

  static open(stateDir: string): NodeIdentity {
    completeInterruptedRenewal(stateDir);
    const file = join(stateDir, STATE_FILES.signingKey);
    if (!existsSync(file)) {
      throw new Error(
        `${stateDir} holds no signing key (${STATE_FILES.signingKey}); enrol the node first`,
      );
    }
    return new NodeIdentity(stateDir, loadSigningPrivateKey(readFileSync(file, 'utf8')));
  }

  certificatePem(): string {
    return readFileSync(join(this.stateDir, STATE_FILES.certificate), 'utf8');
  }

  /** The CA pinned at enrolment; renewals never replace it. */
  caCertificatePem(): string {
    return readFileSync(join(this.stateDir, STATE_FILES.caChain), 'utf8');
  }

  certificateKeyPem(): string {
    return readFileSync(join(this.stateDir, STATE_FILES.certificateKey), 'utf8');
  }

  /** Validity of the current certificate. */
  validity(): { notBefore: Date; notAfter: Date; serial: string } {
    const cert = new X509Certificate(this.certificatePem());
    return {
      notBefore: new Date(cert.validFrom),
      notAfter: new Date(cert.validTo),
      serial: cert.serialNumber.toLowerCase(),
    };
  }
}

/**
 * A renewal writes the new keys as `*.next` before asking, then the certificate, then moves
 * the keys into place. If the node stopped after the control plane answered but before the
 * move, the certificate on disk already matches the pending key: finish the move now.
 */
export function completeInterruptedRenewal(stateDir: string): void {
  const pendingKey = join(stateDir, STATE_FILES.certificateKey + PENDING);
  const pendingSigning = join(stateDir, STATE_FILES.signingKey + PENDING);
  if (!existsSync(pendingKey) || !existsSync(pendingSigning)) return;
  const cert = new X509Certificate(readFileSync(join(stateDir, STATE_FILES.certificate), 'utf8'));
  const pendingPublic = createPublicKey(readFileSync(pendingKey, 'utf8'));
  if (cert.publicKey.equals(pendingPublic)) {
    renameSync(pendingKey, join(stateDir, STATE_FILES.certificateKey));
    renameSync(pendingSigning, join(stateDir, STATE_FILES.signingKey));
  }
  // Otherwise the renewal never completed: the pending keys are simply replaced next time.
}
