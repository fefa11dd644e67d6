import { DataSource } from 'typeorm';
import { AuditService } from '../src/audit/audit.service';
import { AuditTrailService } from '../src/audit/audit-trail.service';
import { TenantsService } from '../src/tenants/tenants.service';
import { Stack } from './harness';

/** `GET /api/v1/tenants/{t}/audit-events/verify` on a real control plane and PostgreSQL. */
describe('audit verify API', () => {
  let stack: Stack;
  let acmeId: string;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    acmeId = (await stack.app.get(TenantsService).getBySlug('acme')).id;
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  const verify = (tenant: string, token = stack.config.adminToken) =>
    stack
      .anonymous()
      .get(`/api/v1/tenants/${tenant}/audit-events/verify`)
      .set('Authorization', `Bearer ${token}`);

  it("verifies the tenant's chain, live and archived, and reports a tampered row at its position", async () => {
    const audit = stack.app.get(AuditService);
    for (let i = 0; i < 3; i += 1) {
      await audit.record({
        tenantId: acmeId,
        type: 'auth.sign_in.failed',
        outcome: 'failure',
        actor: `email:someone${i}@acme.test`,
        reason: 'bad_password',
      });
    }
    expect(await stack.app.get(AuditTrailService).sealChain(acmeId)).toMatch(/^audit\//);
    await audit.record({
      tenantId: acmeId,
      type: 'auth.sign_in.failed',
      outcome: 'failure',
      actor: 'email:late@acme.test',
      reason: 'bad_password',
    });
    let res = await verify('acme');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ chain: acmeId, ok: true, segments: 1, problems: [] });
    const checked = res.body.entries as number;

    const db = stack.app.get(DataSource);
    const [last] = await db.query<Array<{ chain_seq: string }>>(
      'SELECT max(chain_seq) AS chain_seq FROM audit_events WHERE chain = $1',
      [acmeId],
    );
    await db.transaction(async (m) => {
      await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
      await m.query(
        `UPDATE audit_events SET reason = 'edited' WHERE chain = $1 AND chain_seq = $2`,
        [acmeId, last.chain_seq],
      );
      await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');
    });
    res = await verify('acme');
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.problems).toContainEqual(
      expect.objectContaining({ kind: 'edited', where: 'live', seq: Number(last.chain_seq) }),
    );
    // Another tenant's chain is its own and intact.
    expect((await verify('globex')).body.ok).toBe(true);

    // Each verification through the API is itself recorded, in the tenant's own chain.
    const verified = await db.query<Array<{ outcome: string; actor: string; details: object }>>(
      `SELECT outcome, actor, details FROM audit_events
       WHERE tenant_id = $1 AND type = 'audit.log.verified' ORDER BY seq`,
      [acmeId],
    );
    expect(verified).toEqual([
      {
        outcome: 'success',
        actor: 'operator:platform',
        details: { tenant: 'acme', ok: true, entries: checked, segments: 1, problems: 0 },
      },
      {
        outcome: 'failure',
        actor: 'operator:platform',
        details: expect.objectContaining({ tenant: 'acme', ok: false, problems: 1 }),
      },
    ]);
  });

  it('needs a credential', async () => {
    const res = await stack.anonymous().get('/api/v1/tenants/acme/audit-events/verify');
    expect(res.status).toBe(401);
  });
});
