import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { delegationIssuer } from '@causeway/contracts';
import { NodeBridge } from './bridge/node-bridge';
import { NODE_CONFIG, NODE_LOGGER, type NodeConfig } from './config/config';
import { DiagnosticsHandlers } from './diagnostics/diagnostics.handlers';
import { NodeAudit } from './audit/node-audit';
import { NodeStore } from './state/node-store';
import { NodeIdentity } from './trust/node-identity';
import { TrustHandlers } from './trust/trust.handlers';
import { TrustStore } from './trust/trust-store';
import { WorkspacesHandlers } from './workspaces/workspaces.handlers';

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
        WorkspacesHandlers,
        NodeBridge,
      ],
    };
  }
}
