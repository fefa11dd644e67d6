import { existsSync } from 'node:fs';
import { globalAgent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client, type BucketItem } from 'minio';
import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { BridgeTopology } from '@causeway/bridge';
import {
  TEST_AMQP_URL,
  createTestDatabase,
  deleteBrokerObjects,
  startS3Server,
  uniqueSuffix,
  type S3Server,
  type TestDatabase,
} from '@causeway/testing';
import { createControlPlane } from '../src/app';
import { AuditService } from '../src/audit/audit.service';
import { AuditTrailService } from '../src/audit/audit-trail.service';
import { ManualClock } from '../src/common/clock';
import { loadConfig, type ControlPlaneConfig } from '../src/config/config';
import { createRootLogger } from '../src/logging';
import { TenantsService } from '../src/tenants/tenants.service';

const PREFIX = 'causeway/e2e';

/**
 * Two control plane instances (one database, one bucket, an injected clock) with the audit
 * archive on an S3-compatible server (s3rver, through the same minio client code that talks to
 * MinIO or AWS): a tenant's chain is sealed into the bucket on schedule, verifies, and an object
 * tampered with in the bucket is reported at its position.
 */
describe('audit archive on S3 (real control plane, PostgreSQL, RabbitMQ, s3rver)', () => {
  let s3: S3Server;
  let db: TestDatabase;
  let clock: ManualClock;
  let config: ControlPlaneConfig;
  let app: NestExpressApplication;
  let other: NestExpressApplication | undefined;
  let bucket: Client;
  let acmeId: string;
  const instanceIds: string[] = [];
  const archiveDir = join(tmpdir(), `causeway-audit-unused-${uniqueSuffix()}`);
  let env: Record<string, string>;

  async function start(instanceId: string): Promise<NestExpressApplication> {
    instanceIds.push(instanceId);
    config = loadConfig({ ...env, CAUSEWAY_INSTANCE_ID: instanceId });
    const logger = createRootLogger('warn', { write: () => undefined });
    const started = await createControlPlane({ config, logger, clock });
    await started.init();
    return started;
  }

  beforeAll(async () => {
    s3 = await startS3Server({ bucket: 'causeway-audit' });
    db = await createTestDatabase();
    clock = new ManualClock(Date.parse('2026-03-10T09:00:00Z'));
    env = {
      CAUSEWAY_DATABASE_URL: db.url,
      CAUSEWAY_AMQP_URL: TEST_AMQP_URL,
      CAUSEWAY_ADMIN_TOKEN: `test-token-${uniqueSuffix()}-${uniqueSuffix()}-${uniqueSuffix()}`,
      CAUSEWAY_BRIDGE_NAMESPACE: `t${uniqueSuffix()}`,
      CAUSEWAY_CA_SEAL_KEY: `test-seal-key-${uniqueSuffix()}`,
      CAUSEWAY_AUDIT_SEAL_TIMES: '00:00,12:00',
      // Set, to show the S3 archive is used instead of it.
      CAUSEWAY_AUDIT_ARCHIVE_DIR: archiveDir,
      CAUSEWAY_AUDIT_ARCHIVE: 's3',
      CAUSEWAY_AUDIT_S3_ENDPOINT: s3.url,
      CAUSEWAY_AUDIT_S3_REGION: s3.region,
      CAUSEWAY_AUDIT_S3_BUCKET: s3.bucket,
      CAUSEWAY_AUDIT_S3_PREFIX: PREFIX,
      CAUSEWAY_AUDIT_S3_ACCESS_KEY: s3.accessKey,
      CAUSEWAY_AUDIT_S3_SECRET_KEY: s3.secretKey,
    };
    app = await start(`cp-a-${uniqueSuffix()}`);
    await app.get(TenantsService).create({ slug: 'acme', name: 'Acme', region: 'eu-west' });
    acmeId = (await app.get(TenantsService).getBySlug('acme')).id;
    bucket = new Client({
      endPoint: s3.endpoint,
      port: s3.port,
      useSSL: false,
      region: s3.region,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      pathStyle: true,
    });
  }, 120_000);

  afterAll(async () => {
    await other?.close();
    await app?.close();
    await db?.drop();
    if (env) {
      const { queues, exchanges } = new BridgeTopology(env.CAUSEWAY_BRIDGE_NAMESPACE).names(
        [],
        instanceIds,
      );
      await deleteBrokerObjects(queues, exchanges);
    }
    await s3?.stop();
    // The minio client keeps idle connections in the global agent, which keep the worker alive.
    globalAgent.destroy();
  });

  const record = async (n: number) => {
    await app.get(AuditService).record({
      tenantId: acmeId,
      type: 'auth.sign_in.failed',
      outcome: 'failure',
      actor: `email:someone${n}@acme.test`,
      reason: 'bad_password',
    });
  };

  /** Every object of acme's chain in the bucket, by its full name. */
  async function acmeObjects(): Promise<string[]> {
    const names: string[] = [];
    for await (const item of bucket.listObjects(s3.bucket, `${PREFIX}/`, true)) {
      const name = (item as BucketItem).name;
      if (name?.includes(`/audit/${acmeId}/`)) names.push(name);
    }
    return names.sort();
  }

  async function acmeHead(): Promise<number> {
    const [row] = await app
      .get(DataSource)
      .query<Array<{ last_seq: string }>>('SELECT last_seq FROM audit_chains WHERE chain = $1', [
        acmeId,
      ]);
    return Number(row.last_seq);
  }

  const verify = () =>
    supertest(app.getHttpServer())
      .get('/api/v1/tenants/acme/audit-events/verify')
      .set('Authorization', `Bearer ${config.adminToken}`);

  it("seals the tenant's chain into the bucket on schedule, and verify passes", async () => {
    const trail = app.get(AuditTrailService);
    for (let n = 0; n < 3; n += 1) await record(n);
    const firstLast = await acmeHead();

    // 09:00 on a fresh database: the 00:00 slot never ran, so it runs now.
    expect(await trail.tick()).toEqual(new Date('2026-03-10T00:00:00Z'));
    const [{ archive_id: archiveId }] = await app
      .get(DataSource)
      .query<Array<{ archive_id: string }>>('SELECT archive_id FROM audit_archive_identity');
    const first = `audit/${acmeId}/${pad(1)}-${pad(firstLast)}`;
    expect(await acmeObjects()).toEqual([
      `${PREFIX}/${archiveId}/${first}/manifest`,
      `${PREFIX}/${archiveId}/${first}/segment`,
    ]);

    for (let n = 3; n < 5; n += 1) await record(n);
    clock.set(Date.parse('2026-03-10T11:59:59.999Z'));
    expect(await trail.tick()).toBeUndefined();
    expect(await acmeObjects()).toHaveLength(2);

    clock.set(Date.parse('2026-03-10T12:00:00Z'));
    expect(await trail.tick()).toEqual(new Date('2026-03-10T12:00:00Z'));
    const second = `audit/${acmeId}/${pad(firstLast + 1)}-${pad(await acmeHead())}`;
    expect(await acmeObjects()).toEqual([
      `${PREFIX}/${archiveId}/${first}/manifest`,
      `${PREFIX}/${archiveId}/${first}/segment`,
      `${PREFIX}/${archiveId}/${second}/manifest`,
      `${PREFIX}/${archiveId}/${second}/segment`,
    ]);
    expect(existsSync(archiveDir)).toBe(false);

    const res = await verify();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ chain: acmeId, ok: true, segments: 2, problems: [] });

    // Another instance on the same database and bucket: the slot is done, and it verifies
    // from the shared archive what the first instance sealed.
    clock.set(Date.parse('2026-03-10T12:00:30Z'));
    other = await start(`cp-b-${uniqueSuffix()}`);
    expect(await other.get(AuditTrailService).tick()).toBeUndefined();
    expect(await trail.tick()).toBeUndefined();
    expect(await acmeObjects()).toHaveLength(4);
    const fromOther = await other.get(AuditTrailService).verify(acmeId);
    expect(fromOther).toMatchObject({ ok: true, segments: 2, problems: [] });
  });

  it('reports a segment tampered with in the bucket at its position', async () => {
    const [{ archive_id: archiveId }] = await app
      .get(DataSource)
      .query<Array<{ archive_id: string }>>('SELECT archive_id FROM audit_archive_identity');
    const segments = (await acmeObjects()).filter((name) => name.endsWith('/segment'));
    const object = segments[segments.length - 1];
    const name = object.slice(`${PREFIX}/${archiveId}/`.length, -'/segment'.length);

    const stream = await bucket.getObject(s3.bucket, object);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const lines = gunzipSync(Buffer.concat(chunks)).toString('utf8').trim().split('\n');
    const line = JSON.parse(lines[1]) as { seq: number; body: string };
    expect(line.body).toContain('bad_password');
    lines[1] = JSON.stringify({
      ...line,
      body: line.body.replace('bad_password', 'good_password'),
    });
    const tampered = gzipSync(`${lines.join('\n')}\n`);
    await bucket.putObject(s3.bucket, object, tampered, tampered.length);

    const res = await verify();
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.problems).toContainEqual(
      expect.objectContaining({
        kind: 'edited',
        where: 'segment',
        segment: name,
        seq: line.seq,
        index: 1,
      }),
    );
    expect(res.body.problems).toContainEqual(
      expect.objectContaining({ kind: 'segment_hash_mismatch', where: 'segment', segment: name }),
    );
  });
});

function pad(n: number): string {
  return String(n).padStart(12, '0');
}
