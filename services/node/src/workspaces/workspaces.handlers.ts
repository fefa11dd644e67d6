import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@causeway/bridge';
import { CausewayError } from '@causeway/contracts';
import { NodeKeys } from '../keys';
import { NodeStore } from '../state/node-store';
import { OBJECT_STORE, type ObjectStore } from '../storage';

interface WorkspaceRow {
  id: string;
  tenant_id: string;
  name: string;
  created_at: string;
}

/** Workspace storage on the node. Bytes stay here; the control plane keeps metadata only. */
@Injectable()
export class WorkspacesHandlers {
  constructor(
    @Inject(NodeStore) private readonly store: NodeStore,
    @Inject(NodeKeys) private readonly keys: NodeKeys,
    @Inject(OBJECT_STORE) private readonly objects: ObjectStore,
  ) {}

  count(): number {
    return (this.store.db.prepare('SELECT COUNT(*) AS n FROM workspaces').get() as { n: number }).n;
  }

  handlers(): HandlerMap {
    return {
      'workspace.provision': async ({ workspaceId, tenantId, name }, { logger }) => {
        const existing = this.store.db
          .prepare('SELECT * FROM workspaces WHERE id = ?')
          .get(workspaceId) as WorkspaceRow | undefined;
        if (existing) {
          // The same request again (its completion record lost): the same answer, applied once.
          if (existing.tenant_id === tenantId && existing.name === name) {
            return { workspaceId, createdAt: existing.created_at };
          }
          throw new CausewayError(
            'conflict',
            'Another workspace with this id already exists on the node.',
          );
        }
        // Idempotent: an existing directory from an interrupted attempt is reused. Any failure
        // here (disk full, path blocked) is retried by the bridge and dead-lettered if it lasts.
        await mkdir(join(this.store.stateDir, 'workspaces', workspaceId), {
          recursive: true,
          mode: 0o700,
        });
        // The workspace's first master key is made here, on the node, and never leaves it.
        await this.keys.masterKeys.activeKey(workspaceId, tenantId);
        const createdAt = new Date().toISOString();
        this.store.db
          .prepare('INSERT INTO workspaces (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)')
          .run(workspaceId, tenantId, name, createdAt);
        logger.info({ workspaceId, tenantId }, 'workspace provisioned');
        return { workspaceId, createdAt };
      },
      'workspace.delete': async ({ workspaceId, tenantId }, { logger }) => {
        const existing = this.store.db
          .prepare('SELECT * FROM workspaces WHERE id = ?')
          .get(workspaceId) as WorkspaceRow | undefined;
        if (existing && existing.tenant_id !== tenantId) {
          throw new CausewayError('not_found', 'No workspace with this id exists on the node.');
        }
        // Keys first: from here on the data cannot be decrypted, whatever happens to the bytes.
        // Every step is idempotent, so a redelivery after a crash finishes the job.
        const { masterKeysDestroyed } = this.keys.destruction.destroyWorkspace(workspaceId);
        const objectsDeleted = await this.objects.deletePrefix(`${workspaceId}/`);
        await rm(join(this.store.stateDir, 'workspaces', workspaceId), {
          recursive: true,
          force: true,
        });
        this.store.db.prepare('DELETE FROM workspaces WHERE id = ?').run(workspaceId);
        logger.info({ workspaceId, tenantId, objectsDeleted }, 'workspace deleted');
        return {
          workspaceId,
          deletedAt: new Date().toISOString(),
          keysDestroyed: masterKeysDestroyed,
          objectsDeleted,
        };
      },
    };
  }
}
