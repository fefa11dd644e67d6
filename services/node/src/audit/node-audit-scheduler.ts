import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { loadSigningPrivateKey } from '@causeway/crypto';
import { NODE_CONFIG, NODE_LOGGER, type NodeConfig } from '../config/config';
import { NodeStore } from '../state/node-store';
import { OBJECT_STORE, type ObjectStore } from '../storage';
import { STATE_FILES } from '../trust/files';
import { NodeAuditArchiver, NodeAuditSchedule, objectStoreArchive } from './node-audit-archive';

/**
 * Runs the node's audit seal schedule while the node runs: segments signed with the node's
 * signing key (read at each seal, since a certificate renewal replaces it) go to its storage.
 */
@Injectable()
export class NodeAuditScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly schedule: NodeAuditSchedule;

  constructor(
    @Inject(NodeStore) store: NodeStore,
    @Inject(OBJECT_STORE) objects: ObjectStore,
    @Inject(NODE_CONFIG) config: NodeConfig,
    @Inject(NODE_LOGGER) logger: Logger,
  ) {
    const archiver = new NodeAuditArchiver(store, objectStoreArchive(objects));
    this.schedule = new NodeAuditSchedule(store, archiver, {
      sealTimes: config.audit.sealTimes,
      retentionDays: config.audit.retentionDays,
      signingKey: () =>
        loadSigningPrivateKey(readFileSync(join(config.stateDir, STATE_FILES.signingKey), 'utf8')),
      onError: (error) => logger.error({ err: error }, 'audit sealing failed'),
    });
  }

  onApplicationBootstrap(): void {
    this.schedule.start();
  }

  onApplicationShutdown(): void {
    this.schedule.stop();
  }
}
