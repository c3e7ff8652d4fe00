// Opens a ringside report in headless Chromium (Debian's, driven by playwright-core from the test
// peers' node_modules) and prints, as one JSON line, what a person would see: the endpoint table,
// the waterfall after clicking an endpoint, the flame graph's frames, and the first-view time.
//   node report_browser.js PEERS_DIR REPORT.html SHOT_PREFIX [--endpoint A|B|C] [--loads N]
'use strict';
const path = require('path');

const [peers, report, shot, ...rest] = process.argv.slice(2);
if (!peers || !report || !shot) {
  console.error('usage: report_browser.js PEERS_DIR REPORT.html SHOT_PREFIX [--endpoint A|B] [--loads N]');
  process.exit(2);
}
const opt = { endpoint: null, loads: 1 };
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] === '--endpoint') opt.endpoint = rest[i + 1].split('|');
  else if (rest[i] === '--loads') opt.loads = +rest[i + 1];
  else { console.error('unknown option ' + rest[i]); process.exit(2); }
}
const { chromium } = require(path.resolve(peers, 'node_modules', 'playwright-core'));

// The first view's time, as the page measures it: performance.now() (from navigation start)
// once the first view has been rendered and painted.
async function load(page) {
  await page.goto('file://' + path.resolve(report), { waitUntil: 'load', timeout: 60000 });
  await page.waitForFunction(() => window.RS_FIRST_VIEW_MS !== undefined, null, { timeout: 60000 });
  return page.evaluate(() => window.RS_FIRST_VIEW_MS);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // --no-sandbox: Chromium refuses to run as root with its sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const out = { firstViewMs: [] };
  try {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const requests = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    for (let k = 0; k < opt.loads; k++) out.firstViewMs.push(await load(page));
    out.firstView = await page.evaluate(() => ({
      traceRows: document.querySelectorAll('#trace-list .trow').length,
      waterfallRows: document.querySelectorAll('#waterfall .wrow').length,
      endpointRows: document.querySelectorAll('#endpoints tbody tr').length,
    }));
    out.endpoints = await page.$$eval('#endpoints tbody tr', (trs) => trs.map((tr) =>
      [...tr.children].map((td) => td.textContent)));
    await page.screenshot({ path: shot + '-first.png', fullPage: true });
    if (opt.endpoint) {
      const idx = out.endpoints.findIndex((cells) => opt.endpoint.every((p, k) => cells[k] === p));
      out.clicked = idx;
      if (idx >= 0) {
        await page.click('#endpoints tbody tr[data-ep="' + idx + '"]');
        out.waterfall = await page.$$eval('#waterfall .wrow', (rows) => rows
          .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
          .map((r) => ({
            name: r.querySelector('.wlabel').childNodes[2].textContent,
            svc: r.querySelector('.wlabel .svc').textContent,
            depth: +r.dataset.depth,
            kind: +r.dataset.kind,
            selected: r.classList.contains('on'),
            barLeft: parseFloat(r.querySelector('.bar').style.left),
          })));
        out.listedTraces = await page.$$eval('#trace-list .trow', (rows) => rows.length);
        out.detail = await page.$eval('#span-detail', (d) => d.textContent);
        await page.screenshot({ path: shot + '-endpoint.png', fullPage: true });
        // The selected span's own samples, CPU then wait, from the span's detail.
        await page.click('#span-detail button:has-text("CPU flame graph of this span")');
        out.spanFlame = {};
        for (const type of ['cpu', 'wait']) {
          await page.selectOption('#flame-type', type);
          out.spanFlame[type] = await page.$eval('#profiles h2 .sub', (e) => e.textContent);
          out.spanFlame[type + 'Titles'] = await page.$$eval('#flame svg rect title', (ts) => ts.map((t) => t.textContent.split(' — ')[0]));
        }
        await page.click('#tab-traces');
      }
    }
    await page.click('#tab-profiles');
    await page.selectOption('#flame-scope', 'all');
    out.flame = {};
    for (const type of ['cpu', 'wait']) {
      await page.selectOption('#flame-type', type);
      out.flame[type] = await page.$$eval('#flame svg text', (ts) => ts.map((t) => t.textContent));
      out.flame[type + 'Rects'] = await page.$$eval('#flame svg rect', (rs) => rs.length);
      out.flame[type + 'Titles'] = await page.$$eval('#flame svg rect title', (ts) => ts.map((t) => t.textContent.split(' — ')[0]));
    }
    await page.selectOption('#flame-type', 'cpu');
    await page.screenshot({ path: shot + '-flame.png', fullPage: true });
    out.pageErrors = errors;
    out.networkRequests = requests;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { console.error('report_browser: ' + (e && e.stack || e)); process.exit(1); });
