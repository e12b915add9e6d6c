// bench.js - loads the /ui/ dashboard in Debian's chromium against a stack holding
// many timers (bench/ui_million.sh) and prints, per page load: the time until
// the counts and the first list page are shown, every request the page made (from
// Resource Timing: path, duration, bytes), the page's JS heap; then the time of
// Next-page clicks. One line per load, one per request, one per click. The token is put in sessionStorage before the page runs, as for
// an operator who typed it earlier in that tab.
//
// Environment: TR_URL, TR_ADMIN_TOKEN, TR_LOADS (default 3), TR_NEXTS (default 5),
// CHROMIUM (default /usr/bin/chromium).
'use strict';
const puppeteer = require('puppeteer-core');

const base = process.env.TR_URL;
const token = process.env.TR_ADMIN_TOKEN;
const loads = Number(process.env.TR_LOADS || 3);
const nexts = Number(process.env.TR_NEXTS || 5);

// shown(): true once the counts and a first page of rows are on the page.
const shown = () => document.getElementById('n-pending').textContent !== '–' &&
  document.querySelectorAll('#timer-list tr[data-key]').length > 0;

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // As in check.js: no user namespaces for Chromium's sandbox in a root container.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions'],
  });
  const out = { loads: [], nexts: [] };
  try {
    for (let i = 0; i < loads; i++) {
      const ctx = await browser.createBrowserContext(); // a fresh cache each time
      const page = await ctx.newPage();
      await page.setViewport({ width: 1100, height: 760 });
      await page.evaluateOnNewDocument((t) => sessionStorage.setItem('timerush.token', t), token);
      await page.goto(base + '/ui/', { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(shown, { polling: 'mutation', timeout: 60000 });
      const r = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        return {
          shown_ms: performance.now(),
          dom_content_loaded_ms: nav.domContentLoadedEventEnd,
          requests: performance.getEntriesByType('resource').map((e) => ({
            path: e.name.replace(location.origin, ''), ms: +e.duration.toFixed(1),
            bytes: e.transferSize || e.encodedBodySize,
          })),
          shown: document.getElementById('n-pending').textContent,
          rows: document.querySelectorAll('#timer-list tr[data-key]').length,
        };
      });
      r.shown_ms = +r.shown_ms.toFixed(1);
      r.dom_content_loaded_ms = +r.dom_content_loaded_ms.toFixed(1);
      r.js_heap_used_bytes = (await page.metrics()).JSHeapUsedSize;
      out.loads.push(r);
      if (i === loads - 1) {
        for (let n = 0; n < nexts; n++) {
          const before = await page.$eval('#page-info', (e) => e.textContent);
          const t0 = Date.now();
          await page.click('#page-next');
          await page.waitForFunction((b) => document.getElementById('page-info').textContent !== b,
            { polling: 'mutation', timeout: 30000 }, before);
          out.nexts.push({ page: n + 2, ms: Date.now() - t0 });
        }
        out.page_info = await page.$eval('#page-info', (e) => e.textContent);
      }
      await ctx.close();
    }
  } finally {
    await browser.close();
  }
  out.loads.forEach((r, i) => {
    console.log(`load ${i + 1}: shown in ${r.shown_ms} ms (DOMContentLoaded ${r.dom_content_loaded_ms} ms), ` +
      `pending shown ${r.shown}, ${r.rows} rows, JS heap ${(r.js_heap_used_bytes / 1e6).toFixed(1)} MB, ` +
      `${r.requests.length} requests:`);
    for (const q of r.requests) console.log(`    ${q.path}  ${q.ms} ms  ${q.bytes} B`);
  });
  for (const n of out.nexts) console.log(`Next to page ${n.page}: ${n.ms} ms`);
  if (out.page_info) console.log(`last page shown: ${out.page_info}`);
}

main().catch((e) => {
  console.error('bench.js: ' + e.message);
  process.exitCode = 1;
});
