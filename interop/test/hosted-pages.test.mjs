// The hosted pages in a real browser at 360 px wide (headless Chromium):
// the shared look renders under the strict Content-Security-Policy (the
// nonce'd stylesheet applies, no violation is reported, nothing overflows
// the screen), the skip link is the first stop of the keyboard, and the
// "forgot password" path works end to end against the demo server: the
// link on the login page, the reset mail (an .eml file of the demo's mail
// directory), the new-password form, and the sign-in that continues with
// the new password through examples/client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
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

// resetLink waits for a reset mail in mailDir and returns its link.
async function resetLink(mailDir) {
  for (let i = 0; i < 200; i++) {
    for (const f of readdirSync(mailDir).filter((n) => n.endsWith('.eml'))) {
      const raw = readFileSync(join(mailDir, f), 'utf8')
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      const m = raw.match(/(https?:\/\/\S+\/password-reset\/[A-Za-z0-9_-]{43})/);
      if (m) return m[1];
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no reset mail in ${mailDir}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-pages-'));
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

// checkLook asserts what every hosted page must hold at 360 px.
async function checkLook(tab, violations, what) {
  assert.deepEqual(violations, [], `${what}: CSP violations`);
  const look = await tab.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    button: getComputedStyle(document.querySelector('button')).backgroundColor,
    lang: document.documentElement.lang,
    skip: document.querySelector('a.skip')?.getAttribute('href'),
    scripts: document.scripts.length,
  }));
  assert.ok(look.overflow <= 0, `${what}: ${look.overflow}px wider than the screen`);
  assert.equal(look.lang, 'en', `${what}: lang`);
  assert.equal(look.skip, '#main', `${what}: skip link`);
  assert.equal(look.scripts, 0, `${what}: scripts`);
  // The stylesheet applied: the primary colour (default #1a4fd6) or the
  // page background of a secondary/link button.
  assert.ok(['rgb(26, 79, 214)', 'rgba(0, 0, 0, 0)', 'rgb(255, 255, 255)'].includes(look.button), `${what}: button ${look.button}`);
}

test('hosted pages: the look at 360 px and forgot password end to end', async () => {
  const [, url] = await waitFor(/Open this URL in a browser to sign in:\n\s+(\S+)/);
  const [, user] = out.match(/user\s+(\S+)/);
  const [, mailDir] = out.match(/magic links\s+written as \.eml files to (\S+)/);

  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'en-US' });
  const tab = await ctx.newPage();
  const violations = [];
  tab.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await tab.goto(url);
  await tab.getByLabel('Email address').waitFor();
  await checkLook(tab, violations, 'login page');
  const primary = await tab.evaluate(() => getComputedStyle(document.querySelector('button[value=magic]')).backgroundColor);
  assert.equal(primary, 'rgb(26, 79, 214)', 'the nonce\'d stylesheet styles the primary button');

  // The skip link is the keyboard's stop before the (autofocused) email
  // field, and is shown when focused.
  assert.equal(await tab.evaluate(() => document.activeElement.id), 'email');
  await tab.keyboard.press('Shift+Tab');
  const skip = await tab.evaluate(() => ({ cls: document.activeElement.className,
    left: document.activeElement.getBoundingClientRect().left }));
  assert.equal(skip.cls, 'skip');
  assert.ok(skip.left >= 0, `skip link off screen when focused (${skip.left})`);

  // Forgot password: the link, the email form, the notice.
  await tab.getByRole('button', { name: 'Forgot your password?' }).click();
  await tab.getByLabel('Email address').fill(user);
  await checkLook(tab, violations, 'forgot page');
  await tab.getByRole('button', { name: 'Email me a reset link' }).click();
  await tab.locator('#notice').waitFor();

  // The mail's link opens the new-password form in the same browser.
  const link = await resetLink(mailDir);
  await tab.goto(link);
  await checkLook(tab, violations, 'reset page');
  const pw = 'a brand new passphrase';
  await tab.getByLabel('New password', { exact: true }).fill(pw);
  await tab.getByLabel('New password, again').fill(pw);
  await tab.getByRole('button', { name: 'Set the password' }).click();

  // Back on the login page of the pending request: sign in with it.
  await tab.locator('#notice').getByText('Your password was changed').waitFor();
  assert.equal(await tab.getByLabel('Email address').inputValue(), user);
  await tab.getByLabel('Password', { exact: true }).fill(pw);
  await Promise.all([
    tab.waitForURL(new URL('./', url).toString()),
    tab.getByRole('button', { name: 'Sign in with password' }).click(),
  ]);
  const claims = JSON.parse(await tab.locator('#claims').textContent());
  assert.equal(claims.email, user);

  // The link works once.
  await tab.goto(link);
  assert.ok((await tab.content()).includes('expired or was already used'));
  await ctx.close();
});
