import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { errorMessage } from '@causeway/bridge';
import type { SignedKeySet } from '@causeway/contracts';
import { NodeRpc } from '../bridge/node-rpc';
import { NodesService } from '../nodes/nodes.service';
import { SigningKeysService } from './signing-keys.service';

/** How often retired keys past their grace period are dropped from the nodes' key sets. */
const SWEEP_MS = 30_000;
/** Key-set pushes in flight at once. */
const PUSH_CONCURRENCY = 16;

export interface RotationResult {
  kid: string;
  retired: string | undefined;
  version: number;
  nodesUpdated: number;
  nodesMissed: number;
}

/**
 * Rotates the delegation signing key without failing a request: (1) the next key is announced
 * to every online node, (2) only then does it sign, (3) the old key keeps verifying for the
 * grace period and is then dropped from the nodes' key sets. A node that missed the
 * announcement (offline) gets the key set when it first answers "unknown key" (see NodeRpc).
 */
@Injectable()
export class KeyRotation implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly keys: SigningKeysService,
    private readonly nodes: NodesService,
    private readonly rpc: NodeRpc,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('KeyRotation');
  }

  onApplicationBootstrap(): void {
    if (!this.keys.enabled) return;
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) =>
        this.logger.warn({ reason: errorMessage(error) }, 'retired key sweep failed'),
      );
    }, SWEEP_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async rotate(requestId: string): Promise<RotationResult> {
    const prepared = await this.keys.prepareRotation();
    const announced = await this.pushToOnlineNodes(prepared.keySet, requestId);
    const activated = await this.keys.activateNext();
    // Tells nodes which key is active now; those that miss it still verify both keys.
    await this.pushToOnlineNodes(activated.keySet, requestId);
    return {
      kid: activated.kid,
      retired: activated.retired,
      version: versionOf(activated.keySet),
      nodesUpdated: announced.updated,
      nodesMissed: announced.missed,
    };
  }

  /** Drops retired keys past their grace period and tells the nodes. */
  async sweep(): Promise<void> {
    const changed = await this.keys.dropExpiredRetired();
    if (changed) await this.pushToOnlineNodes(changed, 'retired-key-sweep');
  }

  private async pushToOnlineNodes(
    keySet: SignedKeySet,
    requestId: string,
  ): Promise<{ updated: number; missed: number }> {
    const online = (await this.nodes.list()).filter((n) => n.status === 'online');
    let updated = 0;
    let missed = 0;
    for (let i = 0; i < online.length; i += PUSH_CONCURRENCY) {
      const batch = online.slice(i, i + PUSH_CONCURRENCY);
      const results = await Promise.allSettled(
        batch.map((n) => this.rpc.pushKeys(n, requestId, keySet)),
      );
      results.forEach((r, index) => {
        if (r.status === 'fulfilled') {
          updated += 1;
          return;
        }
        missed += 1;
        this.logger.warn(
          { nodeId: batch[index]?.id, reason: errorMessage(r.reason) },
          'node did not take the new key set; it will get it on its next request',
        );
      });
    }
    return { updated, missed };
  }
}

function versionOf(keySet: SignedKeySet): number {
  return (JSON.parse(keySet.document) as { version: number }).version;
}
