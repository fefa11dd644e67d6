import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Inject,
  Injectable,
  Optional,
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

/** Optional injection token of the scheduler's clock (ms since the epoch); Date.now without it. */
export const NODE_AUDIT_CLOCK = Symbol('NodeAuditClock');

/** How often the schedule is looked at; a slot is sealed at most this long after its time. */
export const CHECK_INTERVAL_MS = 60_000;

/**
 * Runs the node's audit seal schedule while the node runs: segments signed with the node's
 * signing key (read at each seal, since a certificate renewal replaces it) go to its storage.
 * It looks at start too, so a slot missed while the node was down is sealed when it comes back
 * rather than a minute later (or never, for a node that restarts more often than that).
 */
@Injectable()
export class NodeAuditScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly schedule: NodeAuditSchedule;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Date | undefined> | undefined;

  constructor(
    @Inject(NodeStore) store: NodeStore,
    @Inject(OBJECT_STORE) objects: ObjectStore,
    @Inject(NODE_CONFIG) config: NodeConfig,
    @Inject(NODE_LOGGER) logger: Logger,
    @Optional() @Inject(NODE_AUDIT_CLOCK) now: () => number = Date.now,
  ) {
    this.logger = logger;
    const archiver = new NodeAuditArchiver(store, objectStoreArchive(objects), now);
    this.schedule = new NodeAuditSchedule(store, archiver, {
      sealTimes: config.audit.sealTimes,
      retentionDays: config.audit.retentionDays,
      signingKey: () =>
        loadSigningPrivateKey(readFileSync(join(config.stateDir, STATE_FILES.signingKey), 'utf8')),
      now,
    });
  }

  onApplicationBootstrap(): void {
    // Not awaited: a slow or unreachable store must not hold up the node's start.
    void this.runDue();
    this.timer = setInterval(() => void this.runDue(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Let a seal in progress finish before the store it writes to is closed.
    await this.running;
  }

  /**
   * Seals when a scheduled time has passed since the last run, one run at a time (a run
   * overlapping another would seal the same entries twice). Resolves with the slot sealed, if
   * any; failures are logged and retried at the next check.
   */
  runDue(): Promise<Date | undefined> {
    this.running ??= this.schedule
      .tick()
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'audit sealing failed');
        return undefined;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
