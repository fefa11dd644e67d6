import { writeFileSync } from 'node:fs';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  issuedCertificateSchema,
  renewalProofMessage,
  type IssuedCertificate,
} from '@causeway/contracts';
import {
  createCsr,
  generateKeyPair,
  generateSigningKeyPair,
  loadSigningPrivateKey,
  signPayload,
} from '@causeway/crypto';
import type { NodeAudit } from '../audit/node-audit';
import { STATE_FILES, replaceFile } from './files';
import { PENDING, type NodeIdentity } from './node-identity';
import type { TrustStore } from './trust-store';

export interface CertificateRenewerOptions {
  nodeId: string;
  controlPlane: string;
  identity: NodeIdentity;
  trust: TrustStore;
  audit: NodeAudit;
  logger: Logger;
  /** Renew when less than this is left; 0 means a third of the certificate's lifetime. */
  renewBeforeSeconds: number;
  checkIntervalMs: number;
  now?: () => number;
}

/**
 * Renews the node's certificate and signing key before the certificate expires, while the
 * bridge keeps running: new keys are made here, the request is proven with the current key,
 * and the new signing key is used from the moment the control plane has recorded it (it
 * still accepts the previous one for replies already under way).
 */
export class CertificateRenewer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: CertificateRenewerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.options.checkIntervalMs);
    this.timer.unref();
    this.check();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** True when the certificate is inside its renewal window. */
  due(): boolean {
    const { notBefore, notAfter } = this.options.identity.validity();
    const lifetime = notAfter.getTime() - notBefore.getTime();
    const before =
      this.options.renewBeforeSeconds > 0 ? this.options.renewBeforeSeconds * 1000 : lifetime / 3;
    return notAfter.getTime() - this.now() <= before;
  }

  private check(): void {
    if (this.running || !this.due()) return;
    this.running = this.renew()
      .then(() => undefined)
      .catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        this.options.logger.warn({ reason }, 'certificate renewal failed; will try again');
        this.options.audit.record({ code: 'certificate.renewal_failed', fields: { reason } });
      })
      .finally(() => (this.running = undefined));
  }

  async renew(): Promise<IssuedCertificate> {
    const { identity, nodeId } = this.options;
    const dir = identity.stateDir;
    const [certificateKeys, signingKeys] = await Promise.all([
      generateKeyPair(),
      generateSigningKeyPair(),
    ]);
    // Kept as pending first: if the node stops after the control plane answered, it finishes
    // the swap at start instead of holding a certificate without its key.
    writeFileSync(join(dir, STATE_FILES.certificateKey + PENDING), certificateKeys.privateKeyPem, {
      mode: 0o600,
    });
    writeFileSync(join(dir, STATE_FILES.signingKey + PENDING), signingKeys.privateKeyPem, {
      mode: 0o600,
    });
    const csr = createCsr({
      privateKeyPem: certificateKeys.privateKeyPem,
      publicKeyPem: certificateKeys.publicKeyPem,
      commonName: nodeId,
    });
    const at = new Date(this.now()).toISOString();
    const message = renewalProofMessage({ nodeId, at, csr, signingKey: signingKeys.publicKeyPem });
    const proof = signPayload(identity.certificateKeyPem(), Buffer.from(message, 'utf8'));
    const res = await fetch(
      new URL(`/api/v1/nodes/${nodeId}/certificate`, this.options.controlPlane),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          csr,
          signingKey: signingKeys.publicKeyPem,
          at,
          proof: proof.toString('base64'),
        }),
        signal: AbortSignal.timeout(30_000),
      },
    );
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const e = (body ?? {}) as { code?: string; message?: string };
      throw new Error(`${e.message ?? `HTTP ${res.status}`} [${e.code ?? res.status}]`);
    }
    const issued = issuedCertificateSchema.parse(body);
    replaceFile(dir, STATE_FILES.certificate, issued.certificatePem);
    replaceFile(dir, STATE_FILES.caChain, issued.caChainPem);
    renameSync(
      join(dir, STATE_FILES.certificateKey + PENDING),
      join(dir, STATE_FILES.certificateKey),
    );
    renameSync(join(dir, STATE_FILES.signingKey + PENDING), join(dir, STATE_FILES.signingKey));
    identity.signer.use(loadSigningPrivateKey(signingKeys.privateKeyPem));
    try {
      this.options.trust.update(issued.trust);
    } catch (error) {
      // Same or older key set: nothing to change. A bad one is worth a warning, not a failure.
      this.options.logger.debug({ reason: String(error) }, 'key set from renewal not applied');
    }
    const validity = identity.validity();
    this.options.audit.record({
      code: 'certificate.renewed',
      fields: { serial: validity.serial, notAfter: validity.notAfter.toISOString() },
    });
    this.options.logger.info(
      { serial: validity.serial, notAfter: validity.notAfter.toISOString() },
      'node certificate renewed',
    );
    return issued;
  }
}
