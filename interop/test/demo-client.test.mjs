// The demo, as a new user meets it: `go run ./examples/server -demo` prints
// one URL, a user and a password; headless Chromium opens the URL (the
// example client, examples/client, served in-process), signs in on the
// hosted page with the printed password, sees the ID token's claims on the
// client's page, and signs out through the provider's end-session endpoint
// back to the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freePort } from '../lib/server.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir; let proc; let browser; let out = '';

async function waitFor(re) {
  for (let i = 0; i < 600; i++) {
    const m = out.match(re);
    if (m) return m;
    if (proc.exitCode !== null) throw new Error(`demo server exited with ${proc.exitCode}\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`demo server printed no ${re}\n${out}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  const bin = join(dir, 'gatehouse');
  execFileSync('go', ['build', '-o', bin, './examples/server'], { cwd: repo, stdio: 'inherit' });
  const [server, client] = [await freePort(), await freePort()];
  proc = spawn(bin, ['-demo', '-addr', `127.0.0.1:${server}`, '-demo-client-addr', `127.0.0.1:${client}`],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('demo: the printed URL signs in through examples/client and signs out', async () => {
  const [, url] = await waitFor(/Open this URL in a browser to sign in:\n\s+(\S+)/);
  const [, user] = out.match(/user\s+(\S+)/);
  const [, password] = out.match(/password\s+(\S+)/);
  const [, issuer] = out.match(/issuer\s+(\S+)/);
  const [, mailDir] = out.match(/magic links\s+written as \.eml files to (\S+)/);
  assert.ok(!resolve(mailDir).startsWith(repo + '/'), `mail directory ${mailDir} is inside the source tree`);
  assert.ok(existsSync(mailDir), 'mail directory exists');

  const ctx = await browser.newContext();
  const tab = await ctx.newPage();
  await tab.goto(url);
  // The client sent the browser to the hosted page with PKCE, state and nonce.
  const authz = new URL(tab.url());
  assert.equal(authz.origin + authz.pathname, `${issuer}/authorize`);
  assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');
  for (const k of ['code_challenge', 'state', 'nonce']) assert.ok(authz.searchParams.get(k), k);

  await tab.getByLabel('Email address').fill(user);
  await tab.getByLabel('Password').fill(password);
  const home = new URL('./', url).toString();
  await Promise.all([
    tab.waitForURL(home),
    tab.getByRole('button', { name: 'Sign in with password' }).click(),
  ]);
  const claims = JSON.parse(await tab.locator('#claims').textContent());
  assert.equal(claims.email, user);
  assert.equal(claims.iss, issuer);
  assert.ok(claims.sub, 'sub');
  assert.ok(claims.nonce, 'nonce');
  assert.equal(claims.nonce, authz.searchParams.get('nonce'));

  await Promise.all([
    tab.waitForURL(new URL('./signed-out', url).toString()),
    tab.getByRole('button', { name: 'Sign out' }).click(),
  ]);
  await tab.locator('#signed-out').waitFor();
  // The provider's session ended too: signing in again asks for a password.
  await tab.goto(url);
  assert.ok(tab.url().startsWith(`${issuer}/authorize`), tab.url());
  await tab.getByLabel('Password').waitFor();
  await ctx.close();

  // No token or password in the logs (the password is printed once, on stdout).
  const logs = out.split('\n').filter((l) => l.startsWith('time='));
  assert.ok(!logs.some((l) => l.includes(password) || l.includes('eyJ')), logs.join('\n'));
});
