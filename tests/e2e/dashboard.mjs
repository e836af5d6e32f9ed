// End-to-end run of the coordinator dashboard in Debian's headless Chromium, driven by playwright-core.
//
//   node tests/e2e/dashboard.mjs --base http://127.0.0.1:PORT --out DIR [--indicators] [--pathways] [--oidc]
//
// Started by tests/e2e/test_e2e_dashboard.py (which serves the gateway with the demo territory). It logs in, reads
// today's capacity, filters by profession, opens an indicator chart (--indicators: the endpoints must answer; without
// it their "not available" state must be shown), the pathways panel likewise, and with --oidc logs in a second time
// through the OpenID Connect provider (authorization code with PKCE). It saves a screenshot of each page, the text of
// each page and the body of every response from the gateway under DIR, and prints one JSON summary on stdout; the
// Python test checks the summary and searches the texts and bodies for patient names. Any failed step exits 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import process from 'node:process';

import { chromium } from 'playwright-core';

function options() {
  const args = process.argv.slice(2);
  const value = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const base = value('--base');
  const out = value('--out');
  if (!base || !out) {
    process.stderr.write('usage: dashboard.mjs --base URL --out DIR [--indicators] [--pathways] [--oidc]\n');
    process.exit(2);
  }
  return { base, out, indicators: args.includes('--indicators'), pathways: args.includes('--pathways'), oidc: args.includes('--oidc') };
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

const WAIT = 30000; // ms: the machine running the tests may be busy (2 cores, several test runs)

class Step extends Error {}
function check(condition, message) { if (!condition) throw new Step(message); }

async function main() {
  const opts = options();
  fs.mkdirSync(path.join(opts.out, 'network'), { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CPTS_CHROMIUM || '/usr/bin/chromium', args: FLAGS });
  const summary = { screenshots: [], texts: [], responses: 0 };
  try {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    const origin = new URL(opts.base).origin;
    let counter = 0;
    page.on('response', async (response) => {
      if (!response.url().startsWith(origin)) return;
      counter += 1;
      const name = `${String(counter).padStart(3, '0')}.txt`;
      try {
        const body = await response.text();
        fs.writeFileSync(path.join(opts.out, 'network', name), `${response.status()} ${response.url()}\n\n${body}`);
        summary.responses += 1;
      } catch (_) { /* a redirect has no body */ }
    });
    const shot = async (name) => {
      const file = path.join(opts.out, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      fs.writeFileSync(path.join(opts.out, `${name}.txt`), await page.evaluate(() => document.documentElement.outerHTML + '\n' + document.body.innerText));
      summary.screenshots.push(file);
      summary.texts.push(`${name}.txt`);
    };

    // 1. not logged in: the login page, in French, keyboard first (the skip link is the first stop)
    await page.goto(`${opts.base}/dashboard`);
    await page.locator('#login').waitFor({ state: 'visible' });
    check(await page.evaluate(() => document.documentElement.lang) === 'fr', 'the page is not in French by default');
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement && document.activeElement.classList.contains('skip')), 'Tab does not reach the skip link first');
    await shot('01-login');

    // 2. the development login, by keyboard: focus the button and press Enter
    await page.locator('#login-dev button').focus();
    await Promise.all([page.waitForURL(`${opts.base}/dashboard`), page.keyboard.press('Enter')]);
    await page.locator('body[data-ready="capacity"]').waitFor({ timeout: WAIT });

    // 3. first render, measured on a fresh load of the logged-in page (navigation start -> capacity grid drawn)
    await page.goto(`${opts.base}/dashboard`);
    await page.locator('body[data-ready="capacity"]').waitFor({ timeout: WAIT });
    summary.firstRenderMs = Math.round(await page.evaluate(() => window.cptsFirstRender));
    summary.who = await page.locator('#who').innerText();

    // 4. today's capacity for the demo territory
    const rows = page.locator('#grid tbody tr');
    summary.centres = await rows.count();
    check(summary.centres > 0, 'the capacity grid has no centre');
    const totals = await page.locator('#grid tbody tr td:last-child').allInnerTexts();
    summary.freeSlots = totals.reduce((sum, text) => sum + Number(text), 0);
    check(summary.freeSlots > 0, 'no free SNP slot in the next 72 h');
    const headers = await page.locator('#grid thead th').allInnerTexts();
    summary.columns = headers.length - 3;
    summary.stale = await page.locator('#grid tr.is-stale').count();
    await shot('02-capacity');

    // 5. filter by profession: the first profession offered; every remaining first slot is of that profession
    const professions = await page.locator('#f-profession option').evaluateAll((os) => os.filter((o) => o.value).map((o) => [o.value, o.textContent]));
    check(professions.length > 1, 'fewer than two professions to filter on');
    const [code, label] = professions.find(([, text]) => /infirmi/i.test(text)) || professions[0];
    await page.locator('#f-profession').selectOption(code);
    const filteredTotals = await page.locator('#grid tbody tr td:last-child').allInnerTexts();
    summary.filter = { profession: label, centres: filteredTotals.length, freeSlots: filteredTotals.reduce((s, t) => s + Number(t), 0) };
    check(summary.filter.freeSlots > 0 && summary.filter.freeSlots < summary.freeSlots, `filtering on ${label} did not narrow the slots`);
    const firsts = await page.locator('#grid tbody tr td:nth-child(2) .small').allInnerTexts();
    check(firsts.every((text) => text.includes(label)), `a first free slot is not of profession ${label}`);
    await shot('03-capacity-filtered');
    await page.locator('#f-profession').selectOption('');

    // 6. indicators: a chart of the monthly series, the definition one click away (or the "not available" state)
    await page.locator('#sections a[href="#indicateurs"]').click();
    await page.locator('#indicateurs').waitFor({ state: 'visible' });
    if (opts.indicators) {
      const first = page.locator('#indicator-list button').first();
      await first.waitFor({ timeout: WAIT });
      summary.indicator = await first.innerText();
      await first.click();
      await page.locator('#indicator-view figure.chart svg').first().waitFor({ timeout: WAIT });
      await page.locator('#definition summary').click();
      check(await page.locator('#definition').evaluate((d) => d.open), 'the definition does not open');
      summary.charts = await page.locator('#indicator-view figure.chart').count();
      summary.maskedCells = await page.locator('#indicator-view [data-masked]').count();
    } else {
      await page.locator('#indicator-view [data-state="unavailable"]').waitFor({ timeout: WAIT });
      summary.indicator = 'not available (404)';
    }
    await shot('04-indicators');

    // 7. pathways: counts per protocol and per status, overdue highlighted (or the "not available" state)
    await page.locator('#sections a[href="#parcours"]').click();
    if (opts.pathways) {
      await page.locator('#referrals').waitFor({ timeout: WAIT });
      summary.overdue = await page.locator('#overdue').innerText();
    } else {
      await page.locator('#pathways-view [data-state="unavailable"]').waitFor({ timeout: WAIT });
      summary.pathways = 'not available (404)';
    }
    await shot('05-pathways');

    // 8. the English toggle, then back to the capacity page for the README's screenshot
    await page.locator('#lang').click();
    check(await page.evaluate(() => document.documentElement.lang) === 'en', 'the English toggle does not switch the page');
    await page.locator('#lang').click();
    await page.locator('#sections a[href="#capacite"]').click();
    await page.locator('#grid').waitFor();
    await shot('06-dashboard');

    // 9. log out: the login page again, and the API refuses the browser
    await Promise.all([page.waitForURL(`${opts.base}/dashboard`), page.locator('#logout button').click()]);
    await page.locator('#login').waitFor({ state: 'visible' });
    const after = await page.evaluate(async () => (await fetch('/fhir/Slot/$capacity')).status);
    check(after === 401, `after logging out the API answered ${after}, not 401`);
    await context.close();

    // 10. the OpenID Connect login (authorization code with PKCE) through the test provider's login form
    if (opts.oidc) {
      const second = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'fr-FR' });
      second.setDefaultTimeout(WAIT);
      const oidcPage = await second.newPage();
      await oidcPage.goto(`${opts.base}/dashboard`);
      await oidcPage.locator('#login-oidc a').click();
      await oidcPage.locator('input[name="login"]').fill('coordinatrice.oidc');
      await oidcPage.locator('input[name="password"]').fill('any');
      await oidcPage.locator('button[type="submit"]').click();
      // the provider may ask to confirm the grant (its consent form) before it sends the browser back
      const deadline = Date.now() + WAIT;
      while (!oidcPage.url().startsWith(opts.base) && Date.now() < deadline) {
        const confirm = oidcPage.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]');
        if (await confirm.count()) await confirm.click().catch(() => {});
        else await oidcPage.waitForTimeout(200);
      }
      await oidcPage.locator('body[data-ready="capacity"]').waitFor({ timeout: WAIT });
      summary.oidcWho = await oidcPage.locator('#who').innerText();
      check(summary.oidcWho.includes('coordinatrice.oidc'), `after the OIDC login the page says '${summary.oidcWho}'`);
      await oidcPage.screenshot({ path: path.join(opts.out, '07-oidc-login.png'), fullPage: true });
      await second.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Step ? 'e2e step failed' : 'e2e error'}: ${error.message}\n`);
  process.exit(1);
});
