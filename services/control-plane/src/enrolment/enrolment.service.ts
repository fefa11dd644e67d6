import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import { IsNull, type DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import {
  inspectCsr,
  isPkiError,
  loadSigningPublicKey,
  randomToken,
  sha256Hex,
  signNodeCertificate,
} from '@causeway/crypto';
import type { NodeBrokerCredentials } from '../broker-users/broker-users.service';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { NodesService } from '../nodes/nodes.service';
import { TenantsService } from '../tenants/tenants.service';
import { CertificateAuthorityService } from '../trust/certificate-authority';
import { SigningKeysService } from '../trust/signing-keys.service';
import { JoinTokenEntity } from './join-token.entity';
import {
  createJoinTokenSchema,
  enrolSchema,
  type EnrolmentResult,
  type JoinTokenView,
} from './enrolment.dto';
import { AuditService } from '../audit/audit.service';

@Injectable()
export class EnrolmentService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tenants: TenantsService,
    private readonly nodes: NodesService,
    private readonly ca: CertificateAuthorityService,
    private readonly keys: SigningKeysService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    private readonly audit: AuditService,
  ) {
    logger.setContext('EnrolmentService');
  }

  /** A one-time join token, returned once; only its hash is kept. */
  async createToken(
    tenantSlug: string,
    input: unknown,
  ): Promise<JoinTokenView & { token: string }> {
    const { region, ttlSeconds } = parseInput(createJoinTokenSchema, input ?? {}, 'join token');
    const tenant = await this.tenants.getActiveBySlug(tenantSlug);
    if (region !== undefined && region !== tenant.region) {
      throw new CausewayError(
        'validation_failed',
        `Tenant "${tenant.slug}" keeps its data in region "${tenant.region}": a node cannot join it in "${region}".`,
      );
    }
    if (!this.ca.enabled) throw new CausewayError('enrolment_unavailable');
    const token = `cwj_${randomToken(32)}`;
    const now = this.clock.now();
    const row = await this.dataSource.getRepository(JoinTokenEntity).save({
      id: randomUUID(),
      tenantId: tenant.id,
      region: tenant.region,
      tokenHash: sha256Hex(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      usedAt: null,
      usedByNode: null,
      revokedAt: null,
    });
    this.logger.info({ joinTokenId: row.id, tenantId: tenant.id }, 'join token created');
    return { ...this.view(row), token };
  }

  async listTokens(tenantSlug: string): Promise<JoinTokenView[]> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const rows = await this.dataSource
      .getRepository(JoinTokenEntity)
      .find({ where: { tenantId: tenant.id }, order: { createdAt: 'DESC' } });
    return rows.map((r) => this.view(r));
  }

  async revokeToken(tenantSlug: string, id: string): Promise<JoinTokenView> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const repo = this.dataSource.getRepository(JoinTokenEntity);
    const row = await repo.findOneBy({ id, tenantId: tenant.id });
    if (!row)
      throw new CausewayError('not_found', 'No join token with this id exists in this tenant.');
    if (!row.revokedAt) await repo.update({ id }, { revokedAt: this.clock.now() });
    return this.view((await repo.findOneBy({ id })) as JoinTokenEntity);
  }

  /**
   * Enrols a node: the token is consumed atomically (a second use finds it used), the CSR is
   * checked and signed by the CA, and the node gets its own broker user.
   */
  async enrol(input: unknown): Promise<EnrolmentResult> {
    const { token, csr, name, signingKey } = parseInput(enrolSchema, input, 'enrolment request');
    if (!this.ca.enabled) throw new CausewayError('enrolment_unavailable');
    requireSigningKey(signingKey);
    const { commonName: nodeId, organization: requestedTenant } = csrChecked(() => inspectCsr(csr));
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(nodeId)) {
      throw new CausewayError(
        'invalid_csr',
        'The subject (CN) of the request must be the node id, a lowercase UUID.',
      );
    }
    const now = this.clock.now();
    const claimed = (await this.dataSource
      .createQueryBuilder()
      .update(JoinTokenEntity)
      .set({ usedAt: now, usedByNode: nodeId })
      .where({ tokenHash: sha256Hex(token), usedAt: IsNull(), revokedAt: IsNull() })
      .andWhere('expires_at > :now', { now })
      .returning(['id', 'tenantId', 'region'])
      .execute()) as { raw: Array<{ id: string; tenant_id: string; region: string }> };
    const grant = claimed.raw[0];
    if (!grant) {
      this.logger.warn(
        { nodeId },
        'enrolment refused: join token unknown, used, expired or revoked',
      );
      await this.audit.record({
        tenantId: null,
        type: 'admin.node.enrolment_refused',
        outcome: 'failure',
        actor: `node:${nodeId}`,
        reason: 'join_token_invalid',
        details: { nodeId },
      });
      throw new CausewayError('join_token_invalid');
    }
    let issued: ReturnType<typeof signNodeCertificate>;
    let credentials: NodeBrokerCredentials;
    try {
      if (requestedTenant !== undefined && requestedTenant !== grant.tenant_id) {
        this.logger.warn(
          { nodeId, joinTokenId: grant.id },
          'enrolment refused: the CSR names another tenant than the join token',
        );
        await this.audit.record({
          tenantId: grant.tenant_id,
          type: 'admin.node.enrolment_refused',
          outcome: 'failure',
          actor: `node:${nodeId}`,
          reason: 'tenant_mismatch',
          details: { nodeId, joinTokenId: grant.id },
        });
        throw new CausewayError(
          'invalid_csr',
          'The certificate request names another tenant (O) than the one the join token belongs to.',
        );
      }
      const authority = await this.ca.authority();
      issued = signNodeCertificate({
        ca: authority,
        csrPem: csr,
        nodeId,
        tenantId: grant.tenant_id,
        validitySeconds: this.config.nodeCertValiditySeconds,
        now,
      });
      ({ credentials } = await this.nodes.registerEnrolled({
        id: nodeId,
        tenantId: grant.tenant_id,
        name,
        region: grant.region,
        certSerial: issued.serial,
        certNotAfter: issued.notAfter,
        certPem: issued.certPem,
        signingKeyPem: signingKey,
      }));
    } catch (error) {
      // Nothing was enrolled (a name already taken, the broker unreachable): give the token
      // back so the operator can try again with it.
      await this.dataSource
        .getRepository(JoinTokenEntity)
        .update({ id: grant.id, usedByNode: nodeId }, { usedAt: null, usedByNode: null });
      throw error;
    }
    this.logger.info({ nodeId, tenantId: grant.tenant_id, joinTokenId: grant.id }, 'node enrolled');
    await this.audit.record({
      tenantId: grant.tenant_id,
      type: 'admin.node.enrolled',
      outcome: 'success',
      actor: `node:${nodeId}`,
      details: {
        nodeId,
        name,
        region: grant.region,
        joinTokenId: grant.id,
        certSerial: String(issued.serial),
      },
    });
    return {
      nodeId,
      tenantId: grant.tenant_id,
      region: grant.region,
      certificatePem: issued.certPem,
      caChainPem: issued.chainPem.join(''),
      certificateNotAfter: issued.notAfter.toISOString(),
      trust: await this.keys.keySet(),
      broker: {
        username: credentials.username,
        password: credentials.password,
        amqpUrl: credentials.amqpUrl(this.config.amqpUrl),
      },
      bridgeNamespace: this.config.bridgeNamespace,
    };
  }

  private view(row: JoinTokenEntity): JoinTokenView {
    const now = this.clock.now();
    const state = row.revokedAt
      ? 'revoked'
      : row.usedAt
        ? 'used'
        : row.expiresAt <= now
          ? 'expired'
          : 'active';
    return {
      id: row.id,
      tenantId: row.tenantId,
      region: row.region,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      usedAt: row.usedAt?.toISOString() ?? null,
      usedByNode: row.usedByNode,
      revokedAt: row.revokedAt?.toISOString() ?? null,
      state,
    };
  }
}

/** The node's signing key must be an Ed25519 public key; anything else is refused up front. */
export function requireSigningKey(pem: string): void {
  try {
    loadSigningPublicKey(pem);
  } catch (error) {
    if (isPkiError(error))
      throw new CausewayError(
        'validation_failed',
        'signingKey must be an Ed25519 public key in SPKI PEM form.',
      );
    throw error;
  }
}

/** Runs a CSR check or signing step; a refusal by the PKI becomes a clear `invalid_csr`. */
export function csrChecked<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (isPkiError(error))
      throw new CausewayError(
        'invalid_csr',
        `The certificate signing request is not valid: ${error.message}`,
      );
    throw error;
  }
}
