import { randomUUID } from 'node:crypto';
import type { Test } from 'supertest';
import { DataSource } from 'typeorm';
import { appendToChain } from '../src/audit/audit-chain';
import { AuditService, type AuditRecord } from '../src/audit/audit.service';
import type { AuditEventView } from '../src/audit/audit-view';
import { CSV_COLUMNS } from '../src/audit/audit-export';
import { Pseudonyms } from '../src/audit/pseudonyms';
import { TenantsService } from '../src/tenants/tenants.service';
import { Stack } from './harness';

/**
 * Reading the audit trail on a real control plane and PostgreSQL: every filter, paging, CSV and
 * JSONL exports, and pseudonymised identities for readers without `audit.identities.read`.
 * Expected results are computed from the unfiltered trail (read by the operator), so nothing
 * here depends on the wall clock.
 */
describe('audit trail: query, export, pseudonyms', () => {
  let stack: Stack;
  let acmeId: string;
  const ws1 = randomUUID();
  const ws2 = randomUUID();
  const people = {
    owner: { email: 'olivia.owner@acme.test', id: '', cookie: '' },
    auditor: { email: 'arthur.auditor@acme.test', id: '', cookie: '' },
    member: { email: 'mia.member@acme.test', id: '', cookie: '' },
    alice: { email: 'alice@acme.test', id: '', cookie: '' },
    bob: { email: 'bob@acme.test', id: '', cookie: '' },
    globexAuditor: { email: 'gary@globex.test', id: '', cookie: '' },
  };
  /** Created through the API by the owner (a real action), then disabled. */
  let carolId = '';
  const refusedEmail = 'eve.outsider@acme.test';
  /** Every identity of acme that a pseudonymised reader must never see. */
  let identities: string[] = [];
  let all: AuditEventView[] = [];

  const record = (event: Omit<AuditRecord, 'tenantId'>, tenantId = acmeId) =>
    stack.app.get(AuditService).record({ tenantId, ...event });

  function read(query: string, as: 'operator' | keyof typeof people = 'operator'): Test {
    const request = stack.anonymous().get(`/api/v1/tenants/acme/audit-events${query}`);
    return as === 'operator'
      ? request.set('Authorization', `Bearer ${stack.config.adminToken}`)
      : request.set('Cookie', people[as].cookie);
  }

  async function items(query: string, as: 'operator' | keyof typeof people = 'operator') {
    const res = await read(query, as);
    expect(res.status).toBe(200);
    return res.body.items as AuditEventView[];
  }

  const seqs = (events: AuditEventView[]) => events.map((e) => e.seq);
  /**
   * The events recorded in beforeAll: reads themselves may be audited (refusals are), so what
   * came after is left out of comparisons.
   */
  const recorded = (events: AuditEventView[]) =>
    events.filter((e) => e.seq <= (all[all.length - 1]?.seq ?? 0));

  /** Asserts the filter returns exactly `expected` (non-empty and not everything). */
  async function narrowsTo(query: string, expected: AuditEventView[]): Promise<void> {
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    expect(seqs(recorded(await items(`?limit=1000&${query}`)))).toEqual(seqs(expected));
  }

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    acmeId = (await stack.app.get(TenantsService).getBySlug('acme')).id;
    const roles: Record<keyof typeof people, [string, string | undefined]> = {
      owner: ['acme', 'owner'],
      auditor: ['acme', 'auditor'],
      member: ['acme', 'member'],
      alice: ['acme', undefined],
      bob: ['acme', undefined],
      globexAuditor: ['globex', 'auditor'],
    };
    for (const [name, person] of Object.entries(people)) {
      const [tenant, role] = roles[name as keyof typeof people];
      const s = await stack.signedIn(tenant, person.email, role ? { role } : {});
      person.id = s.userId;
      person.cookie = s.cookie;
    }

    // Real actions: a user created and disabled by the owner, a refused sign-in.
    const created = await stack
      .anonymous()
      .post('/api/v1/tenants/acme/users')
      .set('Cookie', people.owner.cookie)
      .send({ email: 'carol@acme.test', displayName: 'Carol' });
    expect(created.status).toBe(201);
    carolId = created.body.id as string;
    await stack
      .anonymous()
      .post(`/api/v1/tenants/acme/users/${carolId}/disable`)
      .set('Cookie', people.owner.cookie)
      .expect(200);
    const refused = await stack
      .anonymous()
      .post('/api/v1/auth/acme/password')
      .send({ email: refusedEmail, password: 'not the password at all' });
    expect(refused.status).toBeGreaterThanOrEqual(400);

    // Recorded events, with a pause between them so that their times differ.
    const pause = () => new Promise((r) => setTimeout(r, 15));
    const alice = `user:${people.alice.id}`;
    const bob = `user:${people.bob.id}`;
    await record({
      type: 'data.file.downloaded',
      outcome: 'success',
      actor: alice,
      ip: '203.0.113.7',
      details: { workspaceId: ws1, fileId: randomUUID(), name: 'plan.pdf', version: 1 },
    });
    await pause();
    await record({
      type: 'data.file.uploaded',
      outcome: 'success',
      actor: bob,
      ip: '203.0.113.200',
      details: { workspaceId: ws2, fileId: randomUUID(), name: 'a,b "quoted"\nline' },
    });
    await pause();
    await record({
      type: 'data.file.download_failed',
      outcome: 'failure',
      actor: alice,
      reason: '=HYPERLINK("http://evil.test","click")',
      ip: '2001:db8::5',
      details: { workspaceId: ws1, fileId: randomUUID() },
    });
    await pause();
    await record({
      type: 'access.role.assigned',
      outcome: 'success',
      actor: `user:${people.owner.id}`,
      ip: '::ffff:10.1.2.3',
      reason: '+SUM(1,2)',
      details: {
        assignmentId: randomUUID(),
        principal: `user:${people.bob.id}`,
        role: 'member',
        scope: 'workspace',
        workspaceId: ws2,
      },
    });
    await pause();
    await record({
      type: 'access.invitation.created',
      outcome: 'success',
      actor: `user:${people.owner.id}`,
      ip: '198.51.100.20',
      reason: '@cmd',
      details: {
        invitationId: randomUUID(),
        userId: people.alice.id,
        userKind: 'partner',
        role: 'partner-viewer',
        workspaceId: ws1,
        expiresAt: '2027-01-01T00:00:00.000Z',
      },
    });
    await pause();
    await record({
      type: 'auth.sign_in.failed',
      outcome: 'failure',
      actor: `email:${people.bob.email}`,
      reason: '-1+2',
      ip: '198.51.100.21',
      details: { method: 'password' },
    });
    await pause();
    // Identities in a principal and inside free text, which pseudonyms must hide too.
    await record({
      type: 'access.role.refused',
      outcome: 'failure',
      actor: null,
      reason: '\tburst',
      ip: '198.51.100.21',
      details: {
        role: 'auditor',
        principal: `email:${people.bob.email}`,
        missing: 'contact bob@acme.test or partner@example.org, or security',
      },
    });
    // Another tenant's events, which acme's readers must never see.
    const globexId = (await stack.app.get(TenantsService).getBySlug('globex')).id;
    await record(
      {
        type: 'data.file.downloaded',
        outcome: 'success',
        actor: `user:${people.globexAuditor.id}`,
        ip: '203.0.113.7',
        details: { workspaceId: ws1 },
      },
      globexId,
    );

    all = await items('?limit=1000');
    identities = [
      ...Object.entries(people)
        .filter(([name]) => name !== 'globexAuditor')
        .flatMap(([, p]) => [p.id, p.email]),
      carolId,
      'carol@acme.test',
      refusedEmail,
      'partner@example.org',
    ];
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('keeps the tenant, stable order and the real actions', () => {
    expect(all.length).toBeGreaterThanOrEqual(9);
    const order = seqs(all);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(JSON.stringify(all)).not.toContain(people.globexAuditor.id);
    const types = all.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['admin.user.created', 'admin.user.disabled', 'auth.sign_in.failed']),
    );
    expect(all.some((e) => e.actor === `email:${refusedEmail}`)).toBe(true);
  });

  it('filters by one or several types, by category and by outcome', async () => {
    await narrowsTo(
      'type=data.file.downloaded',
      all.filter((e) => e.type === 'data.file.downloaded'),
    );
    const several = ['data.file.uploaded', 'admin.user.created'];
    await narrowsTo(
      'type=data.file.uploaded,admin.user.created',
      all.filter((e) => several.includes(e.type)),
    );
    await narrowsTo(
      'type=data.file.uploaded&type=admin.user.created',
      all.filter((e) => several.includes(e.type)),
    );
    await narrowsTo(
      'category=data',
      all.filter((e) => e.category === 'data'),
    );
    await narrowsTo(
      'outcome=failure',
      all.filter((e) => e.outcome === 'failure'),
    );
    await narrowsTo(
      'category=data&outcome=failure',
      all.filter((e) => e.category === 'data' && e.outcome === 'failure'),
    );
  });

  it('filters by actor, workspace and source address (exact or CIDR, IPv4 and IPv6)', async () => {
    const alice = `user:${people.alice.id}`;
    await narrowsTo(
      `actor=${encodeURIComponent(alice)}`,
      all.filter((e) => e.actor === alice),
    );
    await narrowsTo(
      `actor=${encodeURIComponent(`email:${refusedEmail}`)}`,
      all.filter((e) => e.actor === `email:${refusedEmail}`),
    );
    await narrowsTo(
      `workspace=${ws1}`,
      all.filter((e) => e.details['workspaceId'] === ws1),
    );
    await narrowsTo(
      'ip=203.0.113.7',
      all.filter((e) => e.ip === '203.0.113.7'),
    );
    await narrowsTo(
      `ip=${encodeURIComponent('203.0.113.0/24')}`,
      all.filter((e) => e.ip?.startsWith('203.0.113.')),
    );
    await narrowsTo(
      `ip=${encodeURIComponent('198.51.100.20/31')}`,
      all.filter((e) => e.ip === '198.51.100.20' || e.ip === '198.51.100.21'),
    );
    await narrowsTo(
      `ip=${encodeURIComponent('2001:db8::/32')}`,
      all.filter((e) => e.ip === '2001:db8::5'),
    );
    // An IPv4 client the socket reported as IPv4-mapped IPv6 is found by its IPv4 network.
    await narrowsTo(
      `ip=${encodeURIComponent('10.0.0.0/8')}`,
      all.filter((e) => e.ip === '::ffff:10.1.2.3'),
    );
    expect(await items(`?ip=${encodeURIComponent('192.0.2.0/24')}`)).toEqual([]);
  });

  it('filters by time range: from inclusive, to exclusive, at the exact edges', async () => {
    const middle = all.find((e) => e.type === 'data.file.download_failed');
    if (!middle) throw new Error('no middle event');
    const t = middle.occurredAt;
    const at = Date.parse(t);
    await narrowsTo(
      `from=${encodeURIComponent(t)}`,
      all.filter((e) => Date.parse(e.occurredAt) >= at),
    );
    await narrowsTo(
      `to=${encodeURIComponent(t)}`,
      all.filter((e) => Date.parse(e.occurredAt) < at),
    );
    await narrowsTo(
      `from=${encodeURIComponent(t)}&to=${encodeURIComponent(new Date(at + 1).toISOString())}`,
      all.filter((e) => Date.parse(e.occurredAt) === at),
    );
    // The same instant written with an offset.
    const shifted = new Date(at + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    expect(seqs(recorded(await items(`?limit=1000&from=${encodeURIComponent(shifted)}`)))).toEqual(
      seqs(all.filter((e) => Date.parse(e.occurredAt) >= at)),
    );
    expect(await items(`?from=${encodeURIComponent(t)}&to=${encodeURIComponent(t)}`)).toEqual([]);
  });

  it('pages with after and limit in a stable order', async () => {
    const pages: AuditEventView[] = [];
    let after = 0;
    for (;;) {
      const res = await read(`?limit=2&after=${after}`);
      expect(res.status).toBe(200);
      pages.push(...(res.body.items as AuditEventView[]));
      if (res.body.nextAfter === null) break;
      after = res.body.nextAfter as number;
    }
    expect(seqs(recorded(pages))).toEqual(seqs(all));
  });

  it.each([
    ['?type=no.such.event', 'type'],
    ['?category=nonsense', 'category'],
    ['?outcome=maybe', 'outcome'],
    ['?from=yesterday', 'from'],
    ['?to=2026-12-02T10:00:00', 'to'],
    ['?from=2026-12-02T10:00:00Z&to=2026-12-01T10:00:00Z', 'to'],
    ['?workspace=not-a-uuid', 'workspace'],
    ['?ip=300.1.1.1', 'ip'],
    [`?ip=${encodeURIComponent('10.0.0.0/33')}`, 'ip'],
    ['?limit=0', 'limit'],
    ['?after=-1', 'after'],
    ['?colour=blue', 'colour'],
    ['/export?format=xml', 'format'],
    ['/export', 'format'],
  ])('refuses %s with a sentence naming %s', async (query, field) => {
    const res = await read(query);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.message).toContain(`"${field}"`);
  });

  describe('pseudonyms', () => {
    it('shows a reader without audit.identities.read no user id or address, in list and exports', async () => {
      const res = await read('?limit=1000', 'auditor');
      expect(res.status).toBe(200);
      expect(res.body.pseudonymised).toBe(true);
      const bodies = [
        res.text,
        (await read('/export?format=csv', 'auditor').expect(200)).text,
        (await read('/export?format=jsonl', 'auditor').expect(200)).text,
      ];
      for (const body of bodies) {
        for (const identity of identities) expect(body).not.toContain(identity);
        expect(body).toMatch(/user~[0-9a-f]{20}/);
        expect(body).toMatch(/email~[0-9a-f]{20}/);
      }
      const seen = recorded(res.body.items as AuditEventView[]);
      expect(seqs(seen)).toEqual(seqs(all));
      // IP addresses stay (the anomaly rules and investigations need them).
      expect(seen.map((e) => e.ip)).toEqual(all.map((e) => e.ip));
    });

    it('shows identities to a reader holding the permission (the owner)', async () => {
      const res = await read('?limit=1000', 'owner');
      expect(res.status).toBe(200);
      expect(res.body.pseudonymised).toBe(false);
      const csv = (await read('/export?format=csv', 'owner').expect(200)).text;
      const jsonl = (await read('/export?format=jsonl', 'owner').expect(200)).text;
      for (const body of [res.text, csv, jsonl]) {
        for (const identity of [people.alice.id, people.bob.id, refusedEmail, carolId]) {
          expect(body).toContain(identity);
        }
      }
    });

    it('gives one person one pseudonym, wherever they appear, and lets the reader filter by it', async () => {
      const seen = await items('?limit=1000', 'auditor');
      const bySeq = new Map(seen.map((e) => [e.seq, e]));
      const aliceEvents = all.filter((e) => e.actor === `user:${people.alice.id}`);
      const pseudonym = bySeq.get(aliceEvents[0].seq)!.actor!;
      expect(pseudonym).toMatch(/^user~[0-9a-f]{20}$/);
      for (const e of aliceEvents) expect(bySeq.get(e.seq)!.actor).toBe(pseudonym);
      // Alice as a detail (the invitation's userId) carries the same pseudonym.
      const invitation = all.find((e) => e.type === 'access.invitation.created')!;
      expect(bySeq.get(invitation.seq)!.details['userId']).toBe(pseudonym);
      // Bob as a principal is Bob's pseudonym, not Alice's.
      const assigned = all.find((e) => e.type === 'access.role.assigned')!;
      const bobPseudonym = bySeq.get(assigned.seq)!.details['principal'];
      expect(bobPseudonym).toMatch(/^user~/);
      expect(bobPseudonym).not.toBe(pseudonym);

      const filtered = await items(`?limit=1000&actor=${encodeURIComponent(pseudonym)}`, 'auditor');
      expect(seqs(recorded(filtered))).toEqual(seqs(aliceEvents));
      const exported = (
        await read(`/export?format=jsonl&actor=${encodeURIComponent(pseudonym)}`, 'auditor').expect(
          200,
        )
      ).text;
      const exportedSeqs = exported
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEventView).seq);
      expect(exportedSeqs.filter((q) => q <= (all[all.length - 1]?.seq ?? 0))).toEqual(
        seqs(aliceEvents),
      );
      const refused = await read(
        `?actor=${encodeURIComponent(`user:${people.alice.id}`)}`,
        'auditor',
      );
      expect(refused.status).toBe(400);
      expect(refused.body.message).toContain('"actor"');
      expect(refused.text).not.toContain(pseudonym);
    });

    it('keys pseudonyms per tenant', () => {
      const pseudonyms = stack.app.get(Pseudonyms);
      const id = people.alice.id;
      const a = pseudonyms.forTenant(acmeId).of('user', id);
      expect(pseudonyms.forTenant(acmeId).of('user', id)).toBe(a);
      expect(pseudonyms.forTenant(randomUUID()).of('user', id)).not.toBe(a);
    });
  });

  describe('reading the trail is itself audited', () => {
    it('records each page read and each export with the reader, the filters and the pseudonymisation', async () => {
      const before = (await items('?limit=1000&type=audit.log.read,audit.log.exported')).length;
      const page = await items(
        `?limit=5&category=data&actor=${encodeURIComponent(`user:${people.alice.id}`)}`,
        'owner',
      );
      const exported = await read('/export?format=jsonl&outcome=failure', 'auditor').expect(200);
      const after = await items('?limit=1000&type=audit.log.read,audit.log.exported');
      // The operator's own first read above, the owner's page, the auditor's export.
      const added = after.slice(before);
      expect(added.map((e) => e.type)).toEqual([
        'audit.log.read',
        'audit.log.read',
        'audit.log.exported',
      ]);
      expect(added[1]).toMatchObject({
        actor: `user:${people.owner.id}`,
        outcome: 'success',
        details: {
          tenant: 'acme',
          filters: 'category=data&limit=5',
          actorFilter: `user:${people.alice.id}`,
          count: page.length,
          pseudonymised: false,
        },
      });
      expect(added[2]).toMatchObject({
        actor: `user:${people.auditor.id}`,
        details: { format: 'jsonl', filters: 'outcome=failure', pseudonymised: true },
      });
      // An export holds the events up to the one its record names, not its own record.
      const upToSeq = added[2]?.details['upToSeq'] as number;
      const exportedSeqs = exported.text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEventView).seq);
      expect(Math.max(...exportedSeqs)).toBeLessThanOrEqual(upToSeq);
      expect(exportedSeqs).not.toContain(added[2]?.seq);
      // A pseudonymised reader sees the owner's read without the identity it filtered by.
      const asAuditor = await items(`?limit=1000&type=audit.log.read`, 'auditor');
      const ownersRead = asAuditor.find((e) => e.seq === added[1]?.seq);
      expect(ownersRead?.details['actorFilter']).toMatch(/^user~[0-9a-f]{20}$/);
      expect(JSON.stringify(asAuditor)).not.toContain(people.alice.id);
    });
  });

  describe('exports', () => {
    it('writes CSV as RFC 4180 with a guard against formula injection', async () => {
      const res = await read('/export?format=csv', 'owner').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toMatch(
        /^attachment; filename="audit-events-acme-[0-9TZ]+\.csv"$/,
      );
      const records = parseCsv(res.text);
      expect(records[0]).toEqual([...CSV_COLUMNS]);
      const last = all[all.length - 1]?.seq ?? 0;
      const rows = records.slice(1).filter((r) => Number(r[0]) <= last);
      expect(rows).toHaveLength(all.length);
      for (const row of rows) expect(row).toHaveLength(CSV_COLUMNS.length);
      const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
      expect(rows.map((r) => Number(r[col('seq')]))).toEqual(seqs(all));
      const reasons = rows.map((r) => r[col('reason')]);
      expect(reasons).toEqual(
        expect.arrayContaining([
          `'=HYPERLINK("http://evil.test","click")`,
          "'+SUM(1,2)",
          "'@cmd",
          "'-1+2",
          "'\tburst",
        ]),
      );
      // The raw text: quotes doubled inside a quoted cell, CRLF record ends.
      expect(res.text).toContain(`"'=HYPERLINK(""http://evil.test"",""click"")"`);
      expect(res.text.endsWith('\r\n')).toBe(true);
      // Details round-trip as JSON, newlines and quotes included.
      const upload = rows.find((r) => r[col('type')] === 'data.file.uploaded')!;
      expect(JSON.parse(upload[col('details')])).toMatchObject({ name: 'a,b "quoted"\nline' });
    });

    it('writes JSONL: one object per line, the same as the list', async () => {
      const res = await read('/export?format=jsonl&category=data', 'owner').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename=".*\.jsonl"$/);
      const lines = res.text.split('\n');
      expect(lines.pop()).toBe('');
      const parsed = lines.map((l) => JSON.parse(l) as AuditEventView);
      expect(recorded(parsed)).toEqual(all.filter((e) => e.category === 'data'));
    });
  });

  describe('who may read', () => {
    it('answers a member without audit.read 403, for the list and the export', async () => {
      for (const path of ['', '/export?format=csv']) {
        const res = await read(path, 'member');
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('forbidden');
      }
    });

    it("answers another tenant's auditor 404, as if acme did not exist", async () => {
      for (const path of ['', '/export?format=jsonl']) {
        const res = await read(path, 'globexAuditor');
        expect(res.status).toBe(404);
        expect(res.text).not.toContain(people.alice.id);
      }
      const own = await stack
        .anonymous()
        .get('/api/v1/tenants/globex/audit-events/export?format=jsonl')
        .set('Cookie', people.globexAuditor.cookie)
        .expect(200);
      const theirs = own.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEventView);
      expect(theirs.some((e) => e.type === 'data.file.downloaded')).toBe(true);
      const acmeIds = new Set(all.map((e) => e.id));
      expect(theirs.filter((e) => acmeIds.has(e.id))).toEqual([]);
      for (const identity of identities) expect(own.text).not.toContain(identity);
      expect(own.text).not.toContain(people.globexAuditor.id);
    });
  });

  it('streams a large export (20,000 events) page by page', async () => {
    await stack.createTenant('bigcorp');
    const tenantId = (await stack.app.get(TenantsService).getBySlug('bigcorp')).id;
    const total = 20_000;
    // Appended to the hash chain as AuditService.record does, a thousand per transaction (a
    // commit per event would make this test take minutes).
    const db = stack.app.get(DataSource);
    for (let i = 0; i < total; i += 1000) {
      await db.transaction(async (manager) => {
        for (let k = i; k < Math.min(total, i + 1000); k += 1) {
          await appendToChain(manager, {
            id: randomUUID(),
            tenant_id: tenantId,
            occurred_at: new Date(),
            type: 'data.file.downloaded',
            outcome: 'success',
            actor: `user:${randomUUID()}`,
            reason: null,
            ip: '203.0.113.9',
            details: { workspaceId: ws1, version: k },
          });
        }
      });
    }
    const csv = await stack
      .http()
      .get('/api/v1/tenants/bigcorp/audit-events/export?format=csv')
      .buffer(true)
      .expect(200);
    // Streamed: sent in chunks as pages are read, never sized (and so held) in advance.
    expect(csv.headers['transfer-encoding']).toBe('chunked');
    expect(csv.headers['content-length']).toBeUndefined();
    expect(csv.text.split('\r\n').filter((l) => l !== '')).toHaveLength(total + 1);
    const jsonl = await stack
      .http()
      .get('/api/v1/tenants/bigcorp/audit-events/export?format=jsonl&limit=15000')
      .buffer(true)
      .expect(200);
    const lines = jsonl.text.trim().split('\n');
    expect(lines).toHaveLength(15_000);
    const ns = lines.map((l) => (JSON.parse(l) as AuditEventView).details['version']);
    expect(ns[0]).toBeDefined();
    expect(new Set(ns).size).toBe(15_000);
  }, 300_000);
});

/** A strict RFC 4180 reader for the test (quoted cells, doubled quotes, CRLF records). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      record.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
      i += 1;
    } else cell += c;
  }
  if (cell !== '' || record.length > 0) throw new Error('CSV does not end with CRLF');
  return records;
}
