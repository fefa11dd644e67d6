import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import {
  createCertificateAuthority,
  sealPrivateKey,
  unsealPrivateKey,
  type CertificateAuthority,
} from '@causeway/crypto';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';

const CA_VALIDITY_DAYS = 3650;

/**
 * The control plane's certificate authority. Its key lives in PostgreSQL sealed with
 * CAUSEWAY_CA_SEAL_KEY (AES-256-GCM, scrypt); created on first use by whichever instance gets
 * there first (an advisory lock makes the others wait and then read it).
 */
@Injectable()
export class CertificateAuthorityService {
  private loaded: Promise<CertificateAuthority> | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.config.caSealKey !== undefined;
  }

  authority(): Promise<CertificateAuthority> {
    this.loaded ??= this.load().catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }

  private async load(): Promise<CertificateAuthority> {
    const secret = this.config.caSealKey;
    if (secret === undefined) throw new CausewayError('enrolment_unavailable');
    return this.dataSource.transaction(async (manager) => {
      await manager.query(
        `SELECT pg_advisory_xact_lock(hashtext('causeway.certificate_authority'))`,
      );
      const rows = await manager.query<Array<{ cert_pem: string; sealed_key: string }>>(
        'SELECT cert_pem, sealed_key FROM certificate_authority WHERE id = 1',
      );
      const row = rows[0];
      if (row)
        return { certPem: row.cert_pem, keyPem: await unsealPrivateKey(row.sealed_key, secret) };
      const ca = await createCertificateAuthority({
        commonName: 'Causeway node CA',
        validityDays: CA_VALIDITY_DAYS,
        now: this.clock.now(),
      });
      await manager.query(
        'INSERT INTO certificate_authority (id, cert_pem, sealed_key) VALUES (1, $1, $2)',
        [ca.certPem, await sealPrivateKey(ca.keyPem, secret)],
      );
      return ca;
    });
  }
}
