import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { delegationIssuer } from '@causeway/contracts';
import { NodeBridge } from './bridge/node-bridge';
import { NODE_CONFIG, NODE_LOGGER, type NodeConfig } from './config/config';
import { FilesService } from './files/files.service';
import { UploadLifecycle } from './files/upload-lifecycle';
import { DiagnosticsHandlers } from './diagnostics/diagnostics.handlers';
import { NodeAudit } from './audit/node-audit';
import { NodeAuditScheduler } from './audit/node-audit-scheduler';
import { NodeStore } from './state/node-store';
import { NodeIdentity } from './trust/node-identity';
import { TrustHandlers } from './trust/trust.handlers';
import { TrustStore } from './trust/trust-store';
import { WorkspacesHandlers } from './workspaces/workspaces.handlers';
import { NodeKeys, resolveNodeSealSecret } from './keys';
import { KeysHandlers } from './keys/keys.handlers';
import { OBJECT_STORE, createObjectStore, type ObjectStore } from './storage';

@Module({})
export class NodeModule {
  static forRoot(config: NodeConfig, logger: Logger): DynamicModule {
    return {
      module: NodeModule,
      providers: [
        { provide: NODE_CONFIG, useValue: config },
        { provide: NODE_LOGGER, useValue: logger },
        { provide: NodeStore, useFactory: () => NodeStore.open(config.stateDir) },
        { provide: NodeIdentity, useFactory: () => NodeIdentity.open(config.stateDir) },
        {
          provide: TrustStore,
          useFactory: () =>
            TrustStore.open(config.stateDir, delegationIssuer(config.bridgeNamespace)),
        },
        {
          provide: NodeAudit,
          inject: [NodeStore],
          useFactory: (store: NodeStore) => new NodeAudit(store),
        },
        TrustHandlers,
        DiagnosticsHandlers,
        {
          // Opening unseals the keystore: a wrong CAUSEWAY_NODE_SEAL_KEY stops the node here.
          provide: NodeKeys,
          inject: [NodeStore, NodeAudit],
          useFactory: async (store: NodeStore, audit: NodeAudit) => {
            const keys = await NodeKeys.open(store, {
              sealSecret: resolveNodeSealSecret({
                nodeSealKey: config.nodeSealKey,
                stateDir: config.stateDir,
              }),
              events: { record: (event) => audit.record(event) },
            });
            audit.record({ code: 'key.keystore_opened', fields: { nodeId: config.nodeId } });
            await keys.rotation.resumeJobs();
            return keys;
          },
        },
        { provide: OBJECT_STORE, useFactory: () => createObjectStore(config.storage) },
        WorkspacesHandlers,
        FilesService,
        {
          provide: UploadLifecycle,
          inject: [NodeStore, NodeKeys, OBJECT_STORE, NodeAudit],
          useFactory: (store: NodeStore, keys: NodeKeys, objects: ObjectStore, audit: NodeAudit) =>
            new UploadLifecycle(store, keys, objects, {
              sweepIntervalMs: config.uploadSweepIntervalMs,
              logger,
              audit,
            }),
        },
        KeysHandlers,
        NodeAuditScheduler,
        NodeBridge,
      ],
    };
  }
}
