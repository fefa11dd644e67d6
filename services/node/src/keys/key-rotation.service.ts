import { randomUUID } from 'node:crypto';
import type { DataKeyWrapper } from './data-key-wrapper';
import type { KeyEventSink } from './key-events';
import { KeysError } from './keys.errors';
import type { KeysRepository, RotationJobRow } from './keys.repository';
import { requireId, type MasterKeys } from './master-keys.service';

export type RotationJob = RotationJobRow;

export interface KeyRotationOptions {
  now: () => Date;
  events: KeyEventSink;
  /** Data keys re-wrapped per transaction (default 500). */
  batchSize?: number;
}

/** The rotation period of a tenant in days; undefined or 0 means "do not rotate by age". */
export type RotationPeriod = number | ((tenantId: string) => number | undefined);

export interface RotateDueResult {
  rotated: RotationJob[];
  failed: { workspaceId: string; code: string; message: string }[];
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Master key rotation. A rotation makes a new version active at once (new data keys use it),
 * then a job re-wraps the workspace's existing data keys from older versions in batches, each
 * batch one transaction that also records the cursor, so a crash resumes where it stopped. When
 * no data key uses an older version any more, that version is destroyed.
 */
export class KeyRotation {
  private readonly running = new Map<string, Promise<RotationJob>>();
  private readonly batchSize: number;

  constructor(
    private readonly repository: KeysRepository,
    private readonly masterKeys: MasterKeys,
    private readonly wrapper: DataKeyWrapper,
    private readonly options: KeyRotationOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new KeysError('invalid_argument', 'The re-wrap batch size must be a positive integer.');
    }
  }

  /** Rotates now and waits until every data key is re-wrapped and old versions destroyed. */
  async rotate(workspaceId: string): Promise<RotationJob> {
    const job = await this.startRotation(workspaceId);
    return this.runJob(job.id);
  }

  /**
   * Creates the next master key version (active) and its re-wrap job, without running it. A job
   * still running for the workspace is superseded: the new job re-wraps everything not under
   * the newest version, including what the old job had not reached.
   */
  async startRotation(workspaceId: string, jobId: string = randomUUID()): Promise<RotationJob> {
    requireId(workspaceId, 'workspace id');
    requireId(jobId, 'job id');
    // A caller-chosen id makes the request idempotent: asked again, the same job answers.
    const existing = this.repository.job(jobId);
    if (existing) {
      if (existing.workspaceId !== workspaceId) {
        throw new KeysError('invalid_argument', 'This job id belongs to another workspace.');
      }
      return existing;
    }
    const { result: job } = await this.masterKeys.createNextVersion(
      workspaceId,
      (previous, next) => {
        const at = next.createdAt;
        this.repository.finishJobs(workspaceId, 'superseded', at);
        const row: RotationJobRow = {
          id: jobId,
          workspaceId,
          fromKeyId: previous.id,
          toKeyId: next.id,
          state: 'running',
          cursor: null,
          rewrapped: 0,
          startedAt: at,
          finishedAt: null,
        };
        this.repository.insertJob(row);
        return row;
      },
    );
    this.options.events.record({
      code: 'key.rotation_started',
      fields: { workspaceId, jobId: job.id, fromKeyId: job.fromKeyId ?? '', toKeyId: job.toKeyId },
    });
    return job;
  }

  /** Runs a job to its end (done, superseded or cancelled). One runner per job per process. */
  runJob(jobId: string): Promise<RotationJob> {
    const current = this.running.get(jobId);
    if (current) return current;
    const run = (async () => {
      let job = this.requireJob(jobId);
      while (job.state === 'running') job = await this.runBatch(jobId);
      return job;
    })().finally(() => this.running.delete(jobId));
    this.running.set(jobId, run);
    return run;
  }

  /**
   * Finishes every job left running (after a crash or restart). Call once at start. A job that
   * fails does not stop the others; its error is thrown after they ran.
   */
  async resumeJobs(): Promise<RotationJob[]> {
    const finished: RotationJob[] = [];
    const errors: unknown[] = [];
    for (const job of this.repository.runningJobs()) {
      this.options.events.record({
        code: 'key.rotation_resumed',
        fields: { workspaceId: job.workspaceId, jobId: job.id, rewrapped: job.rewrapped },
      });
      try {
        finished.push(await this.runJob(job.id));
      } catch (error) {
        errors.push(error); // one broken workspace does not hold up the others
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'Several key rotation jobs failed.');
    return finished;
  }

  /**
   * Re-wraps one batch in one transaction and records the cursor with it. Returns the job as it
   * stands after the batch; `state` leaves `running` once the last batch destroyed the old keys.
   */
  async runBatch(jobId: string): Promise<RotationJob> {
    const job = this.requireJob(jobId);
    if (job.state !== 'running') return job;
    const oldKeyIds = this.repository
      .masterKeysOf(job.workspaceId)
      .filter((k) => k.state === 'retiring')
      .map((k) => k.id);
    const destroyedIds: string[] = [];
    const batch = this.masterKeys.withKeys([job.toKeyId, ...oldKeyIds], (keys) =>
      this.repository.transaction(() => {
        const current = this.repository.job(jobId);
        // Another runner moved it on, or it was superseded or cancelled meanwhile.
        if (current?.state !== 'running' || current.cursor !== job.cursor) return;
        const newKey = keys.get(job.toKeyId) as Buffer;
        const rows = this.repository.dataKeysToRewrap(
          job.workspaceId,
          job.toKeyId,
          job.cursor,
          this.batchSize,
        );
        // The job is still running, so no version retired since we listed them: a row under a
        // key we do not hold is under a destroyed key, which must not happen. Stop loudly.
        if (rows.some((row) => !keys.has(row.masterKeyId))) {
          throw new KeysError(
            'key_destroyed',
            'A data key is wrapped under a master key that is no longer available; the re-wrap job cannot continue.',
          );
        }
        for (const row of rows) {
          const dataKey = this.wrapper.unwrap(
            row.wrappedKey as Buffer,
            keys.get(row.masterKeyId) as Buffer,
            {
              objectId: row.objectId,
              masterKeyId: row.masterKeyId,
            },
          );
          try {
            const wrapped = this.wrapper.wrap(dataKey, newKey, {
              objectId: row.objectId,
              masterKeyId: job.toKeyId,
            });
            this.repository.replaceWrappedKey(row.objectId, job.toKeyId, wrapped);
          } finally {
            dataKey.fill(0);
          }
        }
        if (rows.length === this.batchSize) {
          this.repository.advanceJob(jobId, rows[rows.length - 1].objectId, rows.length);
          return;
        }
        this.repository.advanceJob(jobId, null, rows.length);
        // End of a pass. Keys wrapped under an old version by a writer that started before the
        // rotation may sit behind the cursor: if any remain, make another pass.
        if (this.repository.countLiveDataKeysNotUnder(job.workspaceId, job.toKeyId) > 0) return;
        const at = this.options.now().toISOString();
        for (const key of this.repository.masterKeysOf(job.workspaceId)) {
          if (key.state !== 'retiring') continue;
          if (this.repository.countLiveDataKeysUnder(key.id) > 0) continue;
          if (this.repository.destroyMasterKey(key.id, at)) destroyedIds.push(key.id);
        }
        this.repository.finishJobs(job.workspaceId, 'done', at, jobId);
      }),
    );
    try {
      await batch;
    } catch (error) {
      // The workspace was destroyed while we unsealed: its jobs are cancelled, not failed.
      if (this.requireJob(jobId).state === 'running') throw error;
    }
    const after = this.requireJob(jobId);
    if (destroyedIds.length > 0) {
      for (const id of destroyedIds) this.masterKeys.forget(id);
      this.repository.checkpoint();
      for (const id of destroyedIds) {
        this.options.events.record({
          code: 'key.master_destroyed',
          fields: { workspaceId: job.workspaceId, masterKeyId: id, reason: 'rotated' },
        });
      }
    }
    if (after.state === 'done') {
      this.options.events.record({
        code: 'key.rotation_finished',
        fields: {
          workspaceId: job.workspaceId,
          jobId,
          toKeyId: job.toKeyId,
          rewrapped: after.rewrapped,
        },
      });
    }
    return after;
  }

  /**
   * Rotates every workspace whose active key is older than its tenant's period at `now`. The
   * period comes from the tenant's settings on the control plane; pass a number for all, or a
   * function per tenant. One workspace failing does not stop the others.
   */
  async rotateDue(now: Date, periodDays: RotationPeriod): Promise<RotateDueResult> {
    const periodOf = typeof periodDays === 'function' ? periodDays : () => periodDays;
    const result: RotateDueResult = { rotated: [], failed: [] };
    for (const key of this.repository.activeKeysCreatedBefore(now.toISOString())) {
      const days = periodOf(key.tenantId);
      if (days === undefined || days === 0) continue;
      if (!Number.isFinite(days) || days < 0) {
        throw new KeysError(
          'invalid_argument',
          'A key rotation period is a positive number of days.',
        );
      }
      if (Date.parse(key.createdAt) > now.getTime() - days * DAY_MS) continue;
      this.options.events.record({
        code: 'key.rotation_scheduled',
        fields: { workspaceId: key.workspaceId, rotationDays: days },
      });
      try {
        result.rotated.push(await this.rotate(key.workspaceId));
      } catch (error) {
        const code = error instanceof KeysError ? error.code : 'internal_error';
        result.failed.push({
          workspaceId: key.workspaceId,
          code,
          message: error instanceof Error ? error.message : String(error),
        });
        this.options.events.record({
          code: 'key.rotation_failed',
          fields: { workspaceId: key.workspaceId, errorCode: code },
        });
      }
    }
    return result;
  }

  job(jobId: string): RotationJob | undefined {
    return this.repository.job(jobId);
  }

  /** A workspace's jobs: running ones first, then the most recent (at most `limit`). */
  jobsOf(workspaceId: string, limit = 20): RotationJob[] {
    return this.repository.jobsOf(workspaceId, limit);
  }

  private requireJob(jobId: string): RotationJob {
    const job = this.repository.job(jobId);
    if (!job) throw new KeysError('rotation_job_not_found', 'No such rotation job.');
    return job;
  }
}
