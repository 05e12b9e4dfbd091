// The admin console's invitations and keyboard use in headless Chromium:
// `examples/server -admin` prints a one-time setup link; the first owner
// creates their account, signs in, creates an organization and an
// application, then creates a user with "Mail an invitation link". The
// invited user opens the mailed link (an .eml file of the server's mail
// directory) in another browser, confirms, and is signed in: the
// application's sign-in is answered without a prompt. The link works
// once. The users page is used from the keyboard alone: Tab reaches the
// skip link, the searches, "New user" and the users, each with a visible
// focus indicator, and the user page's landing choice and invitation
// button are used from the keyboard: that link lands in the application.
// A user is found by a MetaData key=value. axe-core reports no violation on the new pages, at 360 px
// wide and on the desktop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startConsole, auditor, signIn as signInAs, submit } from '../lib/console.mjs';
import { readFileSync, readdirSync, existsSync } from 'node:fs';

let con; let base; let browser; let dir;
const audit = auditor({ oncePerLanguage: false });
const waitFor = (re) => con.waitFor(re);
const signIn = (tab, email, password) => signInAs(tab, base, email, password);

before(async () => {
  con = await startConsole('gatehouse-admin-invite-');
  ({ base, browser, dir } = con);
});

after(async () => {
  if (con) await con.stop();
});

// decodeQP decodes a quoted-printable mail body.
function decodeQP(s) {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

// invitationLinks returns the invitation links mailed to addr so far
// (the .eml files of the server's mail directory), waiting for at least n.
async function invitationLinks(addr, n) {
  const mailDir = join(dir, 'mail');
  let links = [];
  for (let i = 0; i < 200; i++) {
    links = [];
    const files = existsSync(mailDir) ? readdirSync(mailDir).filter((f) => f.endsWith('.eml') && !f.startsWith('.')).sort() : [];
    for (const f of files) {
      const text = decodeQP(readFileSync(join(mailDir, f), 'utf8'));
      const m = text.match(/https?:\/\/[^\s"<>]+\/invitation\/[A-Za-z0-9_-]{43}/);
      if (m && new RegExp(`^To: .*${addr.replace('.', '\\.')}`, 'm').test(text)) links.push(m[0]);
    }
    if (links.length >= n) return [...new Set(links)];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${n} invitation mails to ${addr} did not arrive (got ${links.length})`);
}

// focused describes the focused element and whether a focus indicator
// is drawn around it (an outline or a box shadow).
async function focused(tab) {
  return tab.evaluate(() => {
    const el = document.activeElement;
    const cs = getComputedStyle(el);
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
    const shadow = cs.boxShadow && cs.boxShadow !== 'none';
    const label = el.labels && el.labels[0] ? el.labels[0].textContent.trim() : '';
    return {
      tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '',
      text: (el.textContent || '').trim(), label, visible: outline || shadow,
    };
  });
}

test('admin console: invite a user by magic link; the users page from the keyboard', async () => {
  const [, link] = await waitFor(/create its first owner with this one-time link[^\n]*\n\s+(\S+)/);
  const ctx = await browser.newContext();
  const tab = await ctx.newPage();
  await tab.goto(link);
  await tab.getByLabel('Email address', { exact: true }).fill('owner@example.test');
  await tab.getByLabel('Password').fill('a long owner password');
  await submit(tab, 'Create the owner');
  await tab.getByRole('heading', { name: 'Owner created' }).waitFor();
  await signIn(tab, 'owner@example.test', 'a long owner password');

  // An organization and an application of it.
  await tab.goto(`${base}/admin/orgs/new`);
  await tab.getByLabel('Name', { exact: true }).fill('Acme Corp');
  await tab.getByLabel('Allowed email domains').fill('acme.test');
  await submit(tab, 'Save');
  await tab.getByText('Organization created.').waitFor();
  await tab.goto(`${base}/admin/orgs/acme-corp/apps/new`);
  await tab.getByLabel('Name', { exact: true }).fill('Billing');
  await tab.getByLabel(/^Redirect URIs/).fill('https://billing.acme.test/callback');
  await tab.getByLabel(/^Web origins/).fill('https://billing.acme.test');
  await submit(tab, 'Save');
  await tab.getByText('Application created.').waitFor();
  await tab.goto(`${base}/admin/orgs/acme-corp/apps`);
  const appHref = await tab.getByRole('link', { name: 'Billing' }).getAttribute('href');
  const clientID = decodeURIComponent(appHref.split('/').pop());

  // Create a user and mail the invitation at once.
  await tab.goto(`${base}/admin/orgs/acme-corp/users/new`);
  await audit(tab, 'new user with the invitation choice');
  await tab.getByLabel('Email address', { exact: true }).fill('ann@acme.test');
  await tab.getByLabel('Given name').fill('Ann');
  await tab.getByLabel(/^Mail an invitation link/).check();
  assert.equal(await tab.getByLabel('Where the invited user lands').inputValue(), '', 'the hosted page is the default landing');
  await submit(tab, 'New user');
  await tab.getByText('User created; an invitation link was mailed.').waitFor();
  await audit(tab, 'user with the invitation button');
  const userPage = new URL(tab.url()).pathname;
  const [invite] = await invitationLinks('ann@acme.test', 1);
  assert.ok(invite.startsWith(`${base}/t/acme-corp/invitation/`), invite);

  // The invited user, in another browser: a confirmation page (opening
  // it consumes nothing), then signed in.
  const ictx = await browser.newContext();
  const itab = await ictx.newPage();
  await itab.goto(invite);
  await itab.getByText('Acme Corp invites you to sign in as ann@acme.test.').waitFor();
  await audit(itab, 'invitation confirmation');
  await itab.goto(invite);
  await submit(itab, 'Sign in');
  await itab.getByRole('heading', { name: 'Signed in' }).waitFor();
  await itab.getByText(/You are signed in to Acme Corp as ann@acme\.test/).waitFor();
  await audit(itab, 'invitation accepted');
  // Signed in: the application's authorization answers prompt=none with
  // a code (asked with the browser's cookies, the redirect not followed).
  const authz = new URL(`${base}/t/acme-corp/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: clientID, redirect_uri: 'https://billing.acme.test/callback', scope: 'openid email',
    state: 'st-invite', prompt: 'none',
  })) authz.searchParams.set(k, v);
  const answer = await ictx.request.get(authz.toString(), { maxRedirects: 0 });
  const callback = answer.headers().location || '';
  assert.ok(callback.startsWith('https://billing.acme.test/callback?'), `${answer.status()} ${callback}`);
  const cb = new URL(callback);
  assert.ok(cb.searchParams.get('code'), callback);
  assert.equal(cb.searchParams.get('state'), 'st-invite');
  assert.equal(cb.searchParams.get('error'), null, callback);
  // Without the invitation's session, the same request is refused.
  const stranger = await browser.newContext();
  const refused = (await stranger.request.get(authz.toString(), { maxRedirects: 0 })).headers().location || '';
  assert.equal(new URL(refused).searchParams.get('error'), 'login_required', refused);
  await stranger.close();
  // The link works once.
  const again = await ictx.newPage();
  const res = await again.goto(invite);
  assert.equal(res.status(), 400);
  await again.getByText('This link has expired or was already used. Ask for a new one.').waitFor();
  await ictx.close();

  // The users page from the keyboard alone.
  await tab.goto(`${base}/admin/orgs/acme-corp/users`);
  await audit(tab, 'users with the MetaData search');
  await tab.keyboard.press('Tab');
  let f = await focused(tab);
  assert.equal(f.text, 'Skip to content');
  assert.ok(f.visible, 'the skip link has no visible focus indicator');
  await tab.keyboard.press('Enter');
  assert.equal(await tab.evaluate(() => document.activeElement.id), 'main');
  const reached = [];
  for (let i = 0; i < 30; i++) {
    await tab.keyboard.press('Tab');
    f = await focused(tab);
    if (f.tag === 'body') break;
    reached.push(f);
    if (f.text === 'ann@acme.test') break;
  }
  const find = (pred, what) => {
    const x = reached.find(pred);
    assert.ok(x, `Tab never reaches ${what}: ${JSON.stringify(reached.map((r) => r.text || r.label || r.name))}`);
    assert.ok(x.visible, `${what} has no visible focus indicator`);
    return x;
  };
  find((x) => x.id === 'f-q', 'the search field');
  find((x) => x.tag === 'button' && x.text === 'Search', 'the search button');
  find((x) => x.id === 'f-meta', 'the MetaData search field');
  find((x) => x.tag === 'a' && x.text === 'New user', 'New user');
  find((x) => x.tag === 'a' && x.text === 'ann@acme.test', 'the user');
  // Enter follows the user's link; on the user page, Tab reaches the
  // invitation button and Enter sends it.
  await Promise.all([tab.waitForURL((u) => u.pathname === userPage), tab.keyboard.press('Enter')]);
  // The landing choice, from the keyboard: Billing.
  let sent = false;
  let landed = false;
  for (let i = 0; i < 60 && !sent; i++) {
    await tab.keyboard.press('Tab');
    f = await focused(tab);
    if (f.tag === 'select' && f.label === 'Where the invited user lands') {
      assert.ok(f.visible, 'the landing choice has no visible focus indicator');
      await tab.keyboard.press('ArrowDown');
      landed = (await tab.getByLabel('Where the invited user lands').inputValue()) === clientID;
    }
    if (f.tag === 'button' && f.text === 'Mail a sign-in invitation') {
      assert.ok(f.visible, 'the invitation button has no visible focus indicator');
      await Promise.all([tab.waitForLoadState('load'), tab.keyboard.press('Enter')]);
      sent = true;
    }
  }
  assert.ok(sent, 'Tab never reaches "Mail a sign-in invitation"');
  await tab.getByText('An invitation link was mailed to the user.').waitFor();
  assert.ok(landed, 'the landing choice was not reached or did not offer Billing');
  const links = await invitationLinks('ann@acme.test', 2);
  assert.equal(links.length, 2);
  // The second link lands in Billing once signed in (followed with the
  // cookies of a new browser, the redirect not followed).
  const lctx = await browser.newContext();
  const second = links.find((l) => l !== invite);
  const confirm = await lctx.request.get(second);
  const token = (await confirm.text()).match(/name="csrf_token" value="([^"]+)"/)[1];
  const landing = await lctx.request.post(second, { form: { csrf_token: token }, maxRedirects: 0 });
  assert.equal(landing.status(), 303);
  assert.equal(landing.headers().location, 'https://billing.acme.test');
  await lctx.close();

  // Search by MetaData: a MetaKey (through the Cryptr API, with a key
  // made in the console), a value set on the user page, then found.
  await tab.goto(`${base}/admin/keys`);
  await tab.getByLabel('Name', { exact: true }).fill('metakeys');
  await tab.getByLabel('Full access').check();
  await tab.getByRole('textbox', { name: /^Organizations/ }).fill('acme-corp');
  await submit(tab, 'Create the key');
  await tab.getByText('API key created.').waitFor();
  const keySecret = await tab.getByLabel('client_secret').inputValue();
  const keyID = (await tab.locator('.secret dd code').textContent()).trim();
  const tok = await tab.request.post(`${base}/api/v2/oauth/token`, {
    data: { grant_type: 'client_credentials', client_id: keyID, client_secret: keySecret },
  });
  assert.equal(tok.status(), 200, await tok.text());
  const bearer = { authorization: `Bearer ${(await tok.json()).access_token}` };
  const mk = await tab.request.post(`${base}/api/v2/org/acme-corp/token-customization/user-metakey`,
    { headers: bearer, data: { name: 'plan' } });
  assert.equal(mk.status(), 201, await mk.text());
  await tab.goto(`${base}${userPage}`);
  await tab.getByLabel(/^plan/).fill('gold');
  await tab.getByRole('form', { name: 'MetaData' }).getByRole('button', { name: 'Save' }).click();
  await tab.getByText('MetaData saved.').waitFor();
  await tab.goto(`${base}/admin/orgs/acme-corp/users`);
  await tab.getByLabel(/^MetaData key=value/).fill('plan=gold');
  await Promise.all([tab.waitForURL(/meta=plan%3Dgold/), tab.getByLabel(/^MetaData key=value/).press('Enter')]);
  await tab.getByRole('link', { name: 'ann@acme.test' }).waitFor();
  await audit(tab, 'users found by MetaData');
  await tab.getByLabel(/^MetaData key=value/).fill('plan=silver');
  await Promise.all([tab.waitForURL(/meta=plan%3Dsilver/), tab.getByLabel(/^MetaData key=value/).press('Enter')]);
  await tab.getByText('No user found.').waitFor();

  // The MetaData search form refuses a condition without "=".
  await tab.goto(`${base}/admin/orgs/acme-corp/users?meta=plan`);
  await tab.getByText('must be key=value', { exact: true }).waitFor();
  await audit(tab, 'users with a MetaData search error');
  await ctx.close();
});
