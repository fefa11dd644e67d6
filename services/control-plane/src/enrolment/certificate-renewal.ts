import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import {
  CausewayError,
  RENEWAL_PROOF_WINDOW_SECONDS,
  renewalProofMessage,
  renewalRequestSchema,
  type IssuedCertificate,
} from '@causeway/contracts';
import {
  isPkiError,
  signNodeCertificate,
  verifyNodeCertificate,
  verifyPayload,
} from '@causeway/crypto';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { NodeEntity } from '../nodes/node.entity';
import { CertificateAuthorityService } from '../trust/certificate-authority';
import { NodeKeys } from '../trust/node-keys';
import { SigningKeysService } from '../trust/signing-keys.service';
import { csrChecked, requireSigningKey } from './enrolment.service';
import { AuditService } from '../audit/audit.service';

/**
 * Renews a node's certificate and signing key before the certificate expires. The request is
 * authenticated by possession of the current certificate's key (a signature over the new CSR,
 * the new signing key and the time), so only the node itself can renew, and only while its
 * certificate is valid and it is not revoked. The previous signing key stays accepted until
 * the next renewal, so replies already on their way are not lost.
 */
@Injectable()
export class CertificateRenewal {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ca: CertificateAuthorityService,
    private readonly keys: SigningKeysService,
    private readonly nodeKeys: NodeKeys,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    private readonly audit: AuditService,
  ) {
    logger.setContext('CertificateRenewal');
  }

  async renew(nodeId: string, input: unknown): Promise<IssuedCertificate> {
    const request = parseInput(renewalRequestSchema, input, 'renewal request');
    if (!this.ca.enabled) throw new CausewayError('enrolment_unavailable');
    requireSigningKey(request.signingKey);
    const now = this.clock.now();
    let refused: { why: string; tenantId: string | null } | undefined;
    let renewed: { tenantId: string; serial: string; notAfter: string } | undefined;
    const refuse = (why: string, tenantId: string | null = null): never => {
      this.logger.warn({ nodeId, why }, 'certificate renewal refused');
      refused = { why, tenantId };
      throw new CausewayError('renewal_refused');
    };
    const authority = await this.ca.authority();
    const issued = await this.dataSource
      .transaction(async (manager) => {
        // Locked: two renewals of one node at once would both read the same "previous" key.
        const node = await manager.findOne(NodeEntity, {
          where: { id: nodeId },
          lock: { mode: 'pessimistic_write' },
        });
        if (!node || node.revokedAt || !node.certPem) return refuse('unknown or revoked node');
        try {
          verifyNodeCertificate({ certPem: node.certPem, caCertPem: authority.certPem, now });
        } catch (error) {
          if (isPkiError(error)) return refuse(`current certificate: ${error.code}`, node.tenantId);
          throw error;
        }
        const at = new Date(request.at);
        if (Math.abs(now.getTime() - at.getTime()) > RENEWAL_PROOF_WINDOW_SECONDS * 1000) {
          return refuse('proof time outside the window', node.tenantId);
        }
        if (node.renewedAt && at <= node.renewedAt)
          return refuse('proof older than the last renewal', node.tenantId);
        const message = renewalProofMessage({ nodeId, ...request });
        if (
          !verifyPayload(
            node.certPem,
            Buffer.from(message, 'utf8'),
            Buffer.from(request.proof, 'base64'),
          )
        ) {
          return refuse('proof signature does not verify', node.tenantId);
        }
        const issued = csrChecked(() =>
          signNodeCertificate({
            ca: authority,
            csrPem: request.csr,
            nodeId,
            tenantId: node.tenantId,
            validitySeconds: this.config.nodeCertValiditySeconds,
            now,
          }),
        );
        await manager.update(
          NodeEntity,
          { id: nodeId },
          {
            certPem: issued.certPem,
            certSerial: issued.serial,
            certNotAfter: issued.notAfter,
            previousSigningKeyPem: node.signingKeyPem,
            signingKeyPem: request.signingKey,
            renewedAt: at,
          },
        );
        this.logger.info(
          { nodeId, serial: issued.serial, notAfter: issued.notAfter.toISOString() },
          'node certificate renewed',
        );
        renewed = {
          tenantId: node.tenantId,
          serial: String(issued.serial),
          notAfter: issued.notAfter.toISOString(),
        };
        return {
          certificatePem: issued.certPem,
          caChainPem: issued.chainPem.join(''),
          certificateNotAfter: issued.notAfter.toISOString(),
          trust: await this.keys.keySet(),
        };
      })
      .catch(async (error: unknown) => {
        if (refused) {
          await this.audit.record({
            tenantId: refused.tenantId,
            type: 'admin.node.certificate_renewal_refused',
            outcome: 'failure',
            actor: `node:${nodeId}`,
            reason: refused.why,
            details: { nodeId },
          });
        }
        throw error;
      });
    // After the commit: a read before it would cache the old keys again.
    this.nodeKeys.invalidate(nodeId);
    if (renewed) {
      await this.audit.record({
        tenantId: renewed.tenantId,
        type: 'admin.node.certificate_renewed',
        outcome: 'success',
        actor: `node:${nodeId}`,
        details: { nodeId, certSerial: renewed.serial, notAfter: renewed.notAfter },
      });
    }
    return issued;
  }
}
