// check.js - drives the /ui/ dashboard in Debian's chromium (puppeteer-core) against
// the stack tests/integration/test_ui.sh started, and prints one "ok - ..." or
// "not ok - ... (why)" line per check for the shell test to count.
//
// Arguments: a file that does not exist yet, and a directory for the browser's profile. The browser starts at once (seconds on a
// loaded machine), meanwhile the test starts its stack; then it writes the file, a JSON
// object: url, admin (a read,write,admin token), reader (a read token), dead (a dead
// timer whose receiver answers ok next time), shots (where the screenshots go).
// CHROMIUM (default /usr/bin/chromium) names the browser.
'use strict';
const fs = require('fs');
const puppeteer = require('puppeteer-core');

let base, admin, reader, deadKey, shots;

// waitForParams(file): polls for the test's file (written with a rename, so it is
// whole when it appears), at most 120 s.
async function waitForParams(file) {
  const deadline = Date.now() + 120000;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no ${file} after 120 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  ({ url: base, admin, reader, dead: deadKey, shots } = JSON.parse(fs.readFileSync(file, 'utf8')));
}

let failed = 0;
function ok(desc) { console.log('ok - ' + desc); }
function notOk(desc, why) { failed++; console.log(`not ok - ${desc} (${String(why).replace(/\s+/g, ' ')})`); }
function checkEq(desc, want, got) {
  if (JSON.stringify(want) === JSON.stringify(got)) ok(desc);
  else notOk(desc, `want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

// The API itself, with the admin token: what the page must agree with.
async function api(method, path) {
  const res = await fetch(base + path, { method, headers: { Authorization: 'Bearer ' + admin } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// step(desc, fn): fn throws (a timeout, a failed expectation) -> not ok, and stop.
// What the page said, for a failure's message.
let current = null;
async function pageSays() {
  if (!current) return '';
  return current.evaluate(() => ` message: "${document.getElementById('message').textContent}"` +
    ` banner: "${document.getElementById('auth-error').textContent}"` +
    ` rows: ${[...document.querySelectorAll('#timer-list tbody tr')].map((r) => r.dataset.key || r.textContent).join(' ').slice(0, 300)}`)
    .catch(() => '');
}

async function step(desc, fn) {
  try {
    await fn();
    ok(desc);
  } catch (e) {
    notOk(desc, e.message + (await pageSays()));
    throw e;
  }
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const num = async (page, sel) => Number((await text(page, sel)).replace(/,/g, ''));
const rowKeys = (page) => page.$$eval('#timer-list tbody tr[data-key]', (rs) => rs.map((r) => r.dataset.key));
// Generous: the machine running the tests may be loaded (a wait ends when true).
const T = { timeout: 15000 };

async function main() {
  // Stopped (the test failed before the stack was ready) or stuck past the watchdog:
  // the browser goes with us, at once, also when it is still starting.
  let browser = null;
  let stopping = false;
  const quit = (code) => {
    browser?.process()?.kill('SIGKILL');
    process.exit(code);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => {
      stopping = true;
      if (browser) quit(143);
    });
  }
  setTimeout(() => {
    notOk('the browser session ends within 150 s', 'watchdog');
    quit(1);
  }, 150000).unref();
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Chromium's sandbox needs user namespaces, which a container running as root
    // usually lacks; the page loaded is our own, from loopback.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions'],
    // The profile in the test's temp dir (argv[3]): removed with it, whatever happens.
    userDataDir: process.argv[3],
    // Ours instead (above): the test stops us with SIGTERM when it fails early.
    handleSIGTERM: false,
    handleSIGINT: false,
    handleSIGHUP: false,
  });
  if (stopping) quit(143);
  const problems = [];
  try {
    const page = await browser.newPage();
    await waitForParams(process.argv[2]);
    current = page;
    // The screenshots' size (docs/img/ui-*.png, kept under 150 KB).
    await page.setViewport({ width: 1100, height: 760 });
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push('console: ' + m.text());
    });

    await step('the page loads (/ui/)', async () => {
      const res = await page.goto(base + '/ui/', { waitUntil: 'load' });
      if (res.status() !== 200) throw new Error('HTTP ' + res.status());
    });
    await step('without a token: the 401 message shows', () =>
      page.waitForFunction(() => {
        const b = document.getElementById('auth-error');
        return !b.hidden && b.textContent.startsWith('401');
      }, T));

    // --- a read-only token: the numbers --------------------------------------------
    await page.type('#token', reader);
    await page.click('#token-save');
    await step('with the read token: counts shown, the 401 message gone', () =>
      page.waitForFunction(() => document.getElementById('auth-error').hidden &&
        document.getElementById('n-pending').textContent !== '–' &&
        document.querySelectorAll('#timer-list tr[data-key]').length > 0, T));
    const stats = (await api('GET', '/v1/stats')).body;
    for (const k of ['pending', 'in_flight', 'dead']) checkEq(`shown ${k} = the API's (${stats[k]})`, stats[k], await num(page, '#n-' + k));
    for (const k of ['created', 'delivered', 'failed', 'dead', 'cancelled']) {
      checkEq(`shown total ${k} = the API's (${stats.totals[k]})`, stats.totals[k], await num(page, '#total-' + k));
    }
    checkEq('shown state: running', 'running', await text(page, '#run-state'));
    const latCount = await page.$$eval('#lateness-chart rect.bar', (r) => r.length);
    checkEq('lateness chart: 13 bars (12 bounds and +Inf)', 13, latCount);
    const metrics = await (await fetch(base + '/metrics', { headers: { Authorization: 'Bearer ' + admin } })).text();
    const deliveries = Number(/^timerush_delivery_lateness_seconds_count (\d+)/m.exec(metrics)[1]);
    const summary = await text(page, '#lateness-summary');
    checkEq(`lateness summary counts the /metrics deliveries (${deliveries})`, String(deliveries),
      summary.split(' ')[0].replace(/,/g, ''));

    const p1 = (await api('GET', '/v1/timers?state=pending&limit=50')).body;
    checkEq('pending page 1: the API\'s 50 keys, in order', p1.timers.map((t) => t.key), await rowKeys(page));
    await page.click('#page-next');
    const p2 = (await api('GET', '/v1/timers?state=pending&limit=50&cursor=' + encodeURIComponent(p1.next_cursor))).body;
    await page.waitForFunction(() => document.getElementById('page-info').textContent.startsWith('page 2'), T)
      .catch(() => {});
    checkEq(`pending page 2 (Next): the API's next ${p2.timers.length} keys`, p2.timers.map((t) => t.key), await rowKeys(page));
    await page.click('#page-prev');
    await page.waitForFunction(() => document.getElementById('page-info').textContent.startsWith('page 1'), T)
      .catch(() => {});
    checkEq('Previous: page 1 again', p1.timers.map((t) => t.key), await rowKeys(page));

    await page.click('#pause-btn');
    await step('pause with the read token: the 403 message names the scope', () =>
      page.waitForFunction(() => {
        const b = document.getElementById('auth-error');
        return !b.hidden && b.textContent.startsWith('403') && b.textContent.includes('admin');
      }, T));
    checkEq('... and nothing is paused', false, (await api('GET', '/v1/stats')).body.paused);

    // --- the operator's token: details and actions -----------------------------------
    await page.click('#token-forget');
    await page.type('#token', admin);
    await page.click('#token-save');
    await step('with the admin token: the 403 message gone', () =>
      page.waitForFunction(() => document.getElementById('auth-error').hidden, T));
    if (shots) await page.screenshot({ path: shots + '/dashboard.png' });

    const first = p1.timers[0];
    await page.click(`#timer-list tr[data-key="${first.key}"]`);
    await step(`details of ${first.key} open`, () =>
      page.waitForFunction((k) => !document.getElementById('details').hidden &&
        document.getElementById('d-key').textContent === k, T, first.key));
    checkEq('details: state', 'pending', await text(page, '#d-state'));
    checkEq('details: url = the API\'s', first.url, await text(page, '#d-url'));
    checkEq('details: data = the API\'s', first.data, await text(page, '#d-data'));
    if (shots) {
      const d = await page.$('#details');
      await d.scrollIntoView();
      await page.screenshot({ path: shots + '/details.png' });
    }

    // Reschedule to an hour ahead.
    await page.$eval('#d-seconds', (e) => { e.value = '3600'; });
    const before = Date.now();
    await page.click('#d-reschedule');
    await step('reschedule: the page says so', () =>
      page.waitForFunction((k) => document.getElementById('message').textContent.startsWith(k + ' rescheduled'), T, first.key));
    const r = (await api('GET', '/v1/timers/' + first.key)).body.timer;
    const ahead = r.due_ms - before;
    if (ahead > 3590000 && ahead < 3610000) ok(`... and the API has it due in an hour (${ahead} ms)`);
    else notOk('... and the API has it due in an hour', `due_ms - now = ${ahead}`);

    // Cancel (two clicks) the timer now first in the list.
    const victim = p1.timers[1].key;
    await page.click(`#timer-list tr[data-key="${victim}"]`);
    await page.waitForFunction((k) => document.getElementById('d-key').textContent === k, T, victim);
    await page.click('#d-cancel');
    checkEq('cancel asks for a second click', 'Click again to confirm', await text(page, '#d-cancel'));
    checkEq('... and has not cancelled yet', 200, (await api('GET', '/v1/timers/' + victim)).status);
    await page.click('#d-cancel');
    await step('cancel: the page says so', () =>
      page.waitForFunction((k) => document.getElementById('message').textContent.startsWith(k + ' removed'), T, victim));
    checkEq('... and the API no longer has it (404)', 404, (await api('GET', '/v1/timers/' + victim)).status);

    // --- pause, replay while paused, resume ----------------------------------------------
    // Paused first: the replayed timer then stays pending until resume (as
    // test_api_admin.sh does; a replay's answer is read after the replay, and a
    // scheduler may deliver the timer in between: see docs/DASHBOARD.md).
    await page.click('#pause-btn');
    await step('pause: the page shows paused', () =>
      page.waitForFunction(() => document.getElementById('run-state').textContent === 'paused' &&
        document.getElementById('pause-btn').textContent.startsWith('Resume'), T));
    checkEq('... and /v1/stats says paused', true, (await api('GET', '/v1/stats')).body.paused);
    if (shots) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: shots + '/paused.png', clip: { x: 0, y: 0, width: 1100, height: 260 } });
    }

    await page.click('#tab-dead');
    await step('dead tab lists the dead timer', () =>
      page.waitForSelector(`#timer-list tr[data-key="${deadKey}"]`, T));
    await page.click(`#timer-list tr[data-key="${deadKey}"]`);
    await step('its details: state dead, Replay offered', () =>
      page.waitForFunction(() => document.getElementById('d-state')?.textContent === 'dead' &&
        !document.getElementById('d-replay').hidden, T));
    if (shots) {
      await page.$eval('#details', (e) => e.scrollIntoView());
      await page.screenshot({ path: shots + '/dead.png' });
    }
    await page.click('#d-replay');
    await step('replay: the timer leaves the dead list on the page', () =>
      page.waitForFunction((k) => !document.querySelector(`#timer-list tr[data-key="${k}"]`) &&
        document.getElementById('message').textContent.startsWith(k + ' replayed'), T, deadKey));
    const dead = (await api('GET', '/v1/timers?state=dead&limit=1000')).body.timers.map((t) => t.key);
    checkEq('... and from the API\'s dead list', false, dead.includes(deadKey));
    checkEq('... the API has it pending (paused)', 'pending', (await api('GET', '/v1/timers/' + deadKey)).body?.timer?.state);

    await page.click('#pause-btn');
    await step('resume: the page shows running', () =>
      page.waitForFunction(() => document.getElementById('run-state').textContent === 'running', T));
    checkEq('... and /v1/stats says not paused', false, (await api('GET', '/v1/stats')).body.paused);

    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = (await api('GET', '/v1/timers/' + deadKey)).status === 404;
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    checkEq('... and the replayed timer is delivered (the API: 404)', true, gone);

    checkEq('no page error and no CSP violation', [], problems);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  notOk('the browser session ran to the end', e.message);
}).finally(() => {
  process.exitCode = failed ? 1 : 0;
});
