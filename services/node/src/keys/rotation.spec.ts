import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { HandlerContext, HandlerMap } from '@causeway/bridge';
import type { BridgeMethod, MethodPayload, MethodResult, Principal } from '@causeway/contracts';
import { NodeAudit } from '../audit/node-audit';
import type { NodeConfig } from '../config/config';
import { NodeStore } from '../state/node-store';
import { KeyPolicies } from './key-policies';
import { KeysHandlers } from './keys.handlers';
import { NodeKeys } from './node-keys';
import { RotationScheduler } from './rotation-scheduler';

const HOUR = 3600 * 1000;
const TENANT = randomUUID();
const OTHER_TENANT = randomUUID();
const logger = pino({ level: 'silent' });

/**
 * Rotation as the node runs it for the control plane: the period it stores (highest revision
 * wins), the scheduler that rotates what is due by an injected clock, and the bridge handlers
 * with their tenant and workspace scoping.
 */
describe('node key rotation: period, scheduler and bridge handlers', () => {
  let dir: string;
  let clock: Date;
  let store: NodeStore;
  let keys: NodeKeys;
  let audit: NodeAudit;
  let policies: KeyPolicies;

  async function open(): Promise<void> {
    store = NodeStore.open(dir);
    audit = new NodeAudit(store, () => clock.getTime());
    keys = await NodeKeys.open(store, {
      sealSecret: secret,
      now: () => clock,
      events: { record: (event) => audit.record(event) },
      rotationBatchSize: 2,
      sweepIntervalMs: 0,
    });
    policies = new KeyPolicies(store);
  }

  function close(): void {
    keys.close();
    store.close();
  }

  let secret: Buffer;

  /** A provisioned workspace (row + first master key) with `objects` data keys. */
  async function workspace(tenantId = TENANT, objects = 3) {
    const id = randomUUID();
    store.db
      .prepare('INSERT INTO workspaces (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)')
      .run(id, tenantId, 'ws', clock.toISOString());
    await keys.masterKeys.activeKey(id, tenantId);
    const dataKeys = new Map<string, Buffer>();
    for (let i = 0; i < objects; i += 1) {
      const objectId = `${id}-obj-${i}`;
      const { dataKey } = await keys.dataKeys.newDataKey(id, tenantId, objectId);
      dataKeys.set(objectId, Buffer.from(dataKey));
    }
    return { id, dataKeys };
  }

  function activeVersion(workspaceId: string): number {
    const row = store.db
      .prepare("SELECT version FROM master_keys WHERE workspace_id = ? AND state = 'active'")
      .get(workspaceId) as { version: number };
    return row.version;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-rotation-'));
    clock = new Date('2026-03-01T00:00:00.000Z');
    secret = randomBytes(32);
    await open();
  });

  afterEach(() => {
    try {
      close();
    } catch {
      // closed by the test
    }
    rmSync(dir, { recursive: true, force: true });
  });

  describe('rotation period', () => {
    it('keeps the highest revision, ignores late copies, and survives a restart', () => {
      expect(policies.rotationDays(TENANT)).toBeUndefined();
      expect(policies.apply(TENANT, 30, 2, clock.toISOString())).toMatchObject({
        applied: true,
        policy: { rotationDays: 30, revision: 2 },
      });
      // An older revision delivered late, and the same one again, change nothing.
      expect(policies.apply(TENANT, 7, 1, clock.toISOString())).toMatchObject({
        applied: false,
        policy: { rotationDays: 30, revision: 2 },
      });
      expect(policies.apply(TENANT, 30, 2, clock.toISOString()).applied).toBe(false);
      expect(policies.apply(TENANT, 7, 3, clock.toISOString()).applied).toBe(true);
      close();
      store = NodeStore.open(dir);
      expect(new KeyPolicies(store).get(TENANT)).toMatchObject({ rotationDays: 7, revision: 3 });
      store.close();
    });
  });

  describe('scheduler (injected clock)', () => {
    function scheduler(): RotationScheduler {
      return new RotationScheduler(keys.rotation, policies, {
        intervalMs: 60_000,
        now: () => clock,
      });
    }

    it('rotates a workspace once its key is older than the period, not before', async () => {
      const { id, dataKeys } = await workspace();
      const other = await workspace(OTHER_TENANT);
      policies.apply(TENANT, 1, 1, clock.toISOString());
      const schedule = scheduler();

      clock = new Date(clock.getTime() + 23 * HOUR);
      expect((await schedule.tick()).rotated).toEqual([]);
      expect(activeVersion(id)).toBe(1);

      clock = new Date(clock.getTime() + 2 * HOUR); // 25 hours after the key was made
      const result = await schedule.tick();
      expect(result.failed).toEqual([]);
      expect(result.rotated).toEqual([
        expect.objectContaining({ workspaceId: id, state: 'done', rewrapped: 3 }),
      ]);
      expect(activeVersion(id)).toBe(2);
      // Every data key still opens, under the new version.
      for (const [objectId, dataKey] of dataKeys) {
        expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
      }
      // The tenant without a period is never rotated by age.
      expect(activeVersion(other.id)).toBe(1);

      // The new key is fresh: the next pass finds nothing due until a day has passed again.
      clock = new Date(clock.getTime() + HOUR);
      expect((await schedule.tick()).rotated).toEqual([]);
      clock = new Date(clock.getTime() + 24 * HOUR);
      expect((await schedule.tick()).rotated).toHaveLength(1);
      expect(activeVersion(id)).toBe(3);
      expect(audit.list().map((e) => e.code)).toEqual(
        expect.arrayContaining(['key.rotation_started', 'key.rotation_finished']),
      );
    });

    it('a period of 0 days turns rotation by age off', async () => {
      const { id } = await workspace();
      policies.apply(TENANT, 0, 1, clock.toISOString());
      clock = new Date(clock.getTime() + 1000 * 24 * HOUR);
      expect((await scheduler().tick()).rotated).toEqual([]);
      expect(activeVersion(id)).toBe(1);
    });

    it('runs on its timer once started and stops cleanly', async () => {
      const { id } = await workspace();
      policies.apply(TENANT, 1, 1, clock.toISOString());
      clock = new Date(clock.getTime() + 48 * HOUR);
      const schedule = new RotationScheduler(keys.rotation, policies, {
        intervalMs: 20,
        now: () => clock,
      });
      schedule.start();
      for (let i = 0; i < 200 && activeVersion(id) === 1; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await schedule.stop();
      expect(activeVersion(id)).toBe(2);
    });
    it('looks soon after start, so a node restarted more often than the interval still rotates', async () => {
      const { id } = await workspace();
      policies.apply(TENANT, 1, 1, clock.toISOString());
      clock = new Date(clock.getTime() + 48 * HOUR);
      const schedule = new RotationScheduler(keys.rotation, policies, {
        intervalMs: 3_600_000,
        firstPassAfterMs: 5,
        now: () => clock,
      });
      schedule.start();
      for (let i = 0; i < 200 && activeVersion(id) === 1; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await schedule.stop();
      expect(activeVersion(id)).toBe(2);
    });
  });

  describe('bridge handlers', () => {
    let handlers: HandlerMap;
    let subject: KeysHandlers;

    beforeEach(() => {
      subject = new KeysHandlers(
        store,
        keys,
        audit,
        { keyRotationCheckIntervalMs: 3_600_000 } as NodeConfig,
        logger,
      );
      handlers = subject.handlers();
    });

    afterEach(async () => {
      await subject.stop();
    });

    function call<M extends BridgeMethod>(
      method: M,
      payload: MethodPayload<M>,
      principal: Partial<Principal> = {},
    ): Promise<MethodResult<M>> {
      const handler = handlers[method] as unknown as (
        p: MethodPayload<M>,
        c: HandlerContext,
      ) => Promise<MethodResult<M>>;
      return handler(payload, {
        requestId: 'r',
        messageId: randomUUID(),
        deadline: Date.now() + 10_000,
        logger,
        principal: { subject: 'user:x', tenantId: TENANT, permissions: [], ...principal },
      });
    }

    async function finished(workspaceId: string, jobId: string) {
      for (let i = 0; i < 200; i += 1) {
        const status = await call('keys.status', { workspaceId });
        const job = status.jobs.find((j) => j.jobId === jobId);
        if (job && job.state !== 'running') return status;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error('the re-wrap job did not finish');
    }

    it('rotates on request (idempotent by job id) and reports the status', async () => {
      const { id, dataKeys } = await workspace(TENANT, 5);
      const before = await call('keys.status', { workspaceId: id });
      expect(before).toMatchObject({
        activeVersion: 1,
        rotatedAt: null,
        rotationDays: null,
        policyRevision: 0,
        nextRotationDueAt: null,
        jobs: [],
      });

      clock = new Date(clock.getTime() + HOUR);
      const jobId = randomUUID();
      const job = await call('keys.rotate', { workspaceId: id, tenantId: TENANT, jobId });
      expect(job).toMatchObject({ jobId, workspaceId: id, keyVersion: 2 });
      // Asked again (a retried HTTP call), the same job answers: no third version.
      expect((await call('keys.rotate', { workspaceId: id, tenantId: TENANT, jobId })).jobId).toBe(
        jobId,
      );

      const after = await finished(id, jobId);
      expect(after).toMatchObject({
        activeVersion: 2,
        rotatedAt: clock.toISOString(),
        retiringVersions: [],
        jobs: [expect.objectContaining({ jobId, state: 'done', keyVersion: 2, rewrapped: 5 })],
      });
      for (const [objectId, dataKey] of dataKeys) {
        expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
      }
    });

    it("answers another tenant's or another workspace's request as not found", async () => {
      const { id } = await workspace();
      const jobId = randomUUID();
      await expect(
        call(
          'keys.rotate',
          { workspaceId: id, tenantId: TENANT, jobId },
          { tenantId: OTHER_TENANT },
        ),
      ).rejects.toMatchObject({ code: 'not_found' });
      await expect(
        call('keys.rotate', { workspaceId: id, tenantId: OTHER_TENANT, jobId }),
      ).rejects.toMatchObject({ code: 'not_found' });
      await expect(
        call('keys.status', { workspaceId: id }, { workspaceId: randomUUID() }),
      ).rejects.toMatchObject({ code: 'not_found' });
      await expect(call('keys.status', { workspaceId: randomUUID() })).rejects.toMatchObject({
        code: 'not_found',
      });
      expect(activeVersion(id)).toBe(1);
    });

    it('stores the period from the control plane, audits a change, and shows when rotation is due', async () => {
      const { id } = await workspace();
      expect(
        await call('keys.policy.set', { tenantId: TENANT, rotationDays: 30, revision: 4 }),
      ).toEqual({ rotationDays: 30, revision: 4, applied: true });
      expect(
        await call('keys.policy.set', { tenantId: TENANT, rotationDays: 90, revision: 3 }),
      ).toEqual({ rotationDays: 30, revision: 4, applied: false });
      await expect(
        call(
          'keys.policy.set',
          { tenantId: TENANT, rotationDays: 1, revision: 9 },
          { tenantId: OTHER_TENANT },
        ),
      ).rejects.toMatchObject({ code: 'forbidden' });

      const status = await call('keys.status', { workspaceId: id });
      expect(status).toMatchObject({ rotationDays: 30, policyRevision: 4 });
      expect(status.nextRotationDueAt).toBe(
        new Date(Date.parse(status.createdAt) + 30 * 24 * HOUR).toISOString(),
      );
      const changes = audit.list().filter((e) => e.code === 'key.rotation_period_changed');
      expect(changes).toHaveLength(1);
      expect(changes[0]?.fields).toMatchObject({ tenantId: TENANT, rotationDays: 30, revision: 4 });
    });
  });
});
