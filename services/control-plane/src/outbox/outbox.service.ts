import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BRIDGE_METHODS, type MethodPayload, type MutatingMethod } from '@causeway/contracts';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { OutboxEntity } from './outbox.entity';

export interface Command<M extends MutatingMethod> {
  nodeId: string;
  method: M;
  payload: MethodPayload<M>;
  requestId: string;
  /** Who the command acts for; the delegation sent with it grants only the method's permission. */
  principal: { subject: string; tenantId: string; workspaceId?: string };
}

/**
 * Writes commands to nodes into the outbox inside the caller's transaction, so the state
 * change and the command commit together or not at all. The publisher sends them later.
 */
@Injectable()
export class OutboxService {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  async enqueue<M extends MutatingMethod>(
    manager: EntityManager,
    command: Command<M>,
  ): Promise<string> {
    const id = randomUUID();
    const now = this.clock.now();
    await manager.insert(OutboxEntity, {
      id,
      nodeId: command.nodeId,
      method: command.method,
      payload: command.payload,
      requestId: command.requestId,
      principal: {
        ...command.principal,
        permissions: [BRIDGE_METHODS[command.method].permission],
      },
      deadline: new Date(now.getTime() + this.config.commandTtlMs),
      attempts: 0,
      nextAttemptAt: now,
    });
    return id;
  }

  /** Called after the enqueuing transaction committed, so the publisher need not wait a tick. */
  notify(): void {
    for (const listener of this.listeners) listener();
  }

  onEnqueued(listener: () => void): void {
    this.listeners.add(listener);
  }
}
