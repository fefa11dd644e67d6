import { randomBytes } from 'node:crypto';
import type { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AuditService } from '../src/audit/audit.service';
import { RefusalRecorder } from '../src/access/refusal-recorder';
import { ManualClock } from '../src/common/clock';
import { Stack } from './harness';

const quietLogger = {
  setContext: () => undefined,
  error: () => undefined,
} as unknown as PinoLogger;

interface Row {
  type: string;
  reason: string;
  ip: string | null;
  details: { path: string; repeats?: number; firstAt?: string };
}

/**
 * A made-up session cookie or bearer token can be sent by anyone: each refusal is audited,
 * but a flood of them must not become a flood of audit rows.
 */
describe('refusals of anonymous requests', () => {
  let stack: Stack;

  const rows = async (type?: string): Promise<Row[]> =>
    stack.app.get(DataSource).query<Row[]>(
      `SELECT type, reason, ip, details FROM audit_events
         WHERE tenant_id IS NULL AND type LIKE 'auth.%.refused' AND ($1::text IS NULL OR type = $1)
         ORDER BY seq`,
      [type ?? null],
    );
  const badCookie = () => `causeway_session=${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    stack = await Stack.start();
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('records the first refusal at once and the rest of the minute as one counted event', async () => {
    for (let i = 0; i < 30; i += 1) {
      await stack.anonymous().get('/api/v1/tenants').set('Cookie', badCookie()).expect(401);
    }
    for (let i = 0; i < 5; i += 1) {
      await stack
        .anonymous()
        .get('/api/v1/nodes')
        .set('Authorization', `Bearer not-the-token-${i}`)
        .expect(401);
    }
    expect(await rows('auth.session.refused')).toEqual([
      expect.objectContaining({ details: { path: '/api/v1/tenants' } }),
    ]);
    expect(await rows('auth.token.refused')).toEqual([
      expect.objectContaining({ reason: 'token_invalid', details: { path: '/api/v1/nodes' } }),
    ]);

    await stack.app.get(RefusalRecorder).flush();
    const session = await rows('auth.session.refused');
    expect(session).toHaveLength(2);
    expect(session[1]?.details).toMatchObject({ path: '/api/v1/tenants', repeats: 29 });
    expect(session[1]?.ip).toBe(session[0]?.ip);
    const token = await rows('auth.token.refused');
    expect(token.map((r) => r.details.repeats)).toEqual([undefined, 4]);
    // Nothing of what was sent is kept.
    expect(JSON.stringify(await rows())).not.toContain('not-the-token');

    // A new window: the next refusal is recorded at once again.
    await stack.anonymous().get('/api/v1/tenants').set('Cookie', badCookie()).expect(401);
    expect(await rows('auth.session.refused')).toHaveLength(3);
  });

  describe('the gathering itself (injected clock)', () => {
    let clock: ManualClock;
    let recorder: RefusalRecorder;
    const refuse = (ip: string, path = 'GET /x') =>
      recorder.refused({ type: 'auth.session.refused', reason: 'session_unknown', ip, path });
    let before: number;

    beforeEach(async () => {
      clock = new ManualClock(Date.parse('2026-12-02T10:00:00Z'));
      recorder = new RefusalRecorder(stack.app.get(AuditService), clock, quietLogger, {
        windowMs: 60_000,
        keysMax: 3,
      });
      before = (await rows('auth.session.refused')).length;
    });
    afterEach(async () => {
      await recorder.onApplicationShutdown();
    });
    const added = async () => (await rows('auth.session.refused')).slice(before);

    it('keeps addresses and reasons apart, and writes a count when its window has ended', async () => {
      await refuse('198.51.100.1');
      await refuse('198.51.100.2');
      await refuse('198.51.100.1', 'GET /y');
      await refuse('198.51.100.1', 'GET /z');
      expect((await added()).map((r) => r.ip)).toEqual(['198.51.100.1', '198.51.100.2']);

      clock.advance(30_000);
      await recorder.flush(false);
      expect(await added()).toHaveLength(2);

      clock.advance(30_001);
      await recorder.flush(false);
      const written = await added();
      expect(written).toHaveLength(3);
      expect(written[2]).toMatchObject({
        ip: '198.51.100.1',
        details: { path: 'GET /z', repeats: 2, firstAt: '2026-12-02T10:00:00.000Z' },
      });
    });

    it('writes the count of an ended window before the first refusal of the next', async () => {
      await refuse('198.51.100.7');
      await refuse('198.51.100.7');
      clock.advance(60_001);
      await refuse('198.51.100.7', 'GET /later');
      expect((await added()).map((r) => [r.details.path, r.details.repeats])).toEqual([
        ['GET /x', undefined],
        ['GET /x', 1],
        ['GET /later', undefined],
      ]);
    });

    it('stops telling addresses apart past its limit, so memory stays bounded', async () => {
      for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) await refuse(ip);
      for (let i = 4; i < 40; i += 1) await refuse(`203.0.113.${i}`);
      const written = await added();
      // Three addresses, then one record for all the others (no address), the rest counted.
      expect(written.map((r) => r.ip)).toEqual(['203.0.113.1', '203.0.113.2', '203.0.113.3', null]);
      await recorder.flush();
      expect((await added()).at(-1)).toMatchObject({ ip: null, details: { repeats: 35 } });
    });
  });
});
