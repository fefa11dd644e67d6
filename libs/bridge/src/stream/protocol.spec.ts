import { randomUUID } from 'node:crypto';
import { decode } from '../codec';
import { BridgeTopology } from '../topology';
import {
  HEADER_STREAM_VERSION,
  chunkHeaders,
  parseChunkHeaders,
  toReceiverSchema,
  toSenderSchema,
} from './protocol';
import { StreamTopology, type StreamSide } from './topology';

const sha = 'ab'.repeat(32);

describe('stream chunk headers', () => {
  const streamId = randomUUID();

  it('read back what they were written with', () => {
    expect(parseChunkHeaders(chunkHeaders({ streamId, index: 3, final: false }))).toEqual({
      streamId,
      index: 3,
      final: false,
    });
    const last = { streamId, index: 4, final: true, sha256: sha, size: 5 * 2 ** 30 };
    expect(parseChunkHeaders(chunkHeaders(last))).toEqual(last);
  });

  it.each([
    ['no headers', undefined, /no headers/],
    [
      'another version',
      { ...chunkHeaders({ streamId, index: 0, final: false }), [HEADER_STREAM_VERSION]: 2 },
      /version/,
    ],
    [
      'a stream id that is not a uuid',
      chunkHeaders({ streamId: 'x', index: 0, final: false }),
      /uuid/,
    ],
    ['a negative index', chunkHeaders({ streamId, index: -1, final: false }), /index/],
    [
      'a final chunk without its SHA-256',
      { ...chunkHeaders({ streamId, index: 0, final: true, size: 1 }) },
      /sha256/,
    ],
  ])('refuse %s', (_, headers, reason) => {
    expect(parseChunkHeaders(headers)).toMatch(reason);
  });
});

describe('stream control messages', () => {
  const streamId = randomUUID();
  const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  it('accept the messages each side reads and nothing else', () => {
    const state = { v: 1, type: 'stream.state', streamId, acked: -1, credit: 15, resend: true };
    expect(decode(encode(state), toSenderSchema)).toEqual({ ok: true, value: state });
    expect(decode(encode(state), toReceiverSchema).ok).toBe(false);
    expect(decode(encode({ ...state, extra: 1 }), toSenderSchema).ok).toBe(false);
    expect(decode(encode({ ...state, v: 2 }), toSenderSchema).ok).toBe(false);
    const hello = { v: 1, type: 'stream.hello', streamId, chunkSize: 1024 * 1024 };
    expect(decode(encode(hello), toReceiverSchema).ok).toBe(true);
    expect(
      decode(encode({ ...hello, streamId: streamId.toUpperCase() }), toReceiverSchema).ok,
    ).toBe(false);
    const failed = { v: 1, type: 'stream.failed', streamId, code: 'no_such_code', message: '' };
    expect(decode(encode(failed), toSenderSchema).ok).toBe(false);
  });
});

describe('StreamTopology', () => {
  const bridge = new BridgeTopology('causeway');
  const t = new StreamTopology(bridge);
  const nodeId = randomUUID();
  const node: StreamSide = { role: 'node', nodeId };
  const cp: StreamSide = { role: 'control-plane', instanceId: 'cp-1' };

  it('keeps a node to its own names: it reads <ns>.node.<id>.* and writes its own exchange', () => {
    const own = `causeway.node.${nodeId}.`;
    expect(t.ownQueue(node, 'data')).toBe(`${own}stream-in`);
    expect(t.ownQueue(node, 'control')).toBe(`${own}stream-ctl`);
    expect(t.target(node, 'cp-1', 'data')).toEqual({
      exchange: bridge.nodeExchange(nodeId),
      routingKey: 'stream-in.cp-1',
    });
    expect(t.target(node, 'cp-1', 'control')).toEqual({
      exchange: bridge.nodeExchange(nodeId),
      routingKey: 'stream-ctl.cp-1',
    });
  });

  it('has the control plane write straight into the node queues', () => {
    expect(t.target(cp, nodeId, 'data')).toEqual({
      exchange: '',
      routingKey: t.nodeDataQueue(nodeId),
    });
    expect(t.target(cp, nodeId, 'control')).toEqual({
      exchange: '',
      routingKey: t.nodeControlQueue(nodeId),
    });
    expect(t.ownQueue(cp, 'data')).toBe('causeway.cp.cp-1.stream-in');
    expect(t.ownQueue(cp, 'control')).toBe('causeway.cp.cp-1.stream-ctl');
  });

  it('tells the sending node by the exchange a message came through', () => {
    expect(t.cameFrom(cp, nodeId, bridge.nodeExchange(nodeId))).toBe(true);
    expect(t.cameFrom(cp, nodeId, bridge.nodeExchange(randomUUID()))).toBe(false);
    expect(t.cameFrom(cp, nodeId, '')).toBe(false);
    expect(t.cameFrom(node, 'cp-1', '')).toBe(true);
    expect(t.cameFrom(node, 'cp-1', bridge.nodeExchange(randomUUID()))).toBe(false);
  });

  it('refuses peer ids of the wrong kind', () => {
    expect(() => t.checkPeer(cp, 'cp-2')).toThrow(/node id/);
    expect(() => t.checkPeer(node, nodeId.toUpperCase())).toThrow(/instance id/);
    expect(t.checkPeer(node, 'cp-2')).toBe('cp-2');
  });
});
