// A real OpenID Connect provider on loopback for the cpts-gateway tests (npm oidc-provider), never for production.
//
//   node scripts/oidc/provider.mjs [--port N]      (or OIDC_PORT=N; 0 or nothing: a free port)
//
// It makes fresh signing keys at every start (RSA for RS256/PS256, P-256 for ES256; nothing is written to disk),
// enables the client_credentials grant with JWT access tokens for one resource indicator (the gateway's audience,
// OIDC_AUDIENCE, default "urn:cpts-gateway"), and adds Pro Santé Connect-like claims to the access tokens of its test
// clients. It also registers the coordinator dashboard's login client (DASHBOARD: authorization code with PKCE, a
// public "native" client whose loopback redirect URI may use any port) with the development login form (any login,
// any password: the login becomes the token's sub). When it listens it prints its issuer URL alone on one line of
// stdout; everything else goes to stderr.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const AUDIENCE = process.env.OIDC_AUDIENCE || 'urn:cpts-gateway';
const OTHER_AUDIENCE = 'urn:cpts-gateway:other'; // a resource the gateway does not serve (wrong-audience tests)

function portFromArguments() {
  const index = process.argv.indexOf('--port');
  const text = index >= 0 ? process.argv[index + 1] : process.env.OIDC_PORT || '0';
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`provider.mjs: --port must be a port number, not '${text}'\n`);
    process.exit(2);
  }
  return port;
}

// A practitioner as Pro Santé Connect describes one (demo RPPS range 1999nnnnnn + Luhn key; demo FINESS <dept>99nnnn).
const PRACTITIONER = {
  SubjectNameID: '819990000010',
  SubjectRole: ['10^1.2.250.1.213.1.1.5.5'],
  SubjectRefPro: {
    codeCivilite: 'DR',
    exercices: [
      {
        codeProfession: '10',
        codeCategorieProfessionnelle: 'C',
        codeSavoirFaire: 'SM54',
        activities: [
          { codeModeExercice: 'S', numeroFinessSite: '359900016', numeroSiretSite: '', raisonSocialeSite: 'CDS DEMO' },
          { codeModeExercice: 'L', numeroFinessSite: '', numeroSiretSite: '12345678900011', raisonSocialeSite: 'CABINET' },
        ],
      },
    ],
  },
  given_name: 'Camille',
  family_name: 'DEMO',
  acr: 'eidas1',
};

// client_id -> [access token claims, signing alg, lifetime in seconds]; the secret of each is "<client_id>-secret".
const CLIENTS = {
  'psc-practitioner': [PRACTITIONER, 'RS256', 300],
  'psc-practitioner-ps256': [PRACTITIONER, 'PS256', 300],
  'psc-practitioner-es256': [PRACTITIONER, 'ES256', 300],
  'psc-expiring': [PRACTITIONER, 'RS256', 1],
  'psc-malformed-id': [{ ...PRACTITIONER, SubjectNameID: '8ABC' }, 'RS256', 300],
  'psc-without-acr': [{ ...PRACTITIONER, acr: undefined }, 'RS256', 300],
};

const DASHBOARD = {
  client_id: 'cpts-dashboard',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/dashboard/api/callback', 'http://localhost/dashboard/api/callback'],
};

function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rsa-${crypto.randomUUID()}`, use: 'sig' },
    { ...ec, kid: `ec-${crypto.randomUUID()}`, use: 'sig' },
  ];
}

function configuration() {
  return {
    clients: Object.keys(CLIENTS).map((clientId) => ({
      client_id: clientId,
      client_secret: `${clientId}-secret`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })).concat([DASHBOARD]),
    jwks: { keys: signingKeys() },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: true }, // the login and consent forms of the dashboard client's code flow
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator, client) => {
          if (resourceIndicator !== AUDIENCE && resourceIndicator !== OTHER_AUDIENCE) {
            throw new Provider.errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          const [, alg] = CLIENTS[client.clientId] || [{}, 'ES256'];
          return { scope: 'openid scope_all', audience: resourceIndicator, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
        },
      },
    },
    ttl: {
      ClientCredentials: (_ctx, _token, client) => CLIENTS[client.clientId][2],
    },
    extraTokenClaims: (_ctx, token) => {
      const [claims] = CLIENTS[token.clientId] || [{}];
      return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
    },
  };
}

const server = http.createServer();
server.listen(portFromArguments(), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());
  provider.on('server_error', (_ctx, error) => process.stderr.write(`oidc-provider: ${error.stack}\n`));
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
