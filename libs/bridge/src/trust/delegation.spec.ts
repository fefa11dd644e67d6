import { randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { delegationIssuer } from '@causeway/contracts';
import {
  generateSigningKeyPair,
  loadSigningPrivateKey,
  loadSigningPublicKey,
  signingKeyId,
} from '@causeway/crypto';
import { DelegationMinter, DelegationVerifier, MemoryReplayCache, bodyDigest } from './delegation';

const issuer = delegationIssuer('unit');
const nodeId = randomUUID();
const tenantId = randomUUID();
const principal = { subject: 'user:alice', tenantId, permissions: ['nodes.ping'] };

async function keyPair() {
  const pem = await generateSigningKeyPair();
  const publicKey = loadSigningPublicKey(pem.publicKeyPem);
  return {
    kid: signingKeyId(publicKey),
    privateKey: loadSigningPrivateKey(pem.privateKeyPem),
    publicKey,
  };
}

describe('delegation tokens', () => {
  let trusted: Awaited<ReturnType<typeof keyPair>>;
  let now: number;
  let verifier: DelegationVerifier;
  let minter: DelegationMinter;
  const message = () => ({ id: randomUUID(), method: 'ping', body: Buffer.from('{"v":1}') });

  beforeAll(async () => {
    trusted = await keyPair();
  });

  beforeEach(() => {
    now = Date.UTC(2026, 11, 2, 12, 0, 0);
    verifier = new DelegationVerifier({
      issuer,
      nodeId,
      key: (kid) => (kid === trusted.kid ? trusted.publicKey : undefined),
      replay: new MemoryReplayCache(() => now),
      now: () => now,
    });
    minter = new DelegationMinter({
      issuer,
      ttlSeconds: 30,
      activeKey: () => trusted,
      now: () => now,
    });
  });

  it('accepts a genuine token once, bound to its message, and refuses its replay', async () => {
    const msg = message();
    const token = await minter.mint({
      nodeId,
      principal,
      messageId: msg.id,
      method: msg.method,
      body: msg.body,
    });
    const first = await verifier.verify(token, msg);
    expect(first).toMatchObject({ ok: true, firstUse: true, principal });
    const again = await verifier.verify(token, msg);
    expect(again).toMatchObject({ ok: true, firstUse: false });
  });

  it('refuses a token signed by a key the node does not hold under that kid', async () => {
    const rogue = await keyPair();
    const msg = message();
    // The attacker claims the trusted kid but signs with its own key.
    const forged = await new DelegationMinter({
      issuer,
      ttlSeconds: 30,
      activeKey: () => ({ kid: trusted.kid, privateKey: rogue.privateKey }),
      now: () => now,
    }).mint({ nodeId, principal, messageId: msg.id, method: msg.method, body: msg.body });
    expect(await verifier.verify(forged, msg)).toMatchObject({ ok: false, reason: 'signature' });
    const unknown = await new DelegationMinter({
      issuer,
      ttlSeconds: 30,
      activeKey: () => rogue,
      now: () => now,
    }).mint({ nodeId, principal, messageId: msg.id, method: msg.method, body: msg.body });
    expect(await verifier.verify(unknown, msg)).toMatchObject({
      ok: false,
      code: 'delegation_key_unknown',
      reason: 'unknown_key',
    });
  });

  it('refuses alg none, another audience, another issuer, expiry and tampering', async () => {
    const msg = message();
    const claims = {
      tid: tenantId,
      perm: ['nodes.ping'],
      mid: msg.id,
      mth: msg.method,
      dig: bodyDigest(msg.body),
    };
    const iat = Math.floor(now / 1000);
    const none = new UnsecuredJWT(claims)
      .setIssuer(issuer)
      .setAudience(nodeId)
      .setSubject('user:alice')
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + 30)
      .encode();
    expect(await verifier.verify(none, msg)).toMatchObject({ ok: false, reason: 'algorithm' });

    const sign = (aud: string, iss: string, exp: number, extra: Record<string, unknown> = {}) =>
      new SignJWT({ ...claims, ...extra })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'causeway-delegation+jwt', kid: trusted.kid })
        .setIssuer(iss)
        .setAudience(aud)
        .setSubject('user:alice')
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(trusted.privateKey);
    expect(await verifier.verify(await sign(randomUUID(), issuer, iat + 30), msg)).toMatchObject({
      ok: false,
      reason: 'audience',
    });
    expect(
      await verifier.verify(await sign(nodeId, delegationIssuer('other'), iat + 30), msg),
    ).toMatchObject({ ok: false, reason: 'issuer' });
    expect(await verifier.verify(await sign(nodeId, issuer, iat + 3600), msg)).toMatchObject({
      ok: false,
      reason: 'lifetime',
    });
    const genuine = await sign(nodeId, issuer, iat + 30);
    now += 60_000;
    expect(await verifier.verify(genuine, msg)).toMatchObject({
      ok: false,
      code: 'delegation_expired',
      reason: 'expired',
    });
    now -= 60_000;
    // Tampered claims: the payload segment changed, the signature kept.
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    const claimsJson = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    claimsJson.perm = ['nodes.ping', 'workspaces.create'];
    const tampered = `${header}.${Buffer.from(JSON.stringify(claimsJson)).toString('base64url')}.${signature}`;
    expect(await verifier.verify(tampered, msg)).toMatchObject({ ok: false, reason: 'signature' });
    // A genuine token with another message body.
    expect(await verifier.verify(genuine, { ...msg, body: Buffer.from('{"v":2}') })).toMatchObject({
      ok: false,
      reason: 'message_mismatch',
    });
    expect(await verifier.verify(undefined, msg)).toMatchObject({ ok: false, reason: 'missing' });
    expect(await verifier.verify('not.a.jwt', msg)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });
});
