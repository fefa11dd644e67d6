import { randomUUID } from 'node:crypto';
import {
  heartbeatSchema,
  replyEnvelopeSchema,
  requestEnvelopeSchema,
  wireDetails,
} from './envelope';

const request = () => ({
  v: 1,
  type: 'request',
  id: randomUUID(),
  requestId: 'req-1',
  method: 'ping',
  deadline: Date.now() + 1000,
  sentAt: new Date().toISOString(),
  replyTo: 'reply.cp-1',
  payload: {},
});

describe('bridge envelopes v1', () => {
  it('accepts a well-formed request', () => {
    expect(requestEnvelopeSchema.safeParse(request()).success).toBe(true);
  });

  it.each([
    ['another version', { v: 2 }],
    ['a reply route that is not a reply queue', { replyTo: 'heartbeat' }],
    ['a request id with spaces or newlines', { requestId: 'a b\nc' }],
    ['an unknown field', { extra: true }],
    ['a non-uuid id', { id: '42' }],
  ])('rejects %s', (_what, change) => {
    expect(requestEnvelopeSchema.safeParse({ ...request(), ...change }).success).toBe(false);
  });

  it('requires an error on a failed reply and a result on a successful one', () => {
    const base = {
      v: 1,
      type: 'reply',
      id: randomUUID(),
      inReplyTo: randomUUID(),
      requestId: 'r',
      nodeId: randomUUID(),
      sentAt: new Date().toISOString(),
    };
    expect(replyEnvelopeSchema.safeParse({ ...base, ok: true, result: { x: 1 } }).success).toBe(
      true,
    );
    expect(
      replyEnvelopeSchema.safeParse({ ...base, ok: false, error: { code: 'x', message: 'y' } })
        .success,
    ).toBe(true);
    expect(replyEnvelopeSchema.safeParse({ ...base, ok: false, result: {} }).success).toBe(false);
  });

  it('accepts only the two heartbeat states', () => {
    const beat = {
      v: 1,
      type: 'heartbeat',
      nodeId: randomUUID(),
      state: 'up',
      sentAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      version: '0.1.0',
      hostname: 'h',
      intervalMs: 5000,
    };
    expect(heartbeatSchema.safeParse(beat).success).toBe(true);
    expect(heartbeatSchema.safeParse({ ...beat, state: 'maybe' }).success).toBe(false);
  });
});

describe('error details on the bridge', () => {
  const failure = (error: unknown) => ({
    v: 1,
    type: 'reply',
    id: randomUUID(),
    inReplyTo: randomUUID(),
    requestId: 'req-1',
    nodeId: randomUUID(),
    sentAt: new Date().toISOString(),
    ok: false,
    error,
  });

  it('carries a small flat object of details, or none (older senders)', () => {
    const details = { reason: 'quota_exceeded', quotaBytes: 100, usedBytes: 40, size: 61 };
    expect(
      replyEnvelopeSchema.safeParse(failure({ code: 'payload_too_large', message: 'm', details }))
        .success,
    ).toBe(true);
    expect(replyEnvelopeSchema.safeParse(failure({ code: 'conflict', message: 'm' })).success).toBe(
      true,
    );
  });

  it.each([
    ['a nested object', { reason: { deep: true } }],
    ['an array', { ids: ['a'] }],
    ['a key that is not an identifier', { 'bad key': 1 }],
    ['too many keys', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i]))],
  ])('rejects details with %s', (_what, details) => {
    expect(
      replyEnvelopeSchema.safeParse(failure({ code: 'conflict', message: 'm', details })).success,
    ).toBe(false);
  });

  it('keeps only what a reader accepts when sending', () => {
    const sent = wireDetails({
      reason: 'range_not_satisfiable',
      size: 10,
      nested: { no: 1 },
      'bad key': 1,
      long: 'x'.repeat(300),
      missing: undefined,
      infinite: Number.POSITIVE_INFINITY,
    });
    expect(sent).toEqual({ reason: 'range_not_satisfiable', size: 10, long: 'x'.repeat(256) });
    expect(
      replyEnvelopeSchema.safeParse(failure({ code: 'conflict', message: 'm', details: sent }))
        .success,
    ).toBe(true);
    expect(wireDetails(undefined)).toBeUndefined();
    expect(wireDetails({ nested: {} })).toBeUndefined();
    const many = wireDetails(
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])),
    );
    expect(Object.keys(many ?? {})).toHaveLength(16);
  });
});
