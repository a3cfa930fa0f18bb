// SPDX-License-Identifier: Apache-2.0
// One patient's walk through the secure inbox in headless Chromium, for test_e2e.py: opens the
// link from the notification mail, optionally gives a wrong birth date first (the page looks the
// same, no code is sent, a guessed code is refused), then the right birth date and the one-time
// code from the next mail the SMTP server received (or the pickup directory holds), reads the message in the patient's language
// and presses a quick reply. Mails are the raw .eml files test_e2e.py mirrors into GW_E2E_MAILDIR.
// Input: GW_E2E_FLOW (JSON: link, email, birthDate, wrongBirthDate, expectText, lang, reply,
// name). Screenshots go to GW_ARTIFACTS_DIR. Prints "RESULT <json>" last. Exit 77 = no chromium.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found (apt-get install chromium; scripts/setup.sh does)`);
  process.exit(77);
}
const { chromium } = await import('playwright-core');

const flow = JSON.parse(process.env.GW_E2E_FLOW || '{}');
for (const key of ['link', 'email', 'birthDate', 'expectText', 'lang', 'reply', 'name']) {
  if (!flow[key]) {
    console.error(`GW_E2E_FLOW lacks "${key}"`);
    process.exit(2);
  }
}
const MAILDIR = process.env.GW_E2E_MAILDIR;
const ARTIFACTS = process.env.GW_ARTIFACTS_DIR || path.resolve('artifacts');
mkdirSync(ARTIFACTS, { recursive: true });
const origin = new URL(flow.link).origin;

// The decoded text of every mail to `email`, oldest first (by modification time, then name:
// test_e2e.py names its copies by arrival number, the pickup directory by message id).
function mailsTo(email) {
  if (!MAILDIR || !existsSync(MAILDIR)) return [];
  const files = readdirSync(MAILDIR).filter((f) => f.endsWith('.eml'))
    .map((f) => ({ f, t: statSync(path.join(MAILDIR, f)).mtimeMs }))
    .sort((a, b) => a.t - b.t || a.f.localeCompare(b.f)).map((e) => e.f);
  return files.map((f) => {
    const raw = readFileSync(path.join(MAILDIR, f), 'latin1');
    const split = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
    const headers = raw.slice(0, split);
    const body = raw.slice(split).trim();
    const to = (headers.match(/^To:\s*(.*)$/im) || [])[1] || '';
    const text = /^Content-Transfer-Encoding:\s*base64/im.test(headers)
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : body;
    return { to: to.trim(), text };
  }).filter((m) => m.to.includes(email));
}

async function waitFor(predicate, what, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const result = { steps: [] };
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(origin)) problems.push(`external request: ${r.url()}`);
  });
  let step = 0;
  const shot = async (label) => {
    step += 1;
    result.steps.push(label);
    await page.screenshot({ path: path.join(ARTIFACTS, `${flow.name}-${step}-${label}.png`), fullPage: true });
  };
  const pageName = () => page.locator('#page').getAttribute('data-page');
  const giveBirthDate = async (date) => {
    await page.fill('#dob', date);
    await page.click('#continue');
    await page.waitForLoadState();
  };
  const mailsBefore = mailsTo(flow.email).length;
  assert.equal(mailsBefore, 1, 'only the notification has arrived before the link is opened');

  let response = await page.goto(flow.link);
  assert.equal(response.status(), 200);
  assert.equal(await pageName(), 'dob');
  await shot('birth-date');

  if (flow.wrongBirthDate) {
    await giveBirthDate(flow.wrongBirthDate);
    assert.equal(await pageName(), 'code', 'a wrong birth date looks like a right one');
    await shot('code-after-wrong-birth-date');
    await page.fill('#code', '000000');
    await page.click('#verify');
    await page.waitForLoadState();
    assert.match(await page.locator('#error').innerText(), /\d/, 'the guessed code is refused');
    await shot('code-refused');
    assert.equal(mailsTo(flow.email).length, 1, 'no code was mailed after the wrong birth date');
    // Start again from the mail's link, as a patient would.
    response = await page.goto(flow.link);
    assert.equal(response.status(), 200);
    assert.equal(await pageName(), 'dob');
  }

  await giveBirthDate(flow.birthDate);
  assert.equal(await pageName(), 'code');
  await shot('code');
  const codeMail = await waitFor(() => mailsTo(flow.email)[1], 'the one-time code mail');
  const code = codeMail.text.match(/\b(\d{6})\b/);
  assert.ok(code, 'the second mail holds a six-digit code');
  await page.fill('#code', code[1]);
  await page.click('#verify');
  await page.waitForLoadState();
  assert.equal(await pageName(), 'message');
  assert.equal(await page.locator('html').getAttribute('lang'), flow.lang);
  const body = await page.locator('#body').innerText();
  assert.ok(body.includes(flow.expectText), `message text in ${flow.lang}: ${flow.expectText}`);
  result.emergency = await page.locator('#emergency').innerText();
  await shot('message');

  await page.click(`#reply-${flow.reply}`);
  await page.waitForLoadState();
  assert.equal(await pageName(), 'replied');
  await shot('replied');
  assert.deepEqual(problems, []);
  result.mails = mailsTo(flow.email).length;
  await context.close();
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
