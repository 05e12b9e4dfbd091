// openid-client (npm) and the two environments: production and sandbox are
// separate issuers, so a sandbox token (a sandbox user with a production
// user's email, signed in through a sandbox application) fails validation
// by a client configured from the production discovery document, and a
// production token by one configured from the sandbox's (issue 10,
// breach 3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Issuer, generators, custom } from 'openid-client';
import { startServer, setupOrg, magicLogin, Browser } from '../lib/server.mjs';

custom.setHttpOptionsDefaults({ timeout: 30000 });

const email = 'ada@issuers.test';
const redirectUri = 'http://127.0.0.1:1/callback';
const seen = new Set();
let dir; let srv; let org; let prodApp; let sbApp;

before(async () => {
  // One bolt store opened twice: first with a production master key (the
  // organization, a production application and user), then with a
  // sandbox master key (a sandbox application and a sandbox user with the
  // same email), the attacker's.
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-issuers-'));
  const store = `bolt:${join(dir, 'gatehouse.db')}`;
  const first = await startServer({ store });
  try {
    ({ org } = await setupOrg(first, 'Issuers Corp', 'issuers.test', email));
    prodApp = await first.api('POST', `/api/v2/org/${org.domain}/applications`, {
      name: 'prod web', application_type: 'regular_web', allowed_redirect_urls: [redirectUri],
    });
  } finally {
    await first.stop();
  }
  srv = await startServer({ store, masterEnv: 'sandbox' });
  sbApp = await srv.api('POST', `/api/v2/org/${org.domain}/applications`, {
    name: 'sandbox web', application_type: 'regular_web', allowed_redirect_urls: [redirectUri],
  });
  await srv.api('POST', `/api/v2/org/${org.domain}/users`, { email });
});
after(async () => {
  if (srv) await srv.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// signIn signs the user in with app at issuer and returns the ID token and
// its nonce.
async function signIn(issuer, app) {
  const client = new issuer.Client({ client_id: app.client_id, client_secret: app.client_secret,
    redirect_uris: [redirectUri], response_types: ['code'] });
  const verifier = generators.codeVerifier();
  const state = generators.state();
  const nonce = generators.nonce();
  const url = client.authorizationUrl({ scope: 'openid email', code_challenge: generators.codeChallenge(verifier),
    code_challenge_method: 'S256', state, nonce });
  const location = await magicLogin(srv, new Browser(), url, email, seen);
  const tokens = await client.callback(redirectUri, client.callbackParams(location), { code_verifier: verifier, state, nonce });
  return { idToken: tokens.id_token, nonce, claims: tokens.claims() };
}

test('a token of one environment fails validation by a client of the other', async () => {
  const prod = await Issuer.discover(`${srv.base}/t/${org.domain}`);
  const sandbox = await Issuer.discover(`${srv.base}/sandbox/t/${org.domain}`);
  assert.equal(prod.issuer, `${srv.base}/t/${org.domain}`);
  assert.equal(sandbox.issuer, `${srv.base}/sandbox/t/${org.domain}`);
  assert.equal(sandbox.token_endpoint, `${sandbox.issuer}/oauth/token`);
  assert.equal(sandbox.jwks_uri, `${sandbox.issuer}/.well-known/jwks`);

  const sb = await signIn(sandbox, sbApp);
  const pr = await signIn(prod, prodApp);
  assert.equal(sb.claims.email, email);
  assert.equal(sb.claims.dbs, 'sandbox');
  assert.equal(pr.claims.dbs, 'default');

  // Clients that expect each token's own client_id, so that only the
  // environment differs.
  const client = (issuer, app) => new issuer.Client({ client_id: app.client_id, client_secret: app.client_secret,
    redirect_uris: [redirectUri], response_types: ['code'] });
  await assert.rejects(client(prod, sbApp).validateIdToken(sb.idToken, sb.nonce, 'token'),
    'a production-configured client rejects the sandbox ID token');
  await assert.rejects(client(sandbox, prodApp).validateIdToken(pr.idToken, pr.nonce, 'token'),
    'a sandbox-configured client rejects the production ID token');
  await client(sandbox, sbApp).validateIdToken(sb.idToken, sb.nonce, 'token');
  await client(prod, prodApp).validateIdToken(pr.idToken, pr.nonce, 'token');

  // The sandbox application is unknown at the production issuer.
  const r = await fetch(client(prod, sbApp).authorizationUrl({ scope: 'openid', state: 's',
    code_challenge: generators.codeChallenge(generators.codeVerifier()), code_challenge_method: 'S256' }),
  { redirect: 'manual' });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('location'), null);
});
