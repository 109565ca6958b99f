/**
 * The HTML report in a real headless Chromium: the page loads from one file with no other
 * request, a screenshot is taken, and every number in the DOM equals the JSON report.
 *
 * Chromium: `/usr/bin/chromium` (Debian's package; `SEALTRAIL_CHROMIUM` names another). CI
 * installs it (.ci/run) and this test fails there if it is missing. On a developer machine without
 * it the test is skipped with a message saying how to install it, unless
 * SEALTRAIL_REQUIRE_CHROMIUM=1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-support/fixtures.js';
import { HOUR, T0, writeReportTrail } from '../test-support/read-fixtures.js';
import { buildReport, type ComplianceReport } from './report.js';
import { renderReportHtml } from './report-html.js';

const CHROMIUM = process.env.SEALTRAIL_CHROMIUM ?? '/usr/bin/chromium';
const present = fs.existsSync(CHROMIUM);
const required = process.env.CI !== undefined || process.env.SEALTRAIL_REQUIRE_CHROMIUM === '1';
if (!present && !required) {
  console.warn(
    `report-html.test: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SEALTRAIL_CHROMIUM); CI requires it`,
  );
}

describe.skipIf(!present && !required)('the HTML report in headless Chromium', () => {
  let root: string;
  let report: ComplianceReport;
  let file: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!present)
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    root = tempDir();
    const dir = path.join(root, 'trail');
    await writeReportTrail(dir);
    report = await buildReport(
      dir,
      { from: new Date(T0), to: new Date(T0 + 72 * HOUR) },
      { now: T0 + 80 * HOUR },
    );
    file = path.join(root, 'report.html');
    fs.writeFileSync(file, renderReportHtml(report));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
  });

  it('loads from the one file, with no other request, and renders its charts', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    expect(requests).toEqual([`file://${file}`]);
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(10);
    expect(await page.title()).toContain(report.origin);
    const shot = path.join(root, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = fs.readFileSync(shot);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    await page.close();
  });

  it('shows the same numbers as the JSON report, each one', async () => {
    const page = await browser.newPage();
    await page.goto(`file://${file}`);
    const metrics = await page.$$eval('[data-metric]', (els) =>
      els.map((e) => ({ path: e.getAttribute('data-metric') ?? '', text: e.textContent ?? '' })),
    );
    expect(metrics.length).toBeGreaterThan(60);
    const paths = new Set<string>();
    for (const m of metrics) {
      let v: unknown = report;
      for (const k of JSON.parse(m.path) as Array<string | number>)
        v = (v as Record<string | number, unknown>)[k];
      expect(typeof v, m.path).toBe('number');
      expect(Number(m.text.replace(/,/g, '')), m.path).toBe(v);
      paths.add(m.path);
    }
    for (const p of [
      '["totals","entries"]',
      '["guardrails","blocks"]',
      '["authFailures","count"]',
      '["erasures","events"]',
      '["keyRotations","count"]',
      '["integrity","verify","entries"]',
      '["gaps","droppedEvents"]',
    ]) {
      expect(paths.has(p), p).toBe(true);
    }
    await page.close();
  });

  it('shows a hostile actor id as text, never as markup or reordered text', async () => {
    const page = await browser.newPage();
    await page.goto(`file://${file}`);
    expect(await page.locator('img').count()).toBe(0);
    const body = (await page.textContent('body')) ?? '';
    expect(body).toContain('<img src=x onerror=alert(1)>\\u{202e}|');
    expect(body).not.toContain('\u202e');
    await page.close();
  });
});
