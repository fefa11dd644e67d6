import { randomUUID } from 'node:crypto';
import { decode } from './codec';
import { requestEnvelopeSchema } from '@causeway/contracts';
import { reconnectDelaySeconds } from './connection';
import { BridgeTopology } from './topology';

describe('BridgeTopology', () => {
  const t = new BridgeTopology('causeway');

  it('names a node by the exchange its messages came through, and nothing else', () => {
    const id = randomUUID();
    expect(t.nodeIdFromExchange(t.nodeExchange(id))).toBe(id);
    expect(t.nodeIdFromExchange('other.node.x.out')).toBeUndefined();
    expect(t.nodeIdFromExchange(t.inboundExchange)).toBeUndefined();
  });

  it('declares work queues as quorum queues with bounded redelivery and safe dead-lettering', () => {
    expect(t.workQueueArguments()).toMatchObject({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 5,
      'x-dead-letter-exchange': 'causeway.dead',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
  });

  it('refuses a namespace that could collide with broker names', () => {
    expect(() => new BridgeTopology('Bad.Name')).toThrow(/namespace/);
  });
});

describe('decode', () => {
  it('turns bad JSON and schema mismatches into reasons instead of exceptions', () => {
    expect(decode(Buffer.from('{'), requestEnvelopeSchema)).toMatchObject({
      ok: false,
      reason: 'invalid_json',
    });
    const mismatch = decode(Buffer.from('{"v":1}'), requestEnvelopeSchema);
    expect(mismatch).toMatchObject({ ok: false, reason: 'invalid_envelope' });
    expect(mismatch.ok ? '' : mismatch.detail).toContain('type');
  });
});

describe('reconnectDelaySeconds', () => {
  it('grows with each failure, stays within the cap and never drops below the base', () => {
    expect(reconnectDelaySeconds(1, 1, 1)).toBe(2);
    expect(reconnectDelaySeconds(1, 4, 1)).toBe(16);
    expect(reconnectDelaySeconds(1, 20, 1)).toBe(30);
    expect(reconnectDelaySeconds(1, 20, 0)).toBe(1);
    expect(reconnectDelaySeconds(1, 3, 0.5)).toBe(4);
  });
});
