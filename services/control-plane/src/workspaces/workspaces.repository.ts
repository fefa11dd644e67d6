import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { WorkspaceEntity } from './workspace.entity';

/** Every read takes the tenant id: a workspace is only ever found within its own tenant. */
@Injectable()
export class WorkspacesRepository {
  constructor(
    @InjectRepository(WorkspaceEntity) private readonly workspaces: Repository<WorkspaceEntity>,
  ) {}

  listForTenant(tenantId: string): Promise<WorkspaceEntity[]> {
    return this.workspaces.find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  findInTenant(tenantId: string, id: string): Promise<WorkspaceEntity | null> {
    return this.workspaces.findOneBy({ tenantId, id });
  }

  findByName(tenantId: string, name: string): Promise<WorkspaceEntity | null> {
    return this.workspaces.findOneBy({ tenantId, name });
  }

  async insert(
    manager: EntityManager,
    row: Pick<WorkspaceEntity, 'id' | 'tenantId' | 'nodeId' | 'name'>,
  ): Promise<void> {
    await manager.insert(WorkspaceEntity, { ...row, state: 'provisioning' });
  }

  async settle(
    manager: EntityManager,
    tenantId: string,
    id: string,
    outcome: { state: 'ready' } | { state: 'failed'; code: string; message: string },
  ): Promise<void> {
    await manager.update(
      WorkspaceEntity,
      { tenantId, id },
      outcome.state === 'ready'
        ? { state: 'ready', errorCode: null, errorMessage: null }
        : { state: 'failed', errorCode: outcome.code, errorMessage: outcome.message },
    );
  }
}
