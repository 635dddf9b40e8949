// A real OpenID Provider on loopback for the federation tests and for trying "Sign in with …"
// locally: panva's `oidc-provider` (OpenID Certified), the code flow with PKCE, discovery, JWKS,
// dynamic client registration (RFC 7591) so each test registers a client with its own redirect
// URI. https://github.com/panva/node-oidc-provider/blob/main/docs/README.md
//
//   node infra/test/oidc-provider.mjs [--port N] [--client ID:SECRET:REDIRECT_URI]
//
// Prints one JSON line when it listens: {"issuer": "http://127.0.0.1:N"}. Its sign-in page takes
// any address; the account is that address (`sub` and `email`, verified unless it starts with
// `unverified`). A test can skip the form with `GET /interaction/<uid>?login=<address>`.
//
// Misbehaviour on request, for the refusal tests: an address whose local part names a fault gets
// an ID token from the token endpoint that is wrong in that one way, re-signed with this
// provider's own key — `aud-other@…` (another audience), `iss-other@…` (another issuer),
// `expired@…` (expired an hour ago), `nonce-wrong@…` (another nonce), `alg-hs256@…` (signed with
// HS256 under the client's secret: an algorithm off the allow-list).
import http from 'node:http';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

// The packages are web/'s (npm ci there installs them).
const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { default: Provider } = await import(require.resolve('oidc-provider'));
const jose = await import(require.resolve('jose'));

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, client: { type: 'string', multiple: true } },
});

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(values.port), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const clients = (values.client ?? []).map((spec) => {
  const [clientId, secret, ...rest] = spec.split(':');
  return {
    client_id: clientId,
    client_secret: secret,
    redirect_uris: [rest.join(':')],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  };
});

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomUUID()] },
  features: {
    registration: { enabled: true },
    devInteractions: { enabled: false },
  },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // The ID token carries the email claims itself (the relying party reads no userinfo).
  conformIdTokenClaims: false,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, email: sub, email_verified: !sub.startsWith('unverified') };
      },
    };
  },
});
// Loopback HTTP only: no TLS here, and no proxy in front.
provider.proxy = false;

const faults = {
  'aud-other': (c) => ({ ...c, aud: 'someone-else' }),
  'iss-other': (c) => ({ ...c, iss: `${issuer}/other` }),
  expired: (c) => ({ ...c, iat: c.iat - 7200, exp: c.iat - 3600 }),
  'nonce-wrong': (c) => ({ ...c, nonce: 'not-the-nonce' }),
};

// The token endpoint's ID token, made wrong in one way for a faulty address.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || !ctx.body || typeof ctx.body.id_token !== 'string') return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const fault = String(claims.sub).split('@')[0];
  if (fault === 'alg-hs256') {
    const client = await provider.Client.find(String(claims.aud));
    const key = new TextEncoder().encode(client.clientSecret);
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key),
    };
  } else if (faults[fault]) {
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(faults[fault](claims))
        .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid })
        .sign(privateKey),
    };
  }
});

const page = (uid) => `<!doctype html><meta charset="utf-8"><title>Test provider</title>
<h1>Test OpenID Provider</h1>
<form method="post" action="/interaction/${uid}">
<label>Address <input name="login" type="email" autocomplete="username" required autofocus></label>
<button type="submit">Sign in</button></form>`;

async function finish(req, res, login) {
  const details = await provider.interactionDetails(req, res);
  const clientId = details.params.client_id;
  const grant = new provider.Grant({ accountId: login, clientId });
  grant.addOIDCScope(String(details.params.scope ?? 'openid'));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: login }, consent: { grantId } });
}

server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  const match = url.pathname.match(/^\/interaction\/([\w-]+)$/);
  if (!match) {
    provider.callback()(req, res);
    return;
  }
  try {
    if (req.method === 'GET' && !url.searchParams.get('login')) {
      await provider.interactionDetails(req, res);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(match[1]));
      return;
    }
    let login = url.searchParams.get('login');
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      login = new URLSearchParams(body).get('login');
    }
    if (!login) throw new Error('no address');
    await finish(req, res, login.trim().toLowerCase());
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${e.message}\n`);
  }
});

console.log(JSON.stringify({ issuer }));
