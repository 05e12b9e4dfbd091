// The peer of bench/issuance: panva's oidc-provider 9.x in memory, serving
// client_credentials with JWT access tokens (resourceIndicators), one
// confidential client per signing algorithm (client_id = the algorithm,
// client_secret given on the command line).
//
//   node server.mjs PORT SECRET
//
// It prints "ready" once listening.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, secret] = process.argv.slice(2);
if (!port || !secret) {
  console.error('usage: node server.mjs PORT SECRET');
  process.exit(2);
}
const jwk = (type, opts, alg) => ({ ...generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' }), alg, use: 'sig' });
const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
  jwk('ed25519', {}, 'EdDSA'),
];
const algs = ['ES256', 'RS256', 'EdDSA'];
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: algs.map((alg) => ({
    client_id: alg,
    client_secret: secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys },
  enabledJWA: { authorizationSigningAlgValues: algs, idTokenSigningAlgValues: algs },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:bench:api',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: 'api',
        audience: 'urn:bench:api',
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: client.clientId } },
      }),
    },
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
