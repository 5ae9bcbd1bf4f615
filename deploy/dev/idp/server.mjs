// Plinth's dev and test identity provider: oidc-provider with the demo users of
// users.json. Not for production: production points the gateway at the
// organisation's own OpenID Connect issuer.
//
// Environment:
//   PLINTH_IDP_PORT           port on 127.0.0.1 (19080)
//   PLINTH_IDP_ISSUER         issuer URL (http://127.0.0.1:<port>)
//   PLINTH_IDP_STATE          directory keeping the signing keys across restarts
//   PLINTH_IDP_REDIRECT_URIS  the gateway's callback URLs, comma-separated
//   PLINTH_IDP_LOGOUT_URIS    where the gateway may send people after logout
//   PLINTH_IDP_CLIENT_SECRET  the gateway client's secret
//   PLINTH_IDP_RUNTIME_SECRET the runtime client's secret (client credentials)
//   PLINTH_IDP_AUDIENCE       the audience of access tokens (urn:plinth:api)
//   PLINTH_IDP_ACCESS_TTL     access-token lifetime in seconds (3600)
//   PLINTH_IDP_TLS_CERT       with PLINTH_IDP_TLS_KEY: PEM files; serve HTTPS
//   PLINTH_IDP_TLS_KEY        (the issuer URL then starts with https://)
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const port = Number(process.env.PLINTH_IDP_PORT || 19080);
const issuer = process.env.PLINTH_IDP_ISSUER || `http://127.0.0.1:${port}`;
const state = process.env.PLINTH_IDP_STATE || join(here, '..', '..', '..', '.dev-state', `idp-${port}`);
const list = (value, fallback) => (value ? value.split(',').map((s) => s.trim()).filter(Boolean) : fallback);
const redirectUris = list(process.env.PLINTH_IDP_REDIRECT_URIS, ['http://127.0.0.1:8080/auth/callback']);
const logoutUris = list(process.env.PLINTH_IDP_LOGOUT_URIS, ['http://127.0.0.1:8080/']);
const secret = process.env.PLINTH_IDP_CLIENT_SECRET || 'plinth-dev-gateway-secret';
const audience = process.env.PLINTH_IDP_AUDIENCE || 'urn:plinth:api';
const runtimeSecret = process.env.PLINTH_IDP_RUNTIME_SECRET || 'plinth-dev-runtime-secret';
// The AI operations runtime is a machine: it gets access tokens with its client's
// credentials, and its tokens carry the group the gateway maps to the Runtime role.
const RUNTIME_CLIENT = 'plinth-runtime';
const RUNTIME_GROUPS = ['plinth-runtimes'];

// Signing keys, kept so that tokens outlive a restart: RS256, ES256 and EdDSA.
// They are made by the openssl command, not node's generateKeyPairSync: Node 20
// can deadlock when the garbage collector frees a key-generation job while the
// key it made is being exported (seen as a provider that never listens).
function keys() {
  const file = join(state, 'jwks.json');
  if (existsSync(file)) {
    return JSON.parse(readFileSync(file, 'utf8'));
  }
  mkdirSync(state, { recursive: true });
  const generated = (...args) => createPrivateKey(
    execFileSync('openssl', ['genpkey', ...args], { stdio: ['ignore', 'pipe', 'ignore'] }),
  );
  const jwk = (key, alg) => ({
    ...key.export({ format: 'jwk' }), alg, use: 'sig', kid: randomUUID(),
  });
  const jwks = {
    keys: [
      jwk(generated('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'), 'RS256'),
      jwk(generated('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'), 'ES256'),
      jwk(generated('-algorithm', 'ED25519'), 'EdDSA'),
    ],
  };
  writeFileSync(file, JSON.stringify(jwks), { mode: 0o600 });
  return jwks;
}

// The same keys as PEM with their ids, for tests that forge tokens with the real
// key to check one claim at a time.
function writePems(jwks) {
  const pems = jwks.keys.map((k) => ({
    kid: k.kid,
    alg: k.alg,
    pem: createPrivateKey({ key: k, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }),
    public_pem: createPublicKey(createPrivateKey({ key: k, format: 'jwk' }))
      .export({ format: 'pem', type: 'spki' }),
  }));
  writeFileSync(join(state, 'signing-keys.json'), JSON.stringify(pems), { mode: 0o600 });
}

const jwks = keys();
writePems(jwks);

// The users are read from their file at every lookup, so a change to it (a group
// added or taken away, a user removed) shows at the next token, as at a real
// provider. PLINTH_IDP_USERS names another file (tests change theirs).
const usersFile = process.env.PLINTH_IDP_USERS || join(here, 'users.json');
const readUsers = () => JSON.parse(readFileSync(usersFile, 'utf8'));
const users = readUsers();
const byId = { get: (sub) => readUsers().find((u) => u.sub === sub) };
// A user's email is verified unless users.json says otherwise (one demo user's is
// not, to show that the gateway then does not use it).
const verified = (user) => user.email_verified !== false;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'plinth-gateway',
    client_secret: secret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: logoutUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }, {
    client_id: RUNTIME_CLIENT,
    client_secret: runtimeSecret,
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: [],
    scope: 'api',
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks,
  findAccount: async (_ctx, sub) => {
    const user = byId.get(sub);
    if (!user) {
      return undefined;
    }
    return {
      accountId: sub,
      claims: async () => ({
        sub, email: user.email, email_verified: verified(user), name: user.name, groups: user.groups,
      }),
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access', 'api'],
  pkce: { required: () => true },
  // The gateway asks again about a session's person with a refresh token, so one
  // is issued with every code, not only for `offline_access`.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    // Access tokens are JWTs for the Plinth API: the gateway checks them itself.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: Number(process.env.PLINTH_IDP_ACCESS_TTL || 3600),
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  // The access token carries who the person is: the gateway never calls back.
  extraTokenClaims: async (_ctx, token) => {
    if (!token.accountId && token.clientId === RUNTIME_CLIENT) {
      return { groups: RUNTIME_GROUPS };
    }
    const user = token.accountId && byId.get(token.accountId);
    return user
      ? { email: user.email, email_verified: verified(user), groups: user.groups }
      : undefined;
  },
  cookies: { keys: [secret] },
  ttl: { AccessToken: Number(process.env.PLINTH_IDP_ACCESS_TTL || 3600), IdToken: 3600, Session: 8 * 3600, Interaction: 600, Grant: 8 * 3600 },
});
provider.proxy = false;

const started = () => console.log(`dev identity provider ${issuer} (${users.length} demo users)`);
if (process.env.PLINTH_IDP_TLS_CERT) {
  const tls = {
    cert: readFileSync(process.env.PLINTH_IDP_TLS_CERT),
    key: readFileSync(process.env.PLINTH_IDP_TLS_KEY),
  };
  createServer(tls, provider.callback()).listen(port, '127.0.0.1', started);
} else {
  provider.listen(port, '127.0.0.1', started);
}
