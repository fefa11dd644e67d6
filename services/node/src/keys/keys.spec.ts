import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_ENV } from '../config/config';
import { NodeStore } from '../state/node-store';
import { envelopeDataKeyWrapper } from './data-key-wrapper';
import type { KeyEvent } from './key-events';
import { KeysError } from './keys.errors';
import { NodeKeys } from './node-keys';
import { resolveNodeSealSecret, SEAL_KEY_FILE } from './seal-secret';

const DAY = 24 * 3600 * 1000;
const PASSPHRASE = 'correct horse battery staple';

interface MasterKeyDbRow {
  id: string;
  workspace_id: string;
  tenant_id: string;
  version: number;
  sealed_key: string | null;
  state: string;
}

interface DataKeyDbRow {
  object_id: string;
  workspace_id: string;
  master_key_id: string;
  wrapped_key: Buffer | null;
}

describe('node keys', () => {
  let dir: string;
  let clock: Date;
  let events: KeyEvent[];
  let store: NodeStore;
  let keys: NodeKeys;
  let secret: Buffer | string;

  const now = (): Date => clock;

  async function open(options: { secret?: Buffer | string; batchSize?: number } = {}) {
    store = NodeStore.open(dir);
    keys = await NodeKeys.open(store, {
      sealSecret: options.secret ?? secret,
      now,
      events: { record: (event) => events.push(event) },
      rotationBatchSize: options.batchSize ?? 2,
      sweepIntervalMs: 0,
    });
  }

  function closeAll(): void {
    keys.close();
    store.close();
  }

  function masterKeys(workspaceId?: string): MasterKeyDbRow[] {
    return store.db
      .prepare(
        'SELECT * FROM master_keys WHERE (? IS NULL OR workspace_id = ?) ORDER BY workspace_id, version',
      )
      .all(workspaceId ?? null, workspaceId ?? null) as MasterKeyDbRow[];
  }

  function dataKeys(workspaceId: string): DataKeyDbRow[] {
    return store.db
      .prepare('SELECT * FROM data_keys WHERE workspace_id = ? ORDER BY object_id')
      .all(workspaceId) as DataKeyDbRow[];
  }

  /** node.db and its WAL as they are on disk, after folding the WAL in. */
  function databaseBytes(): Buffer {
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const parts = [readFileSync(join(dir, 'node.db'))];
    if (existsSync(join(dir, 'node.db-wal'))) parts.push(readFileSync(join(dir, 'node.db-wal')));
    return Buffer.concat(parts);
  }

  /** A copy of a master key's raw bytes, for the tests' checks only. */
  function rawMasterKey(id: string): Promise<Buffer> {
    return keys.masterKeys.withKey(id, (key) => Buffer.from(key));
  }

  async function createObjects(workspaceId: string, tenantId: string, count: number) {
    const made = new Map<string, Buffer>();
    for (let i = 0; i < count; i += 1) {
      const objectId = `${workspaceId}-obj-${String(i).padStart(3, '0')}`;
      const { dataKey } = await keys.dataKeys.newDataKey(workspaceId, tenantId, objectId);
      made.set(objectId, Buffer.from(dataKey));
    }
    return made;
  }

  async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
    await expect(promise).rejects.toMatchObject({ name: 'KeysError', code });
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-keys-'));
    clock = new Date('2026-01-01T00:00:00.000Z');
    events = [];
    secret = randomBytes(32);
    await open();
  });

  afterEach(() => {
    try {
      closeAll();
    } catch {
      // already closed by the test
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips a data key, refuses a second key for the same object, deletes it with the object', async () => {
    const { dataKey, masterKeyId } = await keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'obj-1');
    expect(dataKey).toHaveLength(32);
    const master = await keys.masterKeys.activeKey('ws-a', 'tenant-1');
    expect(master).toMatchObject({ id: masterKeyId, version: 1, workspaceId: 'ws-a' });
    expect((await keys.dataKeys.dataKeyFor('obj-1')).equals(dataKey)).toBe(true);

    const stored = dataKeys('ws-a')[0];
    expect(stored.master_key_id).toBe(masterKeyId);
    expect(stored.wrapped_key?.includes(dataKey)).toBe(false);

    await expectCode(keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'obj-1'), 'data_key_exists');
    expect(keys.dataKeys.deleteDataKey('obj-1')).toBe(true);
    expect(keys.dataKeys.deleteDataKey('obj-1')).toBe(false);
    await expectCode(keys.dataKeys.dataKeyFor('obj-1'), 'data_key_not_found');
    expect(events.map((e) => e.code)).toEqual(['key.master_created']);
  });

  it('binds a wrapped data key to its object and master key', async () => {
    await keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'obj-1');
    await keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'obj-2');
    // Copy obj-1's wrapped key onto obj-2: it must not open there.
    store.db
      .prepare(
        "UPDATE data_keys SET wrapped_key = (SELECT wrapped_key FROM data_keys WHERE object_id = 'obj-1') WHERE object_id = 'obj-2'",
      )
      .run();
    await expectCode(keys.dataKeys.dataKeyFor('obj-2'), 'data_key_invalid');

    const masterKey = randomBytes(32);
    const wrapped = envelopeDataKeyWrapper.wrap(randomBytes(32), masterKey, {
      objectId: 'o',
      masterKeyId: 'm1',
    });
    expect(() =>
      envelopeDataKeyWrapper.unwrap(wrapped, masterKey, { objectId: 'o', masterKeyId: 'm2' }),
    ).toThrow(KeysError);
  });

  it('stores master keys sealed: no raw key bytes in node.db, and the seal secret is required', async () => {
    closeAll();
    secret = PASSPHRASE;
    rmSync(dir, { recursive: true, force: true });
    await open();
    const { dataKey, masterKeyId } = await keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'obj-1');
    const raw = await rawMasterKey(masterKeyId);
    const row = masterKeys('ws-a')[0];
    const sealed = row.sealed_key as string;

    expect(JSON.parse(sealed)).toMatchObject({ v: 1, alg: 'aes-256-gcm', kdf: 'raw' });
    for (const form of [raw.toString('base64'), raw.toString('hex')]) {
      expect(sealed.includes(form)).toBe(false);
    }
    const file = databaseBytes();
    expect(file.includes(raw)).toBe(false);
    expect(file.includes(raw.toString('base64'))).toBe(false);
    expect(file.includes(raw.toString('hex'))).toBe(false);
    expect(file.includes(dataKey)).toBe(false);
    expect(file.includes(sealed)).toBe(true); // the sealed form is what is stored

    closeAll();
    await expect(open({ secret: 'a wrong passphrase of enough length' })).rejects.toMatchObject({
      code: 'keystore_locked',
    });
    store.close();
    await expect(open({ secret: randomBytes(32) })).rejects.toMatchObject({
      code: 'keystore_locked',
    });
    store.close();

    await open({ secret: PASSPHRASE });
    expect((await keys.dataKeys.dataKeyFor('obj-1')).equals(dataKey)).toBe(true);
  });

  it('zeroes unsealed master keys when they are evicted or the keys are closed', async () => {
    const { masterKeyId } = await keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'obj-1');
    const shared = await keys.masterKeys.withKey(masterKeyId, (key) => key);
    expect(shared.equals(Buffer.alloc(32))).toBe(false);
    clock = new Date(clock.getTime() + 6 * 60_000);
    keys.masterKeys.evictIdle();
    expect(keys.masterKeys.cachedKeyCount()).toBe(0);
    expect(shared.equals(Buffer.alloc(32))).toBe(true);

    await keys.dataKeys.dataKeyFor('obj-1');
    const again = await keys.masterKeys.withKey(masterKeyId, (key) => key);
    keys.close();
    expect(again.equals(Buffer.alloc(32))).toBe(true);
    await expectCode(keys.dataKeys.dataKeyFor('obj-1'), 'keys_closed');
  });

  it('rotation re-wraps every data key to the new version and destroys the old one', async () => {
    const before = await createObjects('ws-a', 'tenant-1', 5);
    const v1 = await keys.masterKeys.activeKey('ws-a', 'tenant-1');
    const v1Sealed = masterKeys('ws-a')[0].sealed_key as string;
    expect(databaseBytes().includes(v1Sealed)).toBe(true);

    clock = new Date(clock.getTime() + 1000);
    const job = await keys.rotation.rotate('ws-a');
    const v2 = await keys.masterKeys.activeKey('ws-a', 'tenant-1');
    expect(v2.version).toBe(2);
    expect(job).toMatchObject({ state: 'done', fromKeyId: v1.id, toKeyId: v2.id, rewrapped: 5 });

    const rows = dataKeys('ws-a');
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.master_key_id === v2.id)).toBe(true);
    for (const [objectId, dataKey] of before) {
      expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
    }

    const [old, current] = masterKeys('ws-a');
    expect(old).toMatchObject({ id: v1.id, state: 'destroyed', sealed_key: null });
    expect(current).toMatchObject({ id: v2.id, state: 'active' });
    expect(databaseBytes().includes(v1Sealed)).toBe(false);
    expect(events.map((e) => e.code)).toEqual([
      'key.master_created',
      'key.rotation_started',
      'key.master_destroyed',
      'key.rotation_finished',
    ]);

    // New objects go under the new version straight away.
    const { masterKeyId } = await keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'later');
    expect(masterKeyId).toBe(v2.id);
  });

  it('a rotation interrupted after one batch resumes after a restart and ends in the same state', async () => {
    const before = await createObjects('ws-a', 'tenant-1', 5);
    const v1 = await keys.masterKeys.activeKey('ws-a', 'tenant-1');
    const started = await keys.rotation.startRotation('ws-a');
    const afterOne = await keys.rotation.runBatch(started.id);
    expect(afterOne).toMatchObject({ state: 'running', cursor: 'ws-a-obj-001', rewrapped: 2 });
    // Old keys still open while the job runs, whichever version they are under.
    expect(new Set(dataKeys('ws-a').map((r) => r.master_key_id))).toEqual(
      new Set([v1.id, started.toKeyId]),
    );
    for (const [objectId, dataKey] of before) {
      expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
    }

    closeAll(); // the "crash"
    await open();
    const resumed = await keys.rotation.resumeJobs();
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatchObject({ id: started.id, state: 'done', rewrapped: 5 });
    expect(await keys.rotation.resumeJobs()).toEqual([]);

    expect(dataKeys('ws-a').every((r) => r.master_key_id === started.toKeyId)).toBe(true);
    for (const [objectId, dataKey] of before) {
      expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
    }
    expect(masterKeys('ws-a').map((k) => [k.version, k.state, k.sealed_key === null])).toEqual([
      [1, 'destroyed', true],
      [2, 'active', false],
    ]);
  });

  it('a second rotation while one is running supersedes it and still re-wraps everything', async () => {
    const before = await createObjects('ws-a', 'tenant-1', 5);
    const first = await keys.rotation.startRotation('ws-a');
    await keys.rotation.runBatch(first.id);
    const second = await keys.rotation.rotate('ws-a');
    expect(keys.rotation.job(first.id)?.state).toBe('superseded');
    expect(second.state).toBe('done');
    expect(masterKeys('ws-a').map((k) => k.state)).toEqual(['destroyed', 'destroyed', 'active']);
    for (const [objectId, dataKey] of before) {
      expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
    }
  });

  it('rotateDue rotates only workspaces whose active key is older than the period', async () => {
    await createObjects('ws-old', 'tenant-1', 2);
    clock = new Date(clock.getTime() + 20 * DAY);
    await createObjects('ws-new', 'tenant-1', 2);
    await createObjects('ws-other-tenant', 'tenant-2', 1);

    const at = new Date(clock.getTime() + 15 * DAY); // ws-old is 35 days old, the others 15
    clock = at;
    const result = await keys.rotation.rotateDue(at, 30);
    expect(result.failed).toEqual([]);
    expect(result.rotated.map((j) => j.workspaceId)).toEqual(['ws-old']);
    expect((await keys.masterKeys.activeKey('ws-old', 'tenant-1')).version).toBe(2);
    expect((await keys.masterKeys.activeKey('ws-new', 'tenant-1')).version).toBe(1);

    // Nothing is due again right after.
    expect((await keys.rotation.rotateDue(at, 30)).rotated).toEqual([]);

    // A period per tenant: tenant-2 rotates every 10 days, tenant-1 has no period.
    const perTenant = await keys.rotation.rotateDue(at, (tenantId) =>
      tenantId === 'tenant-2' ? 10 : undefined,
    );
    expect(perTenant.rotated.map((j) => j.workspaceId)).toEqual(['ws-other-tenant']);
  });

  it('destroyWorkspace makes its data keys unreadable and removes the sealed bytes from node.db', async () => {
    const a = await createObjects('ws-a', 'tenant-1', 3);
    const b = await createObjects('ws-b', 'tenant-1', 2);
    const sealedA = masterKeys('ws-a')[0].sealed_key as string;
    const rawA = await rawMasterKey(masterKeys('ws-a')[0].id);
    const wrappedA = dataKeys('ws-a').map((r) => r.wrapped_key as Buffer);
    expect(databaseBytes().includes(sealedA)).toBe(true);

    const result = keys.destruction.destroyWorkspace('ws-a');
    expect(result).toEqual({ workspaceIds: ['ws-a'], masterKeysDestroyed: 1, dataKeysShredded: 3 });

    for (const objectId of a.keys()) {
      await expectCode(keys.dataKeys.dataKeyFor(objectId), 'key_destroyed');
    }
    await expectCode(
      keys.masterKeys.withKey(masterKeys('ws-a')[0].id, () => 1),
      'key_destroyed',
    );
    await expectCode(keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'new'), 'key_destroyed');
    await expectCode(keys.rotation.rotate('ws-a'), 'key_destroyed');
    expect(masterKeys('ws-a')[0]).toMatchObject({ state: 'destroyed', sealed_key: null });
    expect(dataKeys('ws-a').every((r) => r.wrapped_key === null)).toBe(true);

    const file = databaseBytes();
    expect(file.includes(sealedA)).toBe(false);
    expect(file.includes(JSON.parse(sealedA).data as string)).toBe(false);
    expect(file.includes(rawA)).toBe(false);
    for (const wrapped of wrappedA) expect(file.includes(wrapped)).toBe(false);

    // Other workspaces are untouched.
    for (const [objectId, dataKey] of b) {
      expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
    }

    // Idempotent, and still destroyed after a restart.
    expect(keys.destruction.destroyWorkspace('ws-a')).toEqual({
      workspaceIds: ['ws-a'],
      masterKeysDestroyed: 0,
      dataKeysShredded: 0,
    });
    closeAll();
    await open();
    await expectCode(keys.dataKeys.dataKeyFor('ws-a-obj-000'), 'key_destroyed');
  });

  it('destroyWorkspace cancels a running rotation', async () => {
    await createObjects('ws-a', 'tenant-1', 5);
    const job = await keys.rotation.startRotation('ws-a');
    await keys.rotation.runBatch(job.id);
    keys.destruction.destroyWorkspace('ws-a');
    expect(keys.rotation.job(job.id)?.state).toBe('cancelled');
    expect(await keys.rotation.resumeJobs()).toEqual([]);
    expect(masterKeys('ws-a').every((k) => k.sealed_key === null)).toBe(true);
  });

  it('destroyTenant destroys only that tenant’s keys', async () => {
    await createObjects('t1-ws1', 'tenant-1', 2);
    await createObjects('t1-ws2', 'tenant-1', 2);
    await keys.rotation.rotate('t1-ws2');
    const other = await createObjects('t2-ws1', 'tenant-2', 2);

    const result = keys.destruction.destroyTenant('tenant-1');
    expect(result).toEqual({
      workspaceIds: ['t1-ws1', 't1-ws2'],
      masterKeysDestroyed: 2, // t1-ws2's version 1 was already destroyed by the rotation
      dataKeysShredded: 4,
    });
    for (const objectId of ['t1-ws1-obj-000', 't1-ws2-obj-001']) {
      await expectCode(keys.dataKeys.dataKeyFor(objectId), 'key_destroyed');
    }
    for (const [objectId, dataKey] of other) {
      expect((await keys.dataKeys.dataKeyFor(objectId)).equals(dataKey)).toBe(true);
    }
    expect(masterKeys('t2-ws1')[0].state).toBe('active');
    expect(keys.destruction.destroyTenant('tenant-1').masterKeysDestroyed).toBe(0);
    expect(events.filter((e) => e.code === 'key.tenant_destroyed')).toHaveLength(2);
  });

  it("a tenant cannot use another tenant's workspace keys", async () => {
    await createObjects('ws-a', 'tenant-1', 1);
    await expectCode(keys.masterKeys.activeKey('ws-a', 'tenant-2'), 'tenant_mismatch');
    await expectCode(keys.dataKeys.newDataKey('ws-a', 'tenant-2', 'x'), 'tenant_mismatch');
  });

  describe('seal secret', () => {
    it('uses CAUSEWAY_NODE_SEAL_KEY when set and refuses a short one', () => {
      expect(resolveNodeSealSecret({ nodeSealKey: PASSPHRASE, stateDir: dir })).toBe(PASSPHRASE);
      expect(existsSync(join(dir, SEAL_KEY_FILE))).toBe(false);
      expect(() => resolveNodeSealSecret({ nodeSealKey: 'too short', stateDir: dir })).toThrow(
        KeysError,
      );
      const schema = NODE_ENV.CAUSEWAY_NODE_SEAL_KEY;
      expect(schema.sensitive).toBe(true);
      expect(schema.schema.safeParse('').success).toBe(true);
      expect(schema.schema.safeParse('fifteen chars!!').success).toBe(false);
      expect(schema.schema.safeParse('sixteen chars!!!').success).toBe(true);
    });

    it('creates master-seal.key (32 bytes, mode 600) once and reuses it', () => {
      const first = resolveNodeSealSecret({ nodeSealKey: '', stateDir: dir }) as Buffer;
      const file = join(dir, SEAL_KEY_FILE);
      expect(first).toHaveLength(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = resolveNodeSealSecret({ nodeSealKey: '', stateDir: dir }) as Buffer;
      expect(second.equals(first)).toBe(true);
    });

    it('refuses a key file others can read, or of the wrong size', () => {
      const file = join(dir, SEAL_KEY_FILE);
      resolveNodeSealSecret({ nodeSealKey: '', stateDir: dir });
      chmodSync(file, 0o644);
      expect(() => resolveNodeSealSecret({ nodeSealKey: '', stateDir: dir })).toThrow(
        expect.objectContaining({ code: 'seal_key_file_invalid' }) as Error,
      );
      writeFileSync(file, randomBytes(16), { mode: 0o600 });
      chmodSync(file, 0o600);
      expect(() => resolveNodeSealSecret({ nodeSealKey: '', stateDir: dir })).toThrow(
        expect.objectContaining({ code: 'seal_key_file_invalid' }) as Error,
      );
    });

    it('the keystore can be re-sealed under a new secret', async () => {
      const { dataKey } = await keys.dataKeys.newDataKey('ws-a', 'tenant-1', 'obj-1');
      const next = randomBytes(32);
      await keys.keystore.reseal(next, clock);
      closeAll();
      await expect(open({ secret })).rejects.toMatchObject({ code: 'keystore_locked' });
      store.close();
      await open({ secret: next });
      expect((await keys.dataKeys.dataKeyFor('obj-1')).equals(dataKey)).toBe(true);
    });
  });
});
