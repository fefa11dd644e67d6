import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Logger } from 'pino';
import {
  BridgeServer,
  BridgeTopology,
  DelegationVerifier,
  HeartbeatPublisher,
  StreamReceiver,
  StreamSender,
  createBridgeConnection,
  type RefusedDelegation,
} from '@causeway/bridge';
import { delegationIssuer } from '@causeway/contracts';
import { auditedHandlers } from '../audit/handler-events';
import { NodeAudit } from '../audit/node-audit';
import { NODE_CONFIG, NODE_LOGGER, type NodeConfig } from '../config/config';
import { DiagnosticsHandlers } from '../diagnostics/diagnostics.handlers';
import { parseFaults } from '../faults/faults';
import { FilesService } from '../files/files.service';
import { UploadLifecycle } from '../files/upload-lifecycle';
import { CompletionRecords } from '../state/completion-records';
import { NodeKeys } from '../keys';
import { KeysHandlers } from '../keys/keys.handlers';
import { NodeStore } from '../state/node-store';
import { AccessRules } from '../trust/access-rules';
import { CertificateRenewer } from '../trust/certificate-renewer';
import { NodeIdentity } from '../trust/node-identity';
import { DurableReplayCache } from '../trust/replay-cache';
import { TrustHandlers } from '../trust/trust.handlers';
import { TrustStore } from '../trust/trust-store';
import { WorkspacesHandlers } from '../workspaces/workspaces.handlers';
import { NODE_VERSION } from '../version';

/**
 * The node's only link to the world: one outbound connection to the broker, a consumer on its
 * own queue, and heartbeats. On shutdown it stops taking requests, finishes those in progress
 * and says it is stopping, so the control plane shows it offline at once.
 */
@Injectable()
export class NodeBridge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connection;
  private readonly server: BridgeServer;
  private readonly heartbeat: HeartbeatPublisher;
  private readonly renewer: CertificateRenewer;
  private readonly replay: DurableReplayCache;
  /** Workspace file bytes: parts received from, and downloads sent to, control-plane instances. */
  private readonly streamReceiver: StreamReceiver;
  private readonly streamSender: StreamSender;
  private readonly nodeId: string;
  /** Set at shutdown: the broker connection's own events are no longer recorded. */
  private closing = false;

  constructor(
    @Inject(NODE_CONFIG) config: NodeConfig,
    @Inject(NODE_LOGGER) logger: Logger,
    diagnostics: DiagnosticsHandlers,
    workspaces: WorkspacesHandlers,
    trustHandlers: TrustHandlers,
    files: FilesService,
    uploads: UploadLifecycle,
    @Inject(NodeStore) private readonly store: NodeStore,
    @Inject(NodeIdentity) identity: NodeIdentity,
    @Inject(TrustStore) trust: TrustStore,
    @Inject(NodeAudit) private readonly audit: NodeAudit,
    @Inject(NodeKeys) private readonly keys: NodeKeys,
    @Inject(KeysHandlers) private readonly keyHandlers: KeysHandlers,
  ) {
    const rules = AccessRules.load(config.stateDir, config.tenantId);
    this.replay = new DurableReplayCache(store);
    const verifier = new DelegationVerifier({
      issuer: delegationIssuer(config.bridgeNamespace),
      nodeId: config.nodeId,
      key: (kid) => trust.key(kid),
      replay: this.replay,
    });
    this.renewer = new CertificateRenewer({
      nodeId: config.nodeId,
      controlPlane: config.controlPlane,
      identity,
      trust,
      audit,
      logger,
      renewBeforeSeconds: config.certRenewBeforeSeconds,
      checkIntervalMs: config.certCheckIntervalMs,
    });
    const topology = new BridgeTopology(config.bridgeNamespace);
    this.connection = createBridgeConnection({
      url: config.amqpUrl,
      connectionName: `causeway-node:${config.nodeId}`,
      logger,
    });
    this.nodeId = config.nodeId;
    const nodeId = config.nodeId;
    this.connection.on('connect', () => {
      if (!this.closing) audit.record({ code: 'node.bridge.connected', fields: { nodeId } });
    });
    this.connection.on('disconnect', ({ err }: { err?: Error }) => {
      if (this.closing) return;
      audit.record({
        code: 'node.bridge.disconnected',
        fields: { nodeId, reason: err?.message ?? null },
      });
    });
    const side = { role: 'node' as const, nodeId: config.nodeId };
    this.streamReceiver = new StreamReceiver({
      connection: this.connection,
      topology,
      side,
      logger,
    });
    this.streamSender = new StreamSender({ connection: this.connection, topology, side, logger });
    this.server = new BridgeServer({
      connection: this.connection,
      topology,
      nodeId: config.nodeId,
      logger,
      prefetch: config.prefetch,
      // Every request served or failed is recorded in the node's own chain (audit/handler-events).
      handlers: auditedHandlers(audit, {
        ...diagnostics.handlers(),
        ...workspaces.handlers(),
        ...trustHandlers.handlers(),
        ...files.handlers({ receiver: this.streamReceiver, sender: this.streamSender }),
        ...uploads.handlers(),
        ...keyHandlers.handlers(),
      }),
      trust: {
        verifier,
        signer: identity.signer,
        authorize: (method, principal, payload) => rules.authorize(method, principal, payload),
        onRefused: (event) => {
          audit.record(refusalEvent(event));
        },
      },
      completions: new CompletionRecords(store),
      faults: parseFaults(config.faults, logger),
    });
    this.heartbeat = new HeartbeatPublisher({
      connection: this.connection,
      topology,
      nodeId: config.nodeId,
      version: NODE_VERSION,
      intervalMs: config.heartbeatIntervalMs,
      logger,
      signer: identity.signer,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    // Streams first: a files request may set one up as soon as the server takes requests.
    await this.streamReceiver.start();
    await this.streamSender.start();
    await this.server.start();
    this.heartbeat.start();
    this.renewer.start();
    this.keyHandlers.start();
    this.audit.record({
      code: 'node.started',
      fields: { version: NODE_VERSION, nodeId: this.nodeId },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.renewer.stop();
    await this.server.stop();
    this.closing = true;
    this.audit.record({
      code: 'node.stopped',
      fields: { version: NODE_VERSION, nodeId: this.nodeId },
    });
    await this.streamReceiver.close();
    await this.streamSender.close();
    await this.heartbeat.stop();
    await this.connection.close();
    // Scheduled and requested re-wrap jobs stop before the keys close; they resume at start.
    await this.keyHandlers.stop();
    this.replay.close();
    // Unsealed master keys are wiped from memory before the database closes.
    this.keys.close();
    this.store.close();
  }
}

/** What the audit trail keeps of a refused request: the claims when genuine, never the token. */
function refusalEvent(event: RefusedDelegation) {
  return {
    code: event.code === 'forbidden' ? ('access.denied' as const) : ('delegation.refused' as const),
    fields: {
      reason: event.reason,
      errorCode: event.code,
      method: event.method,
      messageId: event.messageId,
      requestId: event.requestId,
      kid: event.kid ?? null,
      subject: event.claims?.sub ?? event.principal?.subject ?? null,
      tenantId: event.claims?.tid ?? event.principal?.tenantId ?? null,
      audience: event.claims?.aud ?? null,
      jti: event.claims?.jti ?? null,
    },
  };
}
