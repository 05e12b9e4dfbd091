// @cryptr/cryptr-jwt-verifier (npm) accepts Gatehouse access tokens and
// rejects tampered or foreign ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { startServer, setupOrg, magicLogin, Browser } from '../lib/server.mjs';

const require = createRequire(import.meta.url);
const CryptrJwtVerifier = require('@cryptr/cryptr-jwt-verifier').default;

let srv; let org; let app;
const seen = new Set();
const email = 'grace@verifier.test';
const origin = 'http://127.0.0.1:2';

before(async () => {
  srv = await startServer();
  ({ org } = await setupOrg(srv, 'Verifier Corp', 'verifier.test', email));
  app = await srv.api('POST', `/api/v2/org/${org.domain}/applications`, {
    name: 'verifier spa', application_type: 'vue', allowed_redirect_urls: [`${origin}/`],
    allowed_origins_cors: [origin], allowed_web_origins: [origin], allowed_logout_urls: [`${origin}/`],
    default_origin_cors: origin,
  });
});
after(async () => { if (srv) await srv.stop(); });

async function accessToken() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({ scope: 'openid email', client_id: app.client_id, redirect_uri: `${origin}/`,
    code_challenge_method: 'S256', code_challenge: challenge });
  const loc = new URL(await magicLogin(srv, new Browser(),
    `${srv.base}/t/${org.domain}/en/${crypto.randomUUID()}/signin/new?${q}`, email, seen));
  const p = loc.searchParams;
  const r = await fetch(`${srv.base}/org/${org.domain}/oauth2/token`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ grant_type: 'authorization_code', client_id: app.client_id, authorization_id: p.get('authorization_id'),
      code: p.get('code'), code_verifier: verifier, nonce: 'nonce-1', request_id: p.get('request_id') }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get('access-control-allow-origin'), origin);
  const body = await r.json();
  assert.equal(body.nonce, 'nonce-1');
  return body.access_token;
}

function verifierFor(overrides = {}) {
  return new CryptrJwtVerifier({ issuer: srv.base, tenants: [org.domain], client_ids: [app.client_id],
    audiences: [origin], ...overrides }, { test: true });
}

test('accepts our access tokens', async () => {
  const token = await accessToken();
  const res = await verifierFor().verify(token);
  assert.equal(res.valid, true);
  assert.equal(res.claims.tnt, org.domain);
  assert.equal(res.claims.cid, app.client_id);
  assert.equal(res.claims.jtt, 'access');
  assert.equal(res.claims.ver, 1);
  assert.equal(res.claims.iss, `${srv.base}/t/${org.domain}`);
});

test('rejects tampered tokens', async () => {
  const token = await accessToken();
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.email = 'mallory@verifier.test';
  const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  await assert.rejects(verifierFor().verify(forged), (e) => e.valid === false);
  const badSig = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  await assert.rejects(verifierFor().verify(badSig), (e) => e.valid === false);
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
  await assert.rejects(verifierFor().verify(none), (e) => e.valid === false);
});

test('rejects tokens for another audience, client or tenant', async () => {
  const token = await accessToken();
  await assert.rejects(verifierFor({ audiences: ['http://other.test'] }).verify(token), (e) => e.valid === false);
  await assert.rejects(verifierFor({ client_ids: ['someone-else'] }).verify(token), (e) => e.valid === false);
  await assert.rejects(verifierFor({ tenants: ['other-org'] }).verify(token), (e) => e.valid === false);
});
