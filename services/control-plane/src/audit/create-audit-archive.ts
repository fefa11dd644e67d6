import type { AuditArchive } from '@causeway/audit';
import type { AuditArchiveConfig } from '../config/config';
import { DirectoryAuditArchive } from './audit-archive-store';
import { S3AuditArchive } from './s3-audit-archive';

/**
 * Builds the configured audit archive (CAUSEWAY_AUDIT_ARCHIVE) and checks it can be used, so a
 * wrong bucket stops the control plane at start rather than failing the next seal hours later.
 */
export async function createAuditArchive(config: AuditArchiveConfig): Promise<AuditArchive> {
  switch (config.driver) {
    case 'directory':
      return new DirectoryAuditArchive(config.directory);
    case 's3': {
      const archive = new S3AuditArchive(config);
      await archive.init();
      return archive;
    }
    default: {
      const never: never = config;
      // Only the driver: the rest of an S3 configuration holds the secret key.
      throw new Error(
        `unknown audit archive driver ${JSON.stringify((never as { driver: unknown }).driver)}`,
      );
    }
  }
}
