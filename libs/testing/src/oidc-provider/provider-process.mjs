// A real OpenID Provider (panva's oidc-provider) for tests, run as a child process because the
// library is ESM-only and Jest's transform does not reach here. Configured through environment
// variables; prints one JSON line {"issuer": ...} on stdout when it listens.
//
// Test knobs (127.0.0.1 only, never in production code):
//   POST /__test/next-id-token  body {"mode": "..."}  rewrites the ID token of the next token
//   response: alg-none | unknown-key | wrong-key-same-kid | hs256-public-key | expired |
//   wrong-issuer | wrong-audience. One-shot.
//   POST /__test/keys  body {"published": ["k1", "k2"], "active": "k2"}  key rotation: which
//   public keys /jwks serves and which key signs ID tokens (k1 is the provider's own key).
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { Provider } from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const clientId = env('OIDC_TEST_CLIENT_ID');
const clientSecret = env('OIDC_TEST_CLIENT_SECRET');
const redirectUris = JSON.parse(env('OIDC_TEST_REDIRECT_URIS'));
const account = JSON.parse(env('OIDC_TEST_ACCOUNT'));

const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...signing.privateKey.export({ format: 'jwk' }),
  kid: 'k1',
  alg: 'RS256',
  use: 'sig',
};
const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys = { k1: signing, k2: rotated };
const publicJwk = (kid) => ({
  ...keys[kid].publicKey.export({ format: 'jwk' }),
  kid,
  alg: 'RS256',
  use: 'sig',
});
let rotation = { published: ['k1'], active: 'k1' };

const b64 = (value) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function rs256(header, payload, privateKey) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** Re-issues a genuine ID token in one of the bad shapes the tests need. */
function tamper(idToken, mode, issuer) {
  const [h, p] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'alg-none':
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
    case 'unknown-key':
      return rs256({ ...header, kid: 'not-in-jwks' }, payload, foreign.privateKey);
    case 'wrong-key-same-kid':
      return rs256(header, payload, foreign.privateKey);
    case 'hs256-public-key': {
      // The classic confusion attack: HMAC keyed with the provider's public key.
      const input = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`;
      const pem = signing.publicKey.export({ format: 'pem', type: 'spki' });
      return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    }
    case 'expired':
      return rs256(header, { ...payload, iat: now - 7200, exp: now - 3600 }, signing.privateKey);
    case 'wrong-issuer':
      return rs256(header, { ...payload, iss: `${issuer}/other` }, signing.privateKey);
    case 'wrong-audience':
      return rs256(header, { ...payload, aud: 'someone-else' }, signing.privateKey);
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
}

let nextMode;

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
    ],
    jwks: { keys: [signingJwk] },
    cookies: { keys: ['causeway-test-cookie-key-0123456789'] },
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // Put scope claims into the ID token, as most enterprise IdPs do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) =>
      sub === account.sub ? { accountId: sub, claims: async () => ({ ...account }) } : undefined,
  });

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks' && ctx.status === 200) {
      ctx.body = { keys: rotation.published.map(publicJwk) };
    }
    if (
      ctx.path === '/token' &&
      ctx.status === 200 &&
      rotation.active !== 'k1' &&
      ctx.body?.id_token
    ) {
      const [h, p] = ctx.body.id_token.split('.');
      const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      const resigned = rs256(
        { ...header, kid: rotation.active },
        payload,
        keys[rotation.active].privateKey,
      );
      ctx.body = { ...ctx.body, id_token: resigned };
    }
    if (ctx.path === '/token' && ctx.status === 200 && nextMode && ctx.body?.id_token) {
      const mode = nextMode;
      nextMode = undefined;
      ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token, mode, issuer) };
    }
  });

  const callback = provider.callback();

  async function interaction(req, res) {
    // Headless login and consent: the test's "user" submits the form for the test account.
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    if (prompt.name === 'login') {
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId: account.sub } },
        {
          mergeWithLastSubmission: false,
        },
      );
    }
    if (prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      return provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        {
          mergeWithLastSubmission: true,
        },
      );
    }
    res.statusCode = 400;
    res.end(`unexpected prompt ${prompt.name}`);
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (req.method === 'POST' && url.pathname === '/__test/next-id-token') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        nextMode = JSON.parse(body).mode;
        res.statusCode = 204;
        res.end();
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/__test/keys') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        rotation = JSON.parse(body);
        res.statusCode = 204;
        res.end();
      });
      return;
    }
    if (url.pathname.startsWith('/interaction/')) {
      if (req.method === 'GET') {
        // The "page": a form the client helper posts back to the same URL.
        res.setHeader('content-type', 'text/html');
        res.end('<form method="post"><button>Continue</button></form>');
        return;
      }
      interaction(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    callback(req, res);
  });

  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
