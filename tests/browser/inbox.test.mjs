// SPDX-License-Identifier: Apache-2.0
// Headless Chromium tests of the secure patient inbox: full flow, wrong birth date, wrong code
// until lock-out, quick replies (and STOP), expired link, Spanish pages. Drives the test host
// (GW_INBOX_HOST) over loopback; reads links and codes from the host's notification file;
// saves a screenshot of every step under GW_ARTIFACTS_DIR. Exit 77 = skipped (no chromium).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found (apt-get install chromium; scripts/setup.sh does)`);
  process.exit(77);
}
const HOST = process.env.GW_INBOX_HOST;
if (!HOST || !existsSync(HOST)) {
  console.error('GW_INBOX_HOST must name the built inbox_test_host');
  process.exit(1);
}
const { chromium } = await import('playwright-core');

const ARTIFACTS = process.env.GW_ARTIFACTS_DIR || path.resolve('artifacts');
mkdirSync(ARTIFACTS, { recursive: true });
const work = mkdtempSync(path.join(tmpdir(), 'gw-inbox-browser-'));
const notifications = path.join(work, 'notifications.jsonl');
const BIRTH_DATE = '1980-04-23';

let host;
let base;
let browser;

before(async () => {
  host = spawn(HOST, [notifications], { stdio: ['pipe', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('test host did not start in 20 s')), 20000);
    let out = '';
    host.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/PORT (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    });
    host.on('exit', (code) => reject(new Error(`test host exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (host) {
    host.stdin.end();
    await new Promise((resolve) => { host.on('exit', resolve); setTimeout(resolve, 5000); });
  }
  rmSync(work, { recursive: true, force: true });
});

function notesTo(email) {
  if (!existsSync(notifications)) return [];
  return readFileSync(notifications, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((n) => n.to === email);
}

async function waitFor(predicate, what, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function deliver(email, lang = 'en') {
  const res = await fetch(`${base}/__test/deliver?email=${encodeURIComponent(email)}&lang=${lang}`,
    { method: 'POST' });
  assert.equal(res.status, 200);
  const { message_id: id } = await res.json();
  const note = await waitFor(() => notesTo(email)[0], 'the link notification');
  const link = note.text.match(/http:\/\/127\.0\.0\.1:\d+\/inbox\/l\/[A-Za-z0-9_-]{43}/);
  assert.ok(link, 'notification holds the inbox link');
  for (const phi of ['Sam Synthetic', BIRTH_DATE, 'medicine', 'medicamento', 'discharge']) {
    assert.ok(!(note.subject + note.text).includes(phi), `notification holds no PHI (${phi})`);
  }
  return { id, link: link[0] };
}

async function state(id) {
  const res = await fetch(`${base}/__test/state?message=${id}`);
  return res.json();
}

async function newPage(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  // Console errors (a CSP violation shows up here) other than a status line: error pages are
  // expected to answer 4xx, and Chromium asks the server root for /favicon.ico.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) problems.push(`external request: ${r.url()}`);
  });
  let step = 0;
  const shot = async (label) => {
    step += 1;
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${step}-${label}.png`), fullPage: true });
  };
  return { context, page, problems, shot };
}

async function pageName(page) {
  return page.locator('#page').getAttribute('data-page');
}

async function giveBirthDate(page, date) {
  await page.fill('#dob', date);
  await page.click('#continue');
  await page.waitForLoadState();
}

async function codeFor(email, count) {
  const note = await waitFor(() => notesTo(email)[count], 'the code notification');
  return note.text.match(/\b(\d{6})\b/)[1];
}

test('full flow: link, birth date, code, message page, read receipt', async () => {
  const email = 'full.flow@example.invalid';
  const { id, link } = await deliver(email);
  const { context, page, problems, shot } = await newPage('full-flow');
  const response = await page.goto(link);
  assert.equal(response.status(), 200);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /default-src 'none'/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['cache-control'], 'no-store');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  assert.equal(await pageName(page), 'dob');
  // The stylesheet loads under the CSP (style-src 'self').
  const color = await page.evaluate(() => getComputedStyle(document.querySelector('button')).backgroundColor);
  assert.equal(color, 'rgb(0, 94, 162)');
  await shot('birth-date');

  await giveBirthDate(page, BIRTH_DATE);
  assert.equal(await pageName(page), 'code');
  await shot('code');
  const code = await codeFor(email, 1);
  await page.fill('#code', code);
  await page.click('#verify');
  await page.waitForLoadState();
  assert.equal(await pageName(page), 'message');
  assert.equal(new URL(page.url()).pathname, '/inbox/message');
  const body = await page.locator('#body').innerText();
  assert.match(body, /Take your medicine twice a day/);
  assert.equal(await page.locator('#body a[href="https://education.example.invalid/knee"]').count(), 1);
  assert.match(await page.locator('#emergency').innerText(), /not for emergencies/);
  for (const id_ of ['confirm', 'cancel', 'question', 'stop']) {
    assert.equal(await page.locator(`#reply-${id_}`).count(), 1, `reply button ${id_}`);
  }
  await shot('message');
  const after_ = await state(id);
  assert.equal(after_.state, 'read');
  const actions = after_.audit.map((a) => `${a.action}/${a.outcome}`);
  for (const expected of ['inbox_link_created/ok', 'inbox_code_sent/ok', 'inbox_code/ok', 'inbox_viewed/ok']) {
    assert.ok(actions.includes(expected), `audit has ${expected}: ${actions}`);
  }
  assert.ok(!JSON.stringify(after_.audit).includes(BIRTH_DATE), 'audit holds no birth date');
  assert.ok(!JSON.stringify(after_.audit).includes(email), 'audit holds no address');
  // Reloading keeps the session; the read receipt is not repeated.
  await page.reload();
  assert.equal(await pageName(page), 'message');
  assert.deepEqual(problems, []);
  await context.close();
});

test('wrong birth date: looks the same, no code is sent, attempts count', async () => {
  const email = 'wrong.dob@example.invalid';
  const { id, link } = await deliver(email);
  const { context, page, problems, shot } = await newPage('wrong-dob');
  await page.goto(link);
  await giveBirthDate(page, '1990-01-01');
  assert.equal(await pageName(page), 'code');
  await shot('code-after-wrong-date');
  assert.equal(notesTo(email).length, 1, 'no code was sent');
  await page.fill('#code', '123456');
  await page.click('#verify');
  await page.waitForLoadState();
  assert.match(await page.locator('#error').innerText(), /Attempts left: 3\./);
  await shot('code-rejected');
  const actions = (await state(id)).audit.map((a) => `${a.action}/${a.outcome}`);
  assert.ok(actions.includes('inbox_dob/mismatch'));
  assert.ok(actions.includes('inbox_code/no_code'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('wrong code until lock-out', async () => {
  const email = 'lockout@example.invalid';
  const { id, link } = await deliver(email);
  const { context, page, shot } = await newPage('lockout');
  await page.goto(link);
  await giveBirthDate(page, BIRTH_DATE);
  const right = await codeFor(email, 1);
  const wrong = right === '000000' ? '111111' : '000000';
  for (let left = 4; left >= 1; left -= 1) {
    await page.fill('#code', wrong);
    await page.click('#verify');
    await page.waitForLoadState();
    assert.match(await page.locator('#error').innerText(), new RegExp(`Attempts left: ${left}\\.`));
    await shot(`attempts-left-${left}`);
  }
  await page.fill('#code', wrong);
  await page.click('#verify');
  await page.waitForLoadState();
  assert.equal(await pageName(page), 'locked');
  assert.match(await page.locator('h1').innerText(), /This link is locked/);
  await shot('locked');
  // The link stays locked in a fresh browser, even with the right code.
  const fresh = await newPage('lockout-fresh');
  const response = await fresh.page.goto(link);
  assert.equal(response.status(), 403);
  assert.equal(await pageName(fresh.page), 'locked');
  await fresh.shot('locked-again');
  const actions = (await state(id)).audit.map((a) => a.action);
  assert.ok(actions.includes('inbox_locked'));
  await fresh.context.close();
  await context.close();
});

async function signIn(name, email, lang = 'en') {
  const { id, link } = await deliver(email, lang);
  const session = await newPage(name);
  await session.page.goto(link);
  await giveBirthDate(session.page, BIRTH_DATE);
  await session.page.fill('#code', await codeFor(email, 1));
  await session.page.click('#verify');
  await session.page.waitForLoadState();
  assert.equal(await pageName(session.page), 'message');
  return { id, ...session };
}

test('quick reply and STOP are stored and audited', async () => {
  const { id, context, page, problems, shot } = await signIn('quick-reply', 'reply@example.invalid');
  await page.click('#reply-confirm');
  await page.waitForLoadState();
  assert.equal(await pageName(page), 'replied');
  assert.match(await page.locator('#notice').innerText(), /Confirm appointment/);
  await shot('confirmed');
  await page.click('#back');
  await page.waitForLoadState();
  await page.click('#reply-stop');
  await page.waitForLoadState();
  assert.equal(await page.locator('#stop-notice').count(), 1);
  await shot('stopped');
  const s = await state(id);
  assert.deepEqual(s.replies, ['confirm', 'stop']);
  assert.equal(s.opt_outs, 1);
  assert.equal(s.audit.filter((a) => a.action === 'inbox_reply').length, 2);
  assert.deepEqual(problems, []);
  await context.close();
});

test('expired link: content deleted, page says so', async () => {
  const email = 'expired@example.invalid';
  const { id, link } = await deliver(email);
  const { context, page, shot } = await newPage('expired');
  await page.goto(link);
  assert.equal(await pageName(page), 'dob');
  const moved = await fetch(`${base}/__test/advance?seconds=${31 * 24 * 3600}`, { method: 'POST' });
  assert.equal(moved.status, 200);
  const response = await page.goto(link);
  assert.equal(response.status(), 410);
  assert.equal(await pageName(page), 'expired');
  assert.match(await page.locator('h1').innerText(), /This message has expired/);
  await shot('expired');
  const s = await state(id);
  assert.equal(s.state, 'expired');
  assert.equal(s.content_present, false);
  assert.ok(s.audit.some((a) => a.action === 'inbox_expired'));
  await context.close();
});

test('Spanish message gets Spanish pages', async () => {
  const { context, page, shot } = await signIn('spanish', 'espanol@example.invalid', 'es');
  assert.equal(await page.locator('html').getAttribute('lang'), 'es');
  assert.match(await page.locator('#emergency').innerText(), /no es para emergencias/);
  assert.match(await page.locator('#reply-question').innerText(), /Tengo una pregunta/);
  await shot('mensaje');
  await context.close();
});

test('preferences page: time zone and "delay my results" saved, audited, shown again', async () => {
  const { id, context, page, problems, shot } = await signIn('preferences', 'prefs@example.invalid');
  await page.click('#preferences');
  await page.waitForLoadState();
  assert.equal(await pageName(page), 'preferences');
  assert.equal(new URL(page.url()).pathname, '/inbox/preferences');
  assert.equal(await page.locator('#time_zone').inputValue(), '');  // the hospital's until chosen
  assert.match(await page.locator('label[for="time_zone"]').innerText(), /Your time zone/);
  await shot('preferences');
  await page.selectOption('#time_zone', 'America/Chicago');
  await page.fill('#delay_amount', '2');
  await page.selectOption('#delay_unit', 'days');
  await page.click('#save');
  await page.waitForLoadState();
  assert.equal(await pageName(page), 'preferences');
  assert.match(await page.locator('#notice').innerText(), /Your preferences were saved\./);
  assert.equal(await page.locator('#time_zone').inputValue(), 'America/Chicago');
  assert.equal(await page.locator('#delay_amount').inputValue(), '2');
  assert.equal(await page.locator('#delay_unit').inputValue(), 'days');
  await shot('saved');
  let s = await state(id);
  assert.deepEqual(s.preferences, { time_zone: 'America/Chicago', result_delay_hours: 48 });
  const saved = s.audit.filter((a) => a.action === 'inbox_preferences');
  assert.equal(saved.length, 1);
  assert.equal(saved[0].reason, 'own time zone, result delay 48 h');

  // A number that is not one: the form says what to type and nothing changes.
  await page.fill('#delay_amount', 'soon');
  await page.click('#save');
  await page.waitForLoadState();
  assert.match(await page.locator('#error').innerText(), /whole number of hours or days/);
  await shot('bad-delay');
  s = await state(id);
  assert.equal(s.preferences.result_delay_hours, 48);

  // A fresh page load shows what is stored.
  await page.goto(`${base}/inbox/preferences`);
  assert.equal(await page.locator('#time_zone').inputValue(), 'America/Chicago');
  await page.click('#back');
  await page.waitForLoadState();
  assert.equal(await pageName(page), 'message');
  assert.deepEqual(problems, []);
  await context.close();
});

test('preferences and typed replies in Spanish', async () => {
  const { id, context, page, problems, shot } = await signIn('preferencias', 'prefs.es@example.invalid', 'es');
  assert.match(await page.locator('label[for="text"]').innerText(), /O escriba una respuesta/);
  await page.fill('#text', 'STOP');
  await page.click('#send-text');
  await page.waitForLoadState();
  assert.equal(await pageName(page), 'replied');
  assert.match(await page.locator('#notice').innerText(), /No recibirá más mensajes en este buzón/);
  await shot('stop');
  await page.click('#back');
  await page.waitForLoadState();
  await page.fill('#text', '¿Puedo ducharme hoy?');
  await page.click('#send-text');
  await page.waitForLoadState();
  assert.match(await page.locator('#notice').innerText(), /se envió a su equipo de atención/);
  await page.goto(`${base}/inbox/preferences`);
  assert.match(await page.locator('h1').innerText(), /Sus preferencias de mensajes/);
  await page.selectOption('#time_zone', 'America/Puerto_Rico');
  await page.fill('#delay_amount', '12');
  await page.selectOption('#delay_unit', 'hours');
  await page.click('#save');
  await page.waitForLoadState();
  assert.match(await page.locator('#notice').innerText(), /Se guardaron sus preferencias/);
  await shot('guardado');
  const s = await state(id);
  assert.deepEqual(s.typed_replies, ['STOP', '¿Puedo ducharme hoy?']);
  assert.deepEqual(s.preferences, { time_zone: 'America/Puerto_Rico', result_delay_hours: 12 });
  assert.deepEqual(problems, []);
  await context.close();
});

test('preferences need a verified session', async () => {
  const { link } = await deliver('prefs.early@example.invalid');
  const { context, page } = await newPage('preferences-early');
  await page.goto(link);
  await page.goto(`${base}/inbox/preferences`);
  assert.equal(await pageName(page), 'dob');  // redirected to the verification step
  await context.close();
});
