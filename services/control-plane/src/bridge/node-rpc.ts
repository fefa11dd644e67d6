import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { BridgeClient } from '@causeway/bridge';
import {
  BRIDGE_METHODS,
  CausewayError,
  type BridgeMethod,
  type MethodPayload,
  type MethodResult,
  type Principal,
  type SignedKeySet,
} from '@causeway/contracts';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { SigningKeysService } from '../trust/signing-keys.service';
import { AuditService } from '../audit/audit.service';

/** The subject of requests the control plane makes on its own account (key distribution). */
export const SYSTEM_SUBJECT = 'system:control-plane';

export interface CallOptions {
  requestId: string;
  /** Who asked: a user id or `operator:…`; becomes the delegation's subject. */
  subject: string;
  workspaceId?: string;
  timeoutMs?: number;
}

/**
 * Requests to nodes on someone's behalf. The delegation grants exactly the permission the method
 * needs, for the node's tenant. A node that does not know the signing key yet (it was offline
 * during a rotation) gets the current key set and the request is sent once more.
 */
@Injectable()
export class NodeRpc {
  constructor(
    private readonly bridge: BridgeClient,
    private readonly keys: SigningKeysService,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    private readonly audit: AuditService,
  ) {
    logger.setContext('NodeRpc');
  }

  async call<M extends BridgeMethod>(
    node: { id: string; tenantId: string },
    method: M,
    payload: MethodPayload<M>,
    options: CallOptions,
  ): Promise<MethodResult<M>> {
    const permission: string | null = BRIDGE_METHODS[method].permission;
    const principal: Principal = {
      subject: options.subject,
      tenantId: node.tenantId,
      ...(options.workspaceId === undefined ? {} : { workspaceId: options.workspaceId }),
      permissions: permission === null ? [] : [permission],
    };
    const send = () =>
      this.bridge.request(node.id, method, payload, {
        requestId: options.requestId,
        timeoutMs: options.timeoutMs ?? this.config.bridgeTimeoutMs,
        principal,
      });
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof CausewayError) || error.code !== 'delegation_key_unknown') throw error;
      this.logger.info({ nodeId: node.id }, 'node lacks the current signing key; sending it');
      await this.pushKeys(node, options.requestId);
      await this.audit.record({
        tenantId: node.tenantId,
        type: 'admin.node.keys_pushed',
        outcome: 'success',
        actor: null,
        details: { nodeId: node.id, reason: 'delegation_key_unknown' },
      });
      return send();
    }
  }

  /** Gives a node the current key set (CA-signed; the node checks that, not a delegation). */
  async pushKeys(
    node: { id: string; tenantId: string },
    requestId: string,
    keySet?: SignedKeySet,
  ): Promise<MethodResult<'trust.update'>> {
    return this.bridge.request(node.id, 'trust.update', keySet ?? (await this.keys.keySet()), {
      requestId,
      timeoutMs: this.config.bridgeTimeoutMs,
      principal: { subject: SYSTEM_SUBJECT, tenantId: node.tenantId, permissions: [] },
    });
  }
}
