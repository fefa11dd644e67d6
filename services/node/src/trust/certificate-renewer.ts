import { X509Certificate, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
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
  verifyNodeCertificate,
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
  private failures = 0;
  private retryAt = 0;

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
    if (this.running || this.now() < this.retryAt || !this.due()) return;
    this.running = this.renew()
      .then(() => {
        this.failures = 0;
        this.retryAt = 0;
      })
      .catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        // Backs off (up to an hour) so a control plane that keeps refusing is not hammered,
        // nor the audit trail filled with the same failure every interval.
        this.failures += 1;
        const delay = Math.min(
          3_600_000,
          this.options.checkIntervalMs * 2 ** Math.min(this.failures, 16),
        );
        this.retryAt = this.now() + delay;
        this.options.logger.warn(
          { reason, retryInMs: delay },
          'certificate renewal failed; will try again',
        );
        this.options.audit.record({ code: 'certificate.renewal_failed', fields: { reason } });
      })
      .finally(() => (this.running = undefined));
  }

  async renew(): Promise<IssuedCertificate> {
    const { identity } = this.options;
    const dir = identity.stateDir;
    // Keys left pending by an earlier attempt may already be recorded by the control plane
    // (its answer was lost): reuse them, and prove with the pending key first, then the current.
    const pending = readPending(dir);
    const keys = pending ?? (await makePending(dir));
    const provers = pending
      ? [keys.certificateKeyPem, identity.certificateKeyPem()]
      : [identity.certificateKeyPem()];
    let refusal: Error | undefined;
    for (const prover of provers) {
      const answer = await this.ask(keys, prover);
      if (answer.ok) return this.install(answer.issued, keys);
      refusal = answer.error;
      if (answer.code !== 'renewal_refused') break;
    }
    throw refusal ?? new Error('renewal refused');
  }

  private async ask(
    keys: PendingKeys,
    proverKeyPem: string,
  ): Promise<
    { ok: true; issued: IssuedCertificate } | { ok: false; code: string | undefined; error: Error }
  > {
    const { nodeId } = this.options;
    const csr = createCsr({ privateKeyPem: keys.certificateKeyPem, commonName: nodeId });
    const signingKey = createPublicKey(loadSigningPrivateKey(keys.signingKeyPem))
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const at = new Date(this.now()).toISOString();
    const message = renewalProofMessage({ nodeId, at, csr, signingKey });
    const proof = signPayload(proverKeyPem, Buffer.from(message, 'utf8'));
    const res = await fetch(
      new URL(`/api/v1/nodes/${nodeId}/certificate`, this.options.controlPlane),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ csr, signingKey, at, proof: proof.toString('base64') }),
        signal: AbortSignal.timeout(30_000),
      },
    );
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const e = (body ?? {}) as { code?: string; message?: string };
      return {
        ok: false,
        code: e.code,
        error: new Error(`${e.message ?? `HTTP ${res.status}`} [${e.code ?? res.status}]`),
      };
    }
    return { ok: true, issued: issuedCertificateSchema.parse(body) };
  }

  /**
   * Installs a renewal only if the certificate chains to the CA pinned at enrolment, names this
   * node and carries the new key: whoever answers for the control-plane URL cannot swap the
   * node's trust anchor or hand it a certificate for another key.
   */
  private install(issued: IssuedCertificate, keys: PendingKeys): IssuedCertificate {
    const { identity, nodeId } = this.options;
    const dir = identity.stateDir;
    const verified = verifyNodeCertificate({
      certPem: issued.certificatePem,
      caCertPem: identity.caCertificatePem(),
      now: new Date(this.now()),
    });
    const certificateKey = createPublicKey(keys.certificateKeyPem);
    if (
      verified.nodeId !== nodeId ||
      !new X509Certificate(issued.certificatePem).publicKey.equals(certificateKey)
    ) {
      throw new Error('the renewed certificate is not for this node and its new key');
    }
    replaceFile(dir, STATE_FILES.certificate, issued.certificatePem);
    renameSync(
      join(dir, STATE_FILES.certificateKey + PENDING),
      join(dir, STATE_FILES.certificateKey),
    );
    renameSync(join(dir, STATE_FILES.signingKey + PENDING), join(dir, STATE_FILES.signingKey));
    identity.signer.use(loadSigningPrivateKey(keys.signingKeyPem));
    try {
      this.options.trust.update(issued.trust);
    } catch (error) {
      // Same or older key set: nothing to change (the trust store checks the CA signature).
      this.options.logger.debug({ reason: String(error) }, 'key set from renewal not applied');
    }
    this.options.audit.record({
      code: 'certificate.renewed',
      fields: { serial: verified.serial, notAfter: verified.notAfter.toISOString() },
    });
    this.options.logger.info(
      { serial: verified.serial, notAfter: verified.notAfter.toISOString() },
      'node certificate renewed',
    );
    return issued;
  }
}

interface PendingKeys {
  certificateKeyPem: string;
  signingKeyPem: string;
}

function readPending(dir: string): PendingKeys | undefined {
  const key = join(dir, STATE_FILES.certificateKey + PENDING);
  const signing = join(dir, STATE_FILES.signingKey + PENDING);
  if (!existsSync(key) || !existsSync(signing)) return undefined;
  return {
    certificateKeyPem: readFileSync(key, 'utf8'),
    signingKeyPem: readFileSync(signing, 'utf8'),
  };
}

/**
 * New keys, written as pending before anything is asked: if the node stops after the control
 * plane answered, it finishes the swap at start instead of holding a certificate without its key.
 */
async function makePending(dir: string): Promise<PendingKeys> {
  const [certificateKeys, signingKeys] = await Promise.all([
    generateKeyPair(),
    generateSigningKeyPair(),
  ]);
  replaceFile(dir, STATE_FILES.signingKey + PENDING, signingKeys.privateKeyPem);
  replaceFile(dir, STATE_FILES.certificateKey + PENDING, certificateKeys.privateKeyPem);
  return {
    certificateKeyPem: certificateKeys.privateKeyPem,
    signingKeyPem: signingKeys.privateKeyPem,
  };
}
