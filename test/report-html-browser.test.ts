/**
 * report.html in a real browser: Debian's Chromium driven by playwright-core. The report
 * comes from the real CLI run over hostile values; the page must show them as text, run
 * no script but its own, show the counts of summary.json, search and page.
 *
 * Chromium missing is a failure, never a skip: `.ci/run` installs it (apt-get install
 * -y chromium), and a skipped browser test would hide exactly what it is here to catch.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, runCli, tempDir, readSummary, assertInvariant, type SummaryJson } from './helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const IMG = '<img src=x onerror=alert(1)>';
const CLOSE = '</script><script>alert(1)</script>';
/** Enough failing rows for three pages of 50. */
const FILLER = 120;

/** The hostile fixture, then filler rows that fail on their email (so the pager has pages). */
function hostileInput(dir: string): string {
  const base = readFileSync(join(ROOT, 'test', 'fixtures', 'csv', 'hostile-report-values.csv'), 'utf8');
  let filler = '';
  for (let i = 1; i <= FILLER; i++) {
    const k = String(i).padStart(3, '0');
    filler += `Filler ${k},Filler Co,,,filler${k}@,maria@ourco.example,US,,2024-02-01\n`;
  }
  const path = join(dir, 'hostile-report-values.csv');
  writeFileSync(path, base + filler);
  return path;
}

const num = (s: string | null) => Number((s ?? '').replace(/,/g, ''));

/**
 * Waits until the element's text contains `text` (or equals it). A function, not a string:
 * the report's CSP forbids eval, and Playwright evaluates string predicates with eval.
 */
async function waitForText(page: Page, id: string, text: string, exact = false) {
  await page.waitForFunction(([i, t, e]) => {
    const el = (globalThis as unknown as { document: { getElementById(x: string): { textContent: string | null } | null } }).document.getElementById(i as string);
    const got = el?.textContent ?? '';
    return e ? got === t : got.includes(t as string);
  }, [id, text, exact] as const, { timeout: 10_000 });
}

describe('report.html in Chromium', () => {
  const tmp = tempDir('report-browser-');
  const out = join(tmp.path, 'report');
  let browser: Browser;
  let page: Page;
  let summary: SummaryJson;
  let stdout = '';
  const dialogs: string[] = [];
  const consoleProblems: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    const r = await runCli(['run', hostileInput(tmp.path), '-m', 'mappings/messy.yaml', '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stderr);
    stdout = r.stdout;
    summary = assertInvariant(out);
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    } catch (e) {
      throw new Error(`cannot launch ${CHROMIUM} (install it: apt-get install -y chromium): ${(e as Error).message.split('\n')[0]}`);
    }
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Runs before any script of the page, outside its CSP: records every CSP violation.
    await page.addInitScript('window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));');
    page.on('dialog', (d) => { dialogs.push(`${d.type()}: ${d.message()}`); void d.dismiss(); });
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleProblems.push(m.text()); });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(pathToFileURL(join(out, 'report.html')).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    tmp.cleanup();
  });

  test('the CLI names report.html, and summary.json lists it', () => {
    assert.equal((summary.files as Record<string, string>).report, 'report.html');
    assert.match(stdout, /Report: .*report\.html/);
  });

  test('the counts shown are those of summary.json', async () => {
    for (const k of ['read', 'success', 'failed', 'merged', 'unchanged'] as const) {
      assert.equal(num(await page.locator(`#count-${k}`).textContent()), summary.counts[k], k);
    }
    assert.ok(summary.counts.failed > FILLER && summary.counts.merged >= 1, JSON.stringify(summary.counts));
    for (const [code, f] of Object.entries(summary.failuresByCode)) {
      assert.equal(num(await page.locator(`#code-${code} td[data-count]`).textContent()), f.count, code);
      assert.equal(await page.locator(`#code-${code} .hint`).textContent(), f.hint);
    }
    assert.equal(await page.locator('#failed-info').textContent(), `${summary.counts.failed} rows`);
  });

  test('hostile values show as text in the failed rows', async () => {
    await page.fill('#failed-search', 'onerror');
    await waitForText(page, 'failed-info', '1 of ');
    assert.equal(await page.locator('#failed-rows tr').count(), 1);
    assert.equal(await page.locator('#failed-rows td').first().textContent(), IMG);
    await page.fill('#failed-search', '</script>');
    await waitForText(page, 'failed-rows', '</script><script>');
    assert.equal(await page.locator('#failed-rows td').first().textContent(), CLOSE);
    await page.fill('#failed-search', 'frank@');
    await waitForText(page, 'failed-rows', 'Formula Frank');
    assert.equal(await page.locator('#failed-rows tr').count(), 1);
    const cells = await page.locator('#failed-rows td').allTextContents();
    assert.ok(cells.includes('=HYPERLINK("http://x.example","click")'), 'the formula shows as typed, without the CSV\'s apostrophe');
    assert.ok(cells.includes('@SUM(1)'));
  });

  test('search finds a failed row', async () => {
    await page.fill('#failed-search', 'needle HAYSTACK');
    await waitForText(page, 'failed-rows', 'Needle Haystack');
    assert.equal(await page.locator('#failed-info').textContent(), `1 of ${summary.counts.failed.toLocaleString('en-US')} rows match`);
    const row = await page.locator('#failed-rows tr').allTextContents();
    assert.equal(row.length, 1);
    assert.match(row[0], /Needle Haystack/);
    assert.match(row[0], /PHONE_NOT_A_NUMBER/);
  });

  test('pages through the failures, and filters by reason', async () => {
    await page.fill('#failed-search', '');
    const total = summary.counts.failed;
    const pages = Math.ceil(total / 50);
    await waitForText(page, 'failed-info', `${total} rows`, true);
    assert.equal(await page.locator('#failed-page').textContent(), `Page 1 of ${pages}`);
    assert.equal(await page.locator('#failed-prev').isDisabled(), true);
    const seen = new Set<string>();
    for (let p = 1; p <= pages; p++) {
      if (p > 1) await page.click('#failed-next');
      assert.equal(await page.locator('#failed-page').textContent(), `Page ${p} of ${pages}`);
      const rows = await page.locator('#failed-rows tr').allTextContents();
      assert.equal(rows.length, p < pages ? 50 : total - 50 * (pages - 1));
      for (const r of rows) seen.add(r);
    }
    assert.equal(seen.size, total, 'every failed row appears once across the pages');
    assert.equal(await page.locator('#failed-next').isDisabled(), true);
    await page.click('#failed-prev');
    assert.equal(await page.locator('#failed-page').textContent(), `Page ${pages - 1} of ${pages}`);

    const emailInvalid = summary.failuresByCode.EMAIL_INVALID.count;
    await page.selectOption('#failed-filter-code', 'EMAIL_INVALID');
    assert.equal(await page.locator('#failed-info').textContent(), `${emailInvalid} of ${total} rows match`);
    await page.selectOption('#failed-filter-code', '');
  });

  test('merged groups show the key, the kept contact and the conflict', async () => {
    const group = page.locator('#merged-groups article', { hasText: 'Dup Two' });
    assert.equal(await group.count(), 1);
    const text = await group.textContent();
    assert.match(text ?? '', /phone=\+14155550105/);
    assert.match(text ?? '', /Dup Two/);
    assert.match(text ?? '', /company: kept/);
    assert.ok(text?.includes('</script> Holdings Ltd') || text?.includes('<b>bold</b> & co'), text ?? '');
  });

  test('no dialog, no CSP violation, no error, and no element or script but the report\'s own', async () => {
    await page.screenshot({ path: join((mkdirSync(ARTIFACTS, { recursive: true }), ARTIFACTS), 'report-html.png'), fullPage: true });
    assert.deepEqual(dialogs, []);
    assert.deepEqual(await page.evaluate('window.__csp'), []);
    assert.deepEqual(consoleProblems, []);
    assert.deepEqual(pageErrors, []);
    assert.equal(await page.evaluate('document.scripts.length'), 2);
    assert.equal(await page.evaluate('document.images.length'), 0);
    assert.equal(await page.evaluate('document.querySelectorAll("[onerror],[onload],b,iframe,object,embed").length'), 0);
    assert.equal(await page.evaluate('document.querySelectorAll("svg").length'), 1, 'only the counts chart');
  });
});
