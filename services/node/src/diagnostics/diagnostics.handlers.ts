import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@causeway/bridge';
import { NODE_CONFIG, type NodeConfig } from '../config/config';
import { NODE_VERSION } from '../version';
import { WorkspacesHandlers } from '../workspaces/workspaces.handlers';

/** `ping` and `node.info`: read-only, hence naturally idempotent when redelivered. */
@Injectable()
export class DiagnosticsHandlers {
  private readonly startedAt = new Date();

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly workspaces: WorkspacesHandlers,
  ) {}

  handlers(): HandlerMap {
    return {
      ping: async ({ echo }, { logger }) => {
        logger.debug('ping');
        return {
          pong: true,
          nodeId: this.config.nodeId,
          ...(echo === undefined ? {} : { echo }),
          at: new Date().toISOString(),
        };
      },
      'node.info': async () => ({
        nodeId: this.config.nodeId,
        version: NODE_VERSION,
        hostname: hostname(),
        startedAt: this.startedAt.toISOString(),
        uptimeSeconds: Math.round(process.uptime()),
        runtime: `node ${process.version}`,
        workspaces: this.workspaces.count(),
      }),
    };
  }
}
