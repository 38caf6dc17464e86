// Debian's Chromium driven by playwright-core, shared by the browser
// tests: one page that records console errors, and check(), which saves a
// screenshot and fails on serious or critical axe-core violations or on any
// console error since the last check.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * openBrowser starts Chromium with one 1280×860 page. allowed(text, url)
 * may excuse a console error the test expects (an HTTP status it provokes).
 */
export async function openBrowser({ shots, timeout = 15_000, allowed = () => false }) {
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(timeout);
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' || allowed(m.text(), m.location()?.url ?? '')) return;
    consoleErrors.push(`${page.url()}: ${m.text()} (${m.location()?.url ?? ''})`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: uncaught ${e.message}`));
  /** check screenshots the page and fails on serious or critical axe violations and console errors. */
  const check = async (name) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    await page.evaluate(axeSource);
    const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [], `axe on ${name}`);
    const errs = consoleErrors.splice(0);
    assert.deepEqual(errs, [], `console errors by ${name}`);
  };
  return { browser, page, check };
}
