import { Global, Module } from '@nestjs/common';
import { CertificateAuthorityService } from './certificate-authority';
import { NodeKeys } from './node-keys';
import { SigningKeysService } from './signing-keys.service';

/**
 * The control plane's keys and what it knows of the nodes' keys. Global and free of the bridge,
 * so the bridge client can sign and verify with them.
 */
@Global()
@Module({
  providers: [CertificateAuthorityService, SigningKeysService, NodeKeys],
  exports: [CertificateAuthorityService, SigningKeysService, NodeKeys],
})
export class TrustModule {}
