export {
  generateSigningKeyPair,
  loadSigningPrivateKey,
  loadSigningPublicKey,
  signBytes,
  signingKeyId,
  verifyBytes,
} from './ed25519';
export type { SigningKeyPairPem } from './ed25519';
