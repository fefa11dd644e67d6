import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { KeyPolicySync } from './key-policy-sync';
import { WorkspaceKeysController } from './workspace-keys.controller';
import { WorkspaceKeysRepository } from './workspace-keys.repository';
import { WorkspaceKeysService } from './workspace-keys.service';

/**
 * Workspace master keys: rotation on demand and status over HTTP, relayed to the node; and the
 * tenant's rotation period brought to the nodes, whose schedulers rotate by it.
 */
@Module({
  imports: [NodesModule],
  controllers: [WorkspaceKeysController],
  providers: [WorkspaceKeysRepository, WorkspaceKeysService, KeyPolicySync],
  exports: [KeyPolicySync],
})
export class WorkspaceKeysModule {}
