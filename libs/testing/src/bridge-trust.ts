import type { KeyObject } from 'node:crypto';
import {
  DelegationMinter,
  DelegationVerifier,
  MemoryReplayCache,
  MessageSigner,
  type ClientTrust,
  type RefusedDelegation,
  type ServerTrust,
} from '@causeway/bridge';
import { delegationIssuer, type Principal } from '@causeway/contracts';
import {
  generateSigningKeyPair,
  loadSigningPrivateKey,
  loadSigningPublicKey,
  signingKeyId,
} from '@causeway/crypto';

export interface BridgeTrustKit {
  client: ClientTrust;
  server: ServerTrust;
  /** A principal of `tenantId` that holds every permission the bridge methods need. */
  principal: Principal;
  /** Refusals the server reported, in order. */
  refused: RefusedDelegation[];
  controlPlaneKey: { kid: string; privateKey: KeyObject; publicKey: KeyObject };
  issuer: string;
}

/**
 * Real keys and real checks for a bridge client and server talking directly (tests, benches):
 * a control-plane Ed25519 key that signs delegations and a node key that signs replies. Only
 * the key distribution (the CA-signed key set) is left out.
 */
export async function createBridgeTrust(options: {
  namespace: string;
  nodeId: string;
  tenantId: string;
}): Promise<BridgeTrustKit> {
  const cp = await generateSigningKeyPair();
  const node = await generateSigningKeyPair();
  const cpPublic = loadSigningPublicKey(cp.publicKeyPem);
  const nodePublic = loadSigningPublicKey(node.publicKeyPem);
  const kid = signingKeyId(cpPublic);
  const nodeKid = signingKeyId(nodePublic);
  const privateKey = loadSigningPrivateKey(cp.privateKeyPem);
  const issuer = delegationIssuer(options.namespace);
  const refused: RefusedDelegation[] = [];
  return {
    issuer,
    refused,
    controlPlaneKey: { kid, privateKey, publicKey: cpPublic },
    principal: {
      subject: 'operator:test',
      tenantId: options.tenantId,
      permissions: ['nodes.ping', 'workspaces.create'],
    },
    client: {
      minter: new DelegationMinter({
        issuer,
        ttlSeconds: 30,
        activeKey: () => ({ kid, privateKey }),
      }),
      nodeKeys: (nodeId, id) =>
        nodeId === options.nodeId && id === nodeKid ? nodePublic : undefined,
    },
    server: {
      verifier: new DelegationVerifier({
        issuer,
        nodeId: options.nodeId,
        key: (id) => (id === kid ? cpPublic : undefined),
        replay: new MemoryReplayCache(),
      }),
      signer: new MessageSigner(loadSigningPrivateKey(node.privateKeyPem)),
      authorize: () => undefined,
      onRefused: (event) => {
        refused.push(event);
      },
    },
  };
}
