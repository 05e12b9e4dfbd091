// openid-client (npm) against the example server: discovery, code + PKCE,
// ID token validation, userinfo, refresh, revocation, introspection and
// RP-initiated logout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Issuer, generators, errors, custom } from 'openid-client';
import { startServer, setupOrg, magicLogin, Browser } from '../lib/server.mjs';

// openid-client gives up after 3.5 s by default; on a loaded CI machine the
// first RSA key generation of an organization can take longer than that.
custom.setHttpOptionsDefaults({ timeout: 30000 });

let srv; let org; let user;
const seen = new Set();
const email = 'ada@openid.test';

before(async () => {
  srv = await startServer();
  ({ org, user } = await setupOrg(srv, 'OpenID Client Corp', 'openid.test', email));
});
after(async () => { if (srv) await srv.stop(); });

async function signIn(client, redirectUri, extra = {}) {
  const verifier = generators.codeVerifier();
  const state = generators.state();
  const nonce = generators.nonce();
  const url = client.authorizationUrl({
    scope: 'openid email profile', code_challenge: generators.codeChallenge(verifier),
    code_challenge_method: 'S256', state, nonce, ...extra,
  });
  const location = await magicLogin(srv, new Browser(), url, email, seen);
  const params = client.callbackParams(location);
  const tokens = await client.callback(redirectUri, params, { code_verifier: verifier, state, nonce });
  return tokens;
}

test('confidential client: discovery, code + PKCE, userinfo, refresh, revoke, introspect, end-session', async () => {
  const redirectUri = 'http://127.0.0.1:1/callback';
  const logoutUri = 'http://127.0.0.1:1/bye';
  const app = await srv.api('POST', `/api/v2/org/${org.domain}/applications`, {
    name: 'oidc web', application_type: 'regular_web', allowed_redirect_urls: [redirectUri],
    allowed_logout_urls: [logoutUri],
  });
  assert.ok(app.client_secret, 'confidential app has a secret');
  const issuer = await Issuer.discover(`${srv.base}/t/${org.domain}`);
  assert.equal(issuer.issuer, `${srv.base}/t/${org.domain}`);
  assert.deepEqual(issuer.code_challenge_methods_supported, ['S256']);
  const client = new issuer.Client({
    client_id: app.client_id, client_secret: app.client_secret, redirect_uris: [redirectUri],
    post_logout_redirect_uris: [logoutUri], response_types: ['code'],
  });

  const tokens = await signIn(client, redirectUri);
  const claims = tokens.claims();
  assert.equal(claims.sub, user.id);
  assert.equal(claims.email, email);
  assert.equal(claims.iss, issuer.issuer);
  assert.ok(tokens.refresh_token.startsWith(`${org.domain}.`));

  const info = await client.userinfo(tokens.access_token);
  assert.equal(info.sub, user.id);
  assert.equal(info.email, email);
  const infoPost = await client.userinfo(tokens.access_token, { method: 'POST', via: 'body' });
  assert.equal(infoPost.sub, user.id);

  const refreshed = await client.refresh(tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal(refreshed.claims().sub, user.id);

  const active = await client.introspect(refreshed.access_token);
  assert.equal(active.active, true);
  assert.equal(active.sub, user.id);

  await client.revoke(refreshed.refresh_token, 'refresh_token');
  await assert.rejects(client.refresh(refreshed.refresh_token), (e) => e instanceof errors.OPError && e.error === 'invalid_grant');
  const inactive = await client.introspect(refreshed.access_token);
  assert.equal(inactive.active, false, 'revoking a refresh token deactivates its family');

  const endUrl = client.endSessionUrl({ id_token_hint: refreshed.id_token, post_logout_redirect_uri: logoutUri, state: 'bye' });
  const r = await fetch(endUrl, { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${logoutUri}?state=bye`);
  const evil = await fetch(client.endSessionUrl({ post_logout_redirect_uri: 'https://evil.test/' }), { redirect: 'manual' });
  assert.equal(evil.status, 200, 'an unlisted logout URL is never redirected to');
});

test('public client: PKCE required, code reuse refused', async () => {
  const redirectUri = 'http://127.0.0.1:1/spa';
  const app = await srv.api('POST', `/api/v2/org/${org.domain}/applications`, {
    name: 'oidc spa', application_type: 'react', allowed_redirect_urls: [redirectUri],
    allowed_origins_cors: ['http://127.0.0.1:1'], allowed_web_origins: ['http://127.0.0.1:1'],
    allowed_logout_urls: ['http://127.0.0.1:1/bye'],
  });
  const issuer = await Issuer.discover(`${srv.base}/t/${org.domain}`);
  const client = new issuer.Client({
    client_id: app.client_id, token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], response_types: ['code'],
  });
  const tokens = await signIn(client, redirectUri);
  assert.equal(tokens.claims().aud, app.client_id);

  // Without PKCE the authorization request is refused on the redirect URI.
  const noPkce = client.authorizationUrl({ scope: 'openid', state: 's1' });
  const r = await fetch(noPkce, { redirect: 'manual' });
  assert.equal(r.status, 302);
  const back = new URL(r.headers.get('location'));
  assert.equal(back.searchParams.get('error'), 'invalid_request');
  assert.equal(back.searchParams.get('state'), 's1');

  // A code is single use.
  const verifier = generators.codeVerifier();
  const url = client.authorizationUrl({ scope: 'openid', code_challenge: generators.codeChallenge(verifier),
    code_challenge_method: 'S256', state: 's2' });
  const loc = await magicLogin(srv, new Browser(), url, email, seen);
  const params = client.callbackParams(loc);
  await client.callback(redirectUri, params, { code_verifier: verifier, state: 's2' });
  await assert.rejects(client.callback(redirectUri, params, { code_verifier: verifier, state: 's2' }),
    (e) => e instanceof errors.OPError && e.error === 'invalid_grant');
});
