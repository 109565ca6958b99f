/**
 * The web viewer in a real headless Chromium against a real collector on loopback: sign in with
 * a reader token, filter, open an event, and see its inclusion proof verified by the page's own
 * WebCrypto code; an attacker-controlled field is shown as text and never runs. A screenshot is
 * saved by the run (its path is printed).
 *
 * Chromium: `/usr/bin/chromium` (Debian's package; `SEALTRAIL_CHROMIUM` names another), as in
 * read/report-html.test.ts: CI requires it; elsewhere the test is skipped with a message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from './collector.js';
import { createToken } from './tokens.js';

const CHROMIUM = process.env.SEALTRAIL_CHROMIUM ?? '/usr/bin/chromium';
const present = fs.existsSync(CHROMIUM);
const required = process.env.CI !== undefined || process.env.SEALTRAIL_REQUIRE_CHROMIUM === '1';
if (!present && !required) {
  console.warn(`viewer.test: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium); CI requires it`);
}

describe.skipIf(!present && !required)('the web viewer in headless Chromium', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-viewer-'));
  const dir = path.join(tmp, 'audit');
  let collector: Collector;
  let url: string;
  let reader: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!present)
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    reader = createToken(dir, { name: 'auditor', scopes: ['read'] }).token;
    collector = await Collector.open({ dir });
    url = (await collector.listen({ port: 0 })).url;
    collector.trail.emit({ type: 'auth.failure', actor: { id: '<img src=x onerror="window.__pwned=1">' } });
    for (let i = 0; i < 5; i++) {
      collector.trail.emit({
        type: 'tool.call',
        actor: { id: `agent-${i}` },
        action: 'search',
        outcome: 'success',
      });
    }
    collector.trail.emit({ type: 'auth.success', actor: { id: 'alice' } });
    await collector.trail.flush();
    await collector.trail.checkpoint();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('signs in, filters, opens an event and verifies its inclusion proof in the browser', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
    const res = await page.goto(`${url}/`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");

    await page.fill('#token', 'stk_wrong');
    await page.click('#signin-button');
    await expect.poll(() => page.textContent('#signin-error')).toContain('not accepted');

    await page.fill('#token', reader);
    await page.click('#signin-button');
    await page.waitForSelector('#rows tr');
    // Seven events emitted, plus the reads recorded so far (audit.read).
    expect(await page.locator('#rows td', { hasText: /^agent-\d$/ }).count()).toBe(5);
    expect(await page.locator('#rows td', { hasText: /^alice$/ }).count()).toBe(1);
    await expect.poll(() => page.textContent('#integrity')).toMatch(/^trail verified: \d+ entries$/);

    // The hostile actor id is text in a cell, and its handler never ran.
    expect(await page.locator('#rows td', { hasText: '<img src=x' }).count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();

    await page.fill('input[name=type]', 'tool.call');
    await page.click('#apply');
    await expect.poll(() => page.locator('#rows tr').count()).toBe(5);

    await page.locator('#rows tr').first().click();
    await page.waitForSelector('#detail:not([hidden])');
    expect(await page.textContent('#detail-json')).toContain('"type": "tool.call"');
    await page.click('#verify');
    await expect
      .poll(() => page.textContent('#proof'))
      .toMatch(/^inclusion verified in this browser: entry \d+ of \d+/);
    expect(await page.getAttribute('#proof', 'class')).toBe('ok');

    const shot = path.join(os.tmpdir(), 'sealtrail-viewer.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.readFileSync(shot).subarray(1, 4).toString('latin1')).toBe('PNG');
    console.log(`viewer.test: screenshot at ${shot}`);
    await page.close();
  });

  it('says "not verified" when the proof does not lead to the checkpoint root', async () => {
    const page = await browser.newPage();
    // The real API with one proof hash flipped on its way to the page.
    await page.route('**/v1/proof/inclusion*', async (route) => {
      const res = await route.fetch();
      const proof = (await res.json()) as { hashes: string[] };
      const h = Buffer.from(proof.hashes[0]!, 'base64');
      h[0]! ^= 1;
      proof.hashes[0] = h.toString('base64');
      await route.fulfill({ response: res, json: proof });
    });
    await page.goto(`${url}/`);
    await page.fill('#token', reader);
    await page.click('#signin-button');
    await page.waitForSelector('#rows tr');
    // An entry covered by the checkpoint (the reads recorded since are not yet).
    await page.fill('input[name=type]', 'tool.call');
    await page.click('#apply');
    await expect.poll(() => page.locator('#rows tr').count()).toBe(5);
    await page.locator('#rows tr').first().click();
    await page.waitForSelector('#detail:not([hidden])');
    await page.click('#verify');
    await expect
      .poll(() => page.textContent('#proof'))
      .toBe('not verified: proof does not lead to the checkpoint root');
    await page.close();
  });
});
