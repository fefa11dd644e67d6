import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { NodeBridge } from './bridge/node-bridge';
import { NODE_CONFIG, NODE_LOGGER, type NodeConfig } from './config/config';
import { DiagnosticsHandlers } from './diagnostics/diagnostics.handlers';
import { NodeStore } from './state/node-store';
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
        DiagnosticsHandlers,
        WorkspacesHandlers,
        NodeBridge,
      ],
    };
  }
}
