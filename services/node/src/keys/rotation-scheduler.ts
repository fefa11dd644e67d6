import type { Logger } from 'pino';
import type { KeyPolicies } from './key-policies';
import type { KeyRotation, RotateDueResult } from './key-rotation.service';

export interface RotationSchedulerOptions {
  /** How often due rotations are looked for, in milliseconds. */
  intervalMs: number;
  /** The first look after start (default 30 s, or the interval if shorter). */
  firstPassAfterMs?: number;
  /** The clock deciding what is due; injectable so tests can move time. */
  now?: () => Date;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** The first pass after start waits this long (or the interval, if shorter) for the node to settle. */
const FIRST_PASS_AFTER_MS = 30_000;

/**
 * Rotates, every `intervalMs`, the master keys that are older than their tenant's period (as
 * the node holds it in KeyPolicies). A tenant whose period never reached the node is not
 * rotated by age. Only one pass runs at a time; a pass that finds nothing due costs one query.
 */
export class RotationScheduler {
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private pass: Promise<RotateDueResult> | undefined;
  private readonly now: () => Date;

  constructor(
    private readonly rotation: Pick<KeyRotation, 'rotateDue'>,
    private readonly policies: Pick<KeyPolicies, 'rotationDays'>,
    private readonly options: RotationSchedulerOptions,
  ) {
    if (!Number.isInteger(options.intervalMs) || options.intervalMs < 1) {
      throw new Error('The key rotation check interval must be a positive number of milliseconds.');
    }
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    if (this.timer) return;
    const run = () => {
      this.tick().catch(() => undefined); // tick logs its own failures
    };
    this.timer = setInterval(run, this.options.intervalMs);
    this.timer.unref();
    // A node restarted more often than the interval must still rotate: look soon after start.
    const firstAfter = this.options.firstPassAfterMs ?? FIRST_PASS_AFTER_MS;
    this.first = setTimeout(run, Math.min(this.options.intervalMs, firstAfter));
    this.first.unref();
  }

  /** Stops the timer and waits for a pass in progress (before the keys close). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.first) clearTimeout(this.first);
    this.timer = undefined;
    this.first = undefined;
    await this.pass?.catch(() => undefined);
  }

  /** One pass: rotates what is due now. A pass already running is joined, not repeated. */
  tick(): Promise<RotateDueResult> {
    if (this.pass) return this.pass;
    const pass = this.rotation
      .rotateDue(this.now(), (tenantId) => this.policies.rotationDays(tenantId))
      .then(
        (result) => {
          for (const job of result.rotated) {
            this.options.logger?.info(
              { workspaceId: job.workspaceId, jobId: job.id, rewrapped: job.rewrapped },
              'scheduled master key rotation finished',
            );
          }
          for (const failure of result.failed) {
            this.options.logger?.warn(failure, 'scheduled master key rotation failed');
          }
          return result;
        },
        (error: unknown) => {
          this.options.logger?.error(
            { reason: error instanceof Error ? error.message : String(error) },
            'scheduled master key rotation pass failed',
          );
          throw error;
        },
      )
      .finally(() => {
        this.pass = undefined;
      });
    this.pass = pass;
    return pass;
  }
}
