// Shared setup of the admin console's browser tests: a fresh
// `examples/server -admin` on a free port with a mail directory, headless
// Chromium, axe-core audits, and the console's sign-in and form helpers.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freePort } from './server.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// startConsole builds and starts the example server with the console on an
// in-memory store (its mails as .eml files in `${dir}/mail`) and launches
// Chromium. It returns { base, dir, browser, waitFor(re), stop() }:
// waitFor resolves with the first match of re in the server's output.
export async function startConsole(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(dir, 'gatehouse');
  execFileSync('go', ['build', '-o', bin, './examples/server'], { cwd: repo, stdio: 'inherit' });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['-admin', '-store', 'memory:', '-addr', `127.0.0.1:${port}`, '-mail-dir', join(dir, 'mail')],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  async function waitFor(re) {
    for (let i = 0; i < 600; i++) {
      const m = out.match(re);
      if (m) return m;
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server printed no ${re}\n${out}`);
  }
  async function stop() {
    await browser.close();
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return { base, dir, browser, waitFor, stop };
}

// auditor returns audit(tab, label), which runs axe-core on the page
// (WCAG 2.1 A and AA rules and best practices) at 360 px and at desktop
// width, and checks that nothing overflows the narrow viewport. With
// oncePerLanguage, a label already checked in the page's language is not
// checked again.
export function auditor({ oncePerLanguage = true } = {}) {
  const checked = new Set();
  return async function audit(tab, label) {
    const key = `${label}|${await tab.evaluate(() => document.documentElement.lang)}`;
    if (oncePerLanguage && checked.has(key)) return;
    checked.add(key);
    for (const width of [360, 1280]) {
      await tab.setViewportSize({ width, height: 800 });
      // Evaluated through the DevTools protocol, not a <script>: the
      // page's CSP (nonces only) stays as it is.
      await tab.evaluate(axeSource);
      const res = await tab.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      }));
      const v = res.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(' ')).join(', ')})`);
      assert.deepEqual(v, [], `axe violations on ${label} at ${width}px`);
      if (width === 360) {
        const overflow = await tab.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(overflow <= 360, `${label} is ${overflow}px wide at 360px`);
      }
    }
  };
}

// signIn signs a console member in through the provider's hosted page
// (authorization code with PKCE S256) and lands on the organizations.
export async function signIn(tab, base, email, password) {
  await tab.goto(`${base}/admin/orgs`);
  assert.ok(tab.url().startsWith(`${base}/t/gatehouse/authorize`), tab.url());
  const authz = new URL(tab.url());
  assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');
  await tab.getByLabel('Email address', { exact: true }).fill(email);
  await tab.getByLabel('Password').fill(password);
  await Promise.all([
    tab.waitForURL(`${base}/admin/orgs`),
    tab.getByRole('button', { name: 'Sign in with password' }).click(),
  ]);
}

// submit clicks the button named name (within scope, else the page) and
// waits for the answer's page.
export async function submit(tab, name, scope) {
  const where = scope || tab;
  await Promise.all([tab.waitForLoadState('load'), where.getByRole('button', { name, exact: true }).click()]);
  await tab.waitForLoadState('load');
}
