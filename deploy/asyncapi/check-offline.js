// Opens a rendered AsyncAPI page in the machine's Chromium and lists every request it makes.
// Prints JSON: {"outside": [urls that are not file:, data:, blob: or about:], "errors": [script
// errors], "rendered": bool}, and exits 1 unless the page rendered alone and without errors.
// Usage: node check-offline.js PAGE.html CHROMIUM_PATH
const path = require('path');
const puppeteer = require('puppeteer');

(async () => {
  const [page, chromium] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const outside = [];
  const errors = [];
  try {
    const tab = await browser.newPage();
    tab.on('pageerror', (err) => errors.push(String(err)));
    await tab.setRequestInterception(true);
    tab.on('request', (req) => {
      const url = req.url();
      if (/^(file|data|blob|about):/.test(url)) {
        req.continue();
      } else {
        // Refused, as on a closed network: the page must not need it.
        outside.push(url);
        req.abort();
      }
    });
    await tab.goto('file://' + path.resolve(page), { waitUntil: 'networkidle0', timeout: 120000 });
    // The page renders the document with its inlined script: wait for a channel to appear.
    const rendered = await tab
      .waitForFunction(() => document.body.innerText.includes('mpe.catalog.technology'), { timeout: 60000 })
      .then(() => true, () => false);
    console.log(JSON.stringify({ outside, errors, rendered }));
    process.exitCode = outside.length || errors.length || !rendered ? 1 : 0;
  } finally {
    await browser.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
