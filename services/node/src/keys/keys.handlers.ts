import { Inject, Injectable } from '@nestjs/common';
import type { Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { HandlerMap } from '@causeway/bridge';
import { CausewayError, type MethodResult, type Principal } from '@causeway/contracts';
import { NodeAudit } from '../audit/node-audit';
import { NODE_CONFIG, NODE_LOGGER, type NodeConfig } from '../config/config';
import { NodeStore } from '../state/node-store';
import { KeyPolicies } from './key-policies';
import type { RotationJob } from './key-rotation.service';
import { isKeysError } from './keys.errors';
import { KeysRepository } from './keys.repository';
import { NodeKeys } from './node-keys';
import { RotationScheduler } from './rotation-scheduler';

type JobView = MethodResult<'keys.rotate'>;
type StatusView = MethodResult<'keys.status'>;

const DAY_MS = 24 * 3600 * 1000;

function notFound(): CausewayError {
  return new CausewayError('not_found', 'No workspace with this id exists on the node.');
}

/** The keys module's refusals as bridge errors (messages never carry key material). */
function toBridgeError(error: unknown): Error {
  if (!isKeysError(error)) return error instanceof Error ? error : new Error(String(error));
  switch (error.code) {
    case 'master_key_not_found':
    case 'rotation_job_not_found':
    case 'tenant_mismatch':
      return notFound();
    case 'key_destroyed':
      return new CausewayError('conflict', "This workspace's keys were destroyed.");
    case 'invalid_argument':
      return new CausewayError('validation_failed', error.message);
    case 'data_key_exists':
    case 'data_key_invalid':
    case 'data_key_not_found':
    case 'keys_closed':
    case 'keystore_locked':
    case 'seal_key_file_invalid':
      // Not the caller's doing: answered as an internal error, logged with its code.
      return error;
  }
}

/**
 * Workspace master keys over the bridge: rotation on demand (the re-wrap job runs on after the
 * answer), key status, and the tenant's rotation period, which the node keeps and its scheduler
 * applies. Workspaces are scoped like files: a workspace not of the delegation's tenant (or
 * outside the workspace it names) is "not found".
 */
@Injectable()
export class KeysHandlers {
  private readonly repository: KeysRepository;
  private readonly policies: KeyPolicies;
  private readonly scheduler: RotationScheduler;
  private readonly workspaceTenant: Statement;
  /** Re-wrap jobs started by requests, still running in this process. */
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    @Inject(NodeStore) store: NodeStore,
    @Inject(NodeKeys) private readonly keys: NodeKeys,
    @Inject(NodeAudit) private readonly audit: NodeAudit,
    @Inject(NODE_CONFIG) config: NodeConfig,
    @Inject(NODE_LOGGER) logger: Logger,
  ) {
    this.repository = new KeysRepository(store);
    this.policies = new KeyPolicies(store);
    this.workspaceTenant = store.db.prepare(
      'SELECT tenant_id AS tenantId FROM workspaces WHERE id = ?',
    );
    this.scheduler = new RotationScheduler(keys.rotation, this.policies, {
      intervalMs: config.keyRotationCheckIntervalMs,
      logger: logger.child({ component: 'key-rotation-scheduler' }),
    });
  }

  /** Starts the rotation scheduler (NodeBridge calls it once the node takes requests). */
  start(): void {
    this.scheduler.start();
  }

  /** Stops the scheduler; jobs still running resume at the next start (resumeJobs). */
  async stop(): Promise<void> {
    await this.scheduler.stop();
    await Promise.allSettled([...this.background]);
  }

  handlers(): HandlerMap {
    return {
      'keys.rotate': async ({ workspaceId, tenantId, jobId }, { principal, logger }) => {
        this.workspaceFor(workspaceId, principal, tenantId);
        let job: RotationJob;
        try {
          job = await this.keys.rotation.startRotation(workspaceId, jobId);
        } catch (error) {
          throw toBridgeError(error);
        }
        if (job.state === 'running') this.runInBackground(job.id, logger);
        return this.jobView(job);
      },
      'keys.status': ({ workspaceId }, { principal }) => {
        try {
          const tenantId = this.workspaceFor(workspaceId, principal);
          return Promise.resolve(this.status(workspaceId, tenantId));
        } catch (error) {
          return Promise.reject(toBridgeError(error));
        }
      },
      'keys.policy.set': ({ tenantId, rotationDays, revision }, { principal, logger }) => {
        if (!principal || principal.tenantId !== tenantId) {
          return Promise.reject(new CausewayError('forbidden', 'This is for another tenant.'));
        }
        const before = this.policies.get(tenantId);
        const { applied, policy } = this.policies.apply(
          tenantId,
          rotationDays,
          revision,
          new Date().toISOString(),
        );
        if (applied && before?.rotationDays !== policy.rotationDays) {
          this.audit.record({
            code: 'key.rotation_period_changed',
            fields: {
              tenantId,
              rotationDays: policy.rotationDays,
              previousDays: before?.rotationDays ?? null,
              revision: policy.revision,
            },
          });
          logger.info({ tenantId, rotationDays, revision }, 'key rotation period updated');
        }
        return Promise.resolve({
          rotationDays: policy.rotationDays,
          revision: policy.revision,
          applied,
        });
      },
    };
  }

  /** The workspace's tenant, if it is the principal's; otherwise "not found". */
  private workspaceFor(
    workspaceId: string,
    principal: Principal | undefined,
    tenantId?: string,
  ): string {
    const row = this.workspaceTenant.get(workspaceId) as { tenantId: string } | undefined;
    if (
      !principal ||
      !row ||
      row.tenantId !== principal.tenantId ||
      (tenantId !== undefined && row.tenantId !== tenantId) ||
      (principal.workspaceId !== undefined && principal.workspaceId !== workspaceId)
    ) {
      throw notFound();
    }
    return row.tenantId;
  }

  private runInBackground(jobId: string, logger: Pick<Logger, 'info' | 'warn'>): void {
    const run = this.keys.rotation.runJob(jobId).then(
      (job) =>
        logger.info(
          { jobId, state: job.state, rewrapped: job.rewrapped },
          'key rotation job ended',
        ),
      (error: unknown) =>
        // The job stays `running` in node.db and resumes at the next start.
        logger.warn(
          { jobId, reason: error instanceof Error ? error.message : String(error) },
          'key rotation job stopped; it resumes at the next start',
        ),
    );
    this.background.add(run);
    void run.finally(() => this.background.delete(run));
  }

  private status(workspaceId: string, tenantId: string): StatusView {
    const keys = this.repository.masterKeysOf(workspaceId);
    const active = keys.find((k) => k.state === 'active');
    if (!active) {
      throw keys.length > 0
        ? new CausewayError('conflict', "This workspace's keys were destroyed.")
        : notFound();
    }
    const policy = this.policies.get(tenantId);
    const days = policy?.rotationDays ?? 0;
    return {
      workspaceId,
      activeVersion: active.version,
      createdAt: (keys[0] ?? active).createdAt,
      rotatedAt: active.version > 1 ? active.createdAt : null,
      retiringVersions: keys.filter((k) => k.state === 'retiring').map((k) => k.version),
      rotationDays: policy?.rotationDays ?? null,
      policyRevision: policy?.revision ?? 0,
      nextRotationDueAt:
        days > 0 ? new Date(Date.parse(active.createdAt) + days * DAY_MS).toISOString() : null,
      jobs: this.keys.rotation.jobsOf(workspaceId, 20).map((job) => this.jobView(job)),
    };
  }

  private jobView(job: RotationJob): JobView {
    return {
      jobId: job.id,
      workspaceId: job.workspaceId,
      state: job.state,
      keyVersion: this.repository.masterKey(job.toKeyId)?.version ?? 1,
      rewrapped: job.rewrapped,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
    };
  }
}
