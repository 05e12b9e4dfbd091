// The demo, as a new user meets it: `go run ./examples/server -demo` prints
// one URL, a user and a password; headless Chromium opens the URL (the
// example client, examples/client, served in-process), signs in on the
// hosted page with the printed password, sees the ID token's claims on the
// client's page, and signs out through the provider's end-session endpoint
// back to the client. It runs twice: with Gatehouse at the root of its
// origin, and mounted under a path (-base-url http://127.0.0.1:PORT/auth),
// where every URL the browser meets (the issuer, the hosted page's form,
// its cookies, end-session) stays under /auth.
//
// GATEHOUSE_REPO names another checkout to build the server from (the
// default is this one); each test reports, as a diagnostic, how long the
// server took to print its URL and the browser to be signed in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freePort } from '../lib/server.mjs';

const repo = process.env.GATEHOUSE_REPO
  ? resolve(process.env.GATEHOUSE_REPO)
  : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir; let bin; let browser;
const procs = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  bin = join(dir, 'gatehouse');
  execFileSync('go', ['build', '-o', bin, './examples/server'], { cwd: repo, stdio: 'inherit' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const proc of procs) {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// startDemo runs the demo server with -demo on free ports; basePath ('' or
// '/auth') is the path of its -base-url. It returns the process's output
// so far (a function) once the URL to open is printed.
async function startDemo(basePath) {
  const [server, client] = [await freePort(), await freePort()];
  const args = ['-demo', '-addr', `127.0.0.1:${server}`, '-demo-client-addr', `127.0.0.1:${client}`];
  if (basePath) args.push('-base-url', `http://127.0.0.1:${server}${basePath}`);
  const proc = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const re = /Open this URL in a browser to sign in:\n\s+(\S+)/;
  for (let i = 0; i < 600 && !re.test(out); i++) {
    if (proc.exitCode !== null) throw new Error(`demo server exited with ${proc.exitCode}\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!re.test(out)) throw new Error(`demo server printed no URL\n${out}`);
  return { output: () => out, server: `http://127.0.0.1:${server}` };
}

for (const basePath of ['', '/auth']) {
  test(`demo${basePath ? ` under ${basePath}` : ''}: the printed URL signs in through examples/client and signs out`, async (t) => {
    const started = Date.now();
    const demo = await startDemo(basePath);
    const printed = Date.now();
    const out = demo.output();
    const [, url] = out.match(/Open this URL in a browser to sign in:\n\s+(\S+)/);
    const [, user] = out.match(/user\s+(\S+)/);
    const [, password] = out.match(/password\s+(\S+)/);
    const [, issuer] = out.match(/issuer\s+(\S+)/);
    const [, mailDir] = out.match(/magic links\s+written as \.eml files to (\S+)/);
    const base = demo.server + basePath;
    assert.equal(issuer, `${base}/t/demo`);
    assert.ok(!resolve(mailDir).startsWith(repo + '/'), `mail directory ${mailDir} is inside the source tree`);
    assert.ok(existsSync(mailDir), 'mail directory exists');

    const ctx = await browser.newContext();
    const tab = await ctx.newPage();
    // Every request the browser sends to Gatehouse stays under the base path.
    // (Cookies do not tell ports apart: the client's own, on another port,
    // are left out by looking only at what Gatehouse's answers set.)
    const outside = []; const cookiePaths = [];
    tab.on('request', (req) => {
      const u = new URL(req.url());
      if (u.origin === demo.server && !(u.pathname === basePath || u.pathname.startsWith(`${basePath}/`))) outside.push(req.url());
    });
    tab.on('response', async (resp) => {
      if (new URL(resp.url()).origin !== demo.server) return;
      for (const h of await resp.headersArray()) {
        if (h.name.toLowerCase() !== 'set-cookie') continue;
        const path = h.value.split(';').map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='));
        cookiePaths.push(`${h.value.split('=')[0]} ${path ? path.slice(5) : '(none)'}`);
      }
    });
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
    const signedIn = Date.now();
    const claims = JSON.parse(await tab.locator('#claims').textContent());
    assert.equal(claims.email, user);
    assert.equal(claims.iss, issuer);
    assert.ok(claims.sub, 'sub');
    assert.ok(claims.nonce, 'nonce');
    assert.equal(claims.nonce, authz.searchParams.get('nonce'));
    assert.ok(cookiePaths.length > 0, 'Gatehouse set no cookie');
    for (const c of cookiePaths) {
      const path = c.split(' ')[1];
      assert.ok(path === (basePath || '/') || path.startsWith(`${basePath}/`), `Gatehouse set cookie ${c}`);
    }

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
    assert.deepEqual(outside, [], 'requests to Gatehouse outside its base path');

    // No token or password in the logs (the password is printed once, on stdout).
    const logs = demo.output().split('\n').filter((l) => l.startsWith('time='));
    assert.ok(!logs.some((l) => l.includes(password) || l.includes('eyJ')), logs.join('\n'));
    t.diagnostic(`server start to printed URL ${printed - started} ms; printed URL to signed-in browser ${signedIn - printed} ms`);
  });
}
