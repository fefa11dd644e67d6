import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { NodeEntity, type NodeState } from './node.entity';

export interface HeartbeatRecord {
  state: NodeState;
  version: string;
  hostname: string;
  startedAt: Date;
  receivedAt: Date;
}

@Injectable()
export class NodesRepository {
  constructor(@InjectRepository(NodeEntity) private readonly nodes: Repository<NodeEntity>) {}

  /** Platform scope: every node of every tenant. Only platform operators reach this. */
  listAll(): Promise<NodeEntity[]> {
    return this.nodes.find({ order: { createdAt: 'ASC' } });
  }

  listForTenant(tenantId: string): Promise<NodeEntity[]> {
    return this.nodes.find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  findById(id: string): Promise<NodeEntity | null> {
    return this.nodes.findOneBy({ id });
  }

  findByName(tenantId: string, name: string): Promise<NodeEntity | null> {
    return this.nodes.findOneBy({ tenantId, name });
  }

  /** Nodes whose messages are routed to the control plane: every node not revoked. */
  async activeIds(): Promise<string[]> {
    const rows = await this.nodes.find({ select: { id: true }, where: { revokedAt: IsNull() } });
    return rows.map((r) => r.id);
  }

  async insert(
    node: Pick<NodeEntity, 'id' | 'tenantId' | 'name' | 'region'> &
      Partial<Pick<NodeEntity, 'certSerial' | 'certNotAfter'>>,
  ): Promise<NodeEntity> {
    await this.nodes.insert({ ...node, state: 'registered' });
    return (await this.findById(node.id)) as NodeEntity;
  }

  async markRevoked(id: string, at: Date): Promise<void> {
    await this.nodes.update({ id, revokedAt: IsNull() }, { revokedAt: at });
  }

  /** Returns false when no such node is registered (or it was revoked). */
  async recordHeartbeat(id: string, beat: HeartbeatRecord): Promise<boolean> {
    // A revoked node's beats change nothing.
    const result = await this.nodes.update(
      { id, revokedAt: IsNull() },
      {
        state: beat.state,
        version: beat.version,
        hostname: beat.hostname,
        startedAt: beat.startedAt,
        lastHeartbeatAt: beat.receivedAt,
      },
    );
    return (result.affected ?? 0) > 0;
  }
}
