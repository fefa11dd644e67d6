import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { delegationIssuer, issuedCertificateSchema } from '@causeway/contracts';
import {
  createCsr,
  generateKeyPair,
  generateSigningKeyPair,
  verifyPayload,
} from '@causeway/crypto';
import { STATE_FILES } from '../trust/files';
import { NodeAudit } from '../audit/node-audit';
import { NodeStore } from '../state/node-store';

/** What enrolment leaves in the state directory for `causeway-node run` to start from. */
export const ENROLMENT_FILE = STATE_FILES.enrolment;

export const enrolmentFileSchema = z.strictObject({
  nodeId: z.uuid(),
  tenantId: z.uuid(),
  region: z.string(),
  amqpUrl: z.string(),
  bridgeNamespace: z.string(),
  controlPlane: z.string(),
  certificateNotAfter: z.string(),
  enrolledAt: z.string(),
});
export type EnrolmentFile = z.infer<typeof enrolmentFileSchema>;

const enrolResponseSchema = issuedCertificateSchema.extend({
  nodeId: z.uuid(),
  tenantId: z.uuid(),
  region: z.string(),
  broker: z.object({ amqpUrl: z.string() }),
  bridgeNamespace: z.string(),
});

export class EnrolmentError extends Error {}

/**
 * Enrols this node: makes its key pair here (the private key never leaves the machine), sends
 * a certificate request with the join token, and writes the certificate, the CA chain and the
 * broker URL into the state directory, readable by this user only.
 */
export async function enrol(options: {
  controlPlane: string;
  token: string;
  name: string;
  stateDir: string;
  /** The tenant the operator expects to join; a token of another tenant is then refused. */
  tenantId?: string;
  progress?: (step: string) => void;
}): Promise<EnrolmentFile> {
  const say = options.progress ?? (() => undefined);
  if (existsSync(join(options.stateDir, ENROLMENT_FILE))) {
    throw new EnrolmentError(
      `${options.stateDir} already holds an enrolled node; use another --state-dir.`,
    );
  }
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  await chmod(options.stateDir, 0o700);
  say('generating the node key pairs');
  const [keys, signing] = await Promise.all([generateKeyPair(), generateSigningKeyPair()]);
  const nodeId = randomUUID();
  const csr = createCsr({
    privateKeyPem: keys.privateKeyPem,
    publicKeyPem: keys.publicKeyPem,
    commonName: nodeId,
    ...(options.tenantId === undefined ? {} : { organization: options.tenantId }),
  });
  say(`sending the certificate request to ${options.controlPlane}`);
  let res: Response;
  try {
    res = await fetch(new URL('/api/v1/enroll', options.controlPlane), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: options.token,
        csr,
        name: options.name,
        signingKey: signing.publicKeyPem,
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new EnrolmentError(
      `cannot reach the control plane at ${options.controlPlane}: ${(error as Error).message}`,
    );
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = (body ?? {}) as { code?: string; message?: string };
    throw new EnrolmentError(`${e.message ?? `HTTP ${res.status}`} [${e.code ?? res.status}]`);
  }
  const granted = enrolResponseSchema.parse(body);
  if (granted.nodeId !== nodeId)
    throw new EnrolmentError('the control plane answered for another node id');
  // Pinned from now on: the key set must be signed by the CA that just issued our certificate.
  const keySet = JSON.parse(granted.trust.document) as { issuer?: unknown };
  if (
    !verifyPayload(
      granted.caChainPem,
      Buffer.from(granted.trust.document, 'utf8'),
      Buffer.from(granted.trust.signature, 'base64'),
    ) ||
    keySet.issuer !== delegationIssuer(granted.bridgeNamespace)
  ) {
    throw new EnrolmentError("the control plane's signing keys are not signed by its CA");
  }
  const write = (file: string, data: string) =>
    writeFile(join(options.stateDir, file), data, { mode: 0o600, flag: 'wx' });
  await write(STATE_FILES.certificateKey, keys.privateKeyPem);
  await write(STATE_FILES.signingKey, signing.privateKeyPem);
  await write(STATE_FILES.certificate, granted.certificatePem);
  await write(STATE_FILES.caChain, granted.caChainPem);
  await write(STATE_FILES.trust, `${JSON.stringify(granted.trust)}\n`);
  const record: EnrolmentFile = {
    nodeId,
    tenantId: granted.tenantId,
    region: granted.region,
    amqpUrl: granted.broker.amqpUrl,
    bridgeNamespace: granted.bridgeNamespace,
    controlPlane: options.controlPlane,
    certificateNotAfter: granted.certificateNotAfter,
    enrolledAt: new Date().toISOString(),
  };
  // Written last: its presence means the enrolment is complete.
  await write(ENROLMENT_FILE, `${JSON.stringify(record, null, 2)}\n`);
  // The first entry of the node's own trail: when, and into which tenant, it enrolled.
  const store = NodeStore.open(options.stateDir);
  try {
    new NodeAudit(store).record({
      code: 'node.enrolled',
      fields: { nodeId, tenantId: granted.tenantId, region: granted.region },
    });
  } finally {
    store.close();
  }
  say(`enrolled as node ${nodeId}`);
  return record;
}
