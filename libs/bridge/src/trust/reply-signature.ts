import type { KeyObject } from 'node:crypto';
import { signBytes, signingKeyId, verifyBytes } from '@causeway/crypto';
import { HEADER_SIGNATURE, HEADER_SIGNING_KEY_ID } from '@causeway/contracts';

/**
 * Signs what a node sends (replies, command results, heartbeats): an Ed25519 signature of the
 * exact body bytes, with the key's id, in two headers. The key can be swapped at run time
 * (certificate rotation) without stopping the bridge.
 */
export class MessageSigner {
  private current: { key: KeyObject; kid: string };

  constructor(privateKey: KeyObject) {
    this.current = { key: privateKey, kid: signingKeyId(privateKey) };
  }

  get keyId(): string {
    return this.current.kid;
  }

  use(privateKey: KeyObject): void {
    this.current = { key: privateKey, kid: signingKeyId(privateKey) };
  }

  headers(body: Uint8Array): Record<string, string> {
    const { key, kid } = this.current;
    return {
      [HEADER_SIGNATURE]: signBytes(key, body).toString('base64'),
      [HEADER_SIGNING_KEY_ID]: kid,
    };
  }
}

/** How the control plane finds a node's signing keys (current and, during a rotation, previous). */
export type NodeKeyLookup = (
  nodeId: string,
  kid: string,
) => KeyObject | undefined | Promise<KeyObject | undefined>;

export type SignatureCheck = 'valid' | 'missing' | 'unknown_key' | 'invalid';

/** Checks a node's signature on a message body against the keys the control plane holds for it. */
export async function checkNodeSignature(
  lookup: NodeKeyLookup,
  nodeId: string,
  body: Uint8Array,
  headers: Record<string, unknown> | undefined,
): Promise<SignatureCheck> {
  const signature = headers?.[HEADER_SIGNATURE];
  const kid = headers?.[HEADER_SIGNING_KEY_ID];
  if (typeof signature !== 'string' || typeof kid !== 'string') return 'missing';
  const key = await lookup(nodeId, kid);
  if (!key) return 'unknown_key';
  return verifyBytes(key, body, Buffer.from(signature, 'base64')) ? 'valid' : 'invalid';
}

/**
 * Which node a message came through (its exchange names it) and whether that node signed it.
 * Everything the control plane takes from nodes (replies, command results, heartbeats) is
 * checked this one way.
 */
export async function checkSender(
  nodeIdFromExchange: (exchange: string) => string | undefined,
  lookup: NodeKeyLookup,
  msg: {
    content: Buffer;
    fields: { exchange: string };
    properties: { headers?: Record<string, unknown> };
  },
): Promise<{ sender: string | undefined; signature: SignatureCheck }> {
  const sender = nodeIdFromExchange(msg.fields.exchange);
  const signature = sender
    ? await checkNodeSignature(lookup, sender, msg.content, msg.properties.headers)
    : 'missing';
  return { sender, signature };
}
