// Starts the Gatehouse example server for an interop test: builds it with
// `go build`, runs it on a free loopback port with the in-memory store and
// the development mailer, and creates an organization, applications and a
// user through the Cryptr management API (/api/v2).
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitHealthy(base, proc) {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const r = await fetch(base + '/healthz');
      if (r.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

// startServer starts a server; opts.store (default "memory:") and
// opts.masterEnv ("production" or "sandbox", the environment of the
// bootstrap master key) let a test reopen one bolt store with a key of
// each environment.
export async function startServer(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-interop-'));
  const bin = join(dir, 'gatehouse');
  execFileSync('go', ['build', '-o', bin, './examples/server'], { cwd: repo, stdio: 'inherit' });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const mailDir = join(dir, 'mail');
  const masterID = randomUUID();
  const masterSecret = randomBytes(32).toString('base64url');
  const args = ['-addr', `127.0.0.1:${port}`, '-store', opts.store || 'memory:', '-mail-dir', mailDir,
    '-master-key', `${masterID}:${masterSecret}`];
  if (opts.masterEnv) args.push('-master-env', opts.masterEnv);
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  proc.stdout.on('data', (d) => { logs += d; });
  proc.stderr.on('data', (d) => { logs += d; });
  try {
    await waitHealthy(base, proc);
  } catch (e) {
    proc.kill();
    throw new Error(`${e.message}\n${logs}`);
  }
  const tr = await fetch(base + '/api/v2/oauth/token', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: masterID, client_secret: masterSecret }),
  });
  if (!tr.ok) throw new Error(`management token: ${tr.status} ${await tr.text()}`);
  const mgmt = (await tr.json()).access_token;
  const api = async (method, path, body) => {
    const r = await fetch(base + path, {
      method, headers: { 'content-type': 'application/json', authorization: `Bearer ${mgmt}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    base, mailDir, api, mgmt,
    logs: () => logs,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// setupOrg creates an organization owning emailDomain and a user in it.
export async function setupOrg(srv, name, emailDomain, email) {
  const org = await srv.api('POST', '/api/v2/organizations', { name, allowed_email_domains: [emailDomain] });
  const user = await srv.api('POST', `/api/v2/org/${org.domain}/users`, { email });
  return { org, user };
}

// decodeQP decodes a quoted-printable body.
function decodeQP(s) {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

// nextMail waits for a new .eml file in the mail directory (temporary
// ".tmp-*" files of the writer are skipped) and
// returns the magic link and code it holds.
export async function nextMail(mailDir, seen) {
  for (let i = 0; i < 100; i++) {
    let files = [];
    try { files = readdirSync(mailDir).filter((f) => f.endsWith('.eml') && !f.startsWith('.')).sort(); } catch { /* not yet */ }
    const fresh = files.filter((f) => !seen.has(f));
    if (fresh.length > 0) {
      seen.add(fresh[0]);
      const text = decodeQP(readFileSync(join(mailDir, fresh[0]), 'utf8'));
      const link = text.match(/https?:\/\/[^\s"<>]+\/magic-link\/verify\/[A-Za-z0-9_-]{43}/);
      const code = text.match(/: (\d{6})\r?\n/);
      if (!link) throw new Error('no link in mail:\n' + text);
      return { link: link[0], code: code && code[1], text };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no mail arrived');
}

// A minimal cookie-keeping browser over fetch (no redirects followed).
export class Browser {
  constructor() { this.cookies = new Map(); }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  async fetch(url, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    if (this.cookies.size) headers.cookie = this.header();
    const r = await fetch(url, { ...opts, headers, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const k = pair.slice(0, i); const v = pair.slice(i + 1);
      if (v === '' || /max-age=-1|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(k); else this.cookies.set(k, v);
    }
    return r;
  }
  async postForm(url, fields) {
    return this.fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

function field(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]+)"`));
  return m && m[1];
}

// magicLogin signs email in at authURL through the hosted page and a magic
// link, and returns the URL the browser is finally sent to.
export async function magicLogin(srv, browser, authURL, email, seen) {
  const page = await browser.fetch(authURL);
  if (page.status !== 200) throw new Error(`authorize: ${page.status} ${page.headers.get('location')}`);
  const html = await page.text();
  const action = html.match(/<form method="post" action="([^"]+)"/)[1];
  const sent = await browser.postForm(srv.base + action, {
    csrf_token: field(html, 'csrf_token'), request: field(html, 'request'), action: 'magic', email,
  });
  if (sent.status !== 200) throw new Error(`send: ${sent.status}`);
  const { link } = await nextMail(srv.mailDir, seen);
  const confirm = await browser.fetch(link);
  const chtml = await confirm.text();
  const done = await browser.postForm(link, { csrf_token: field(chtml, 'csrf_token') });
  if (done.status !== 303) throw new Error(`consume: ${done.status} ${await done.text()}`);
  return done.headers.get('location');
}
