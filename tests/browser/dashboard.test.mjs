// Drives `sked serve`'s dashboard in Debian's headless chromium, against a temporary store that a
// real scheduler (`sked run --crontab`) works on. Environment: SKED (the sked binary) and
// SKED_SCREENSHOTS (where a screenshot of each page is saved).
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, writeFileSync, mkdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

const sked = process.env.SKED;
const shots = process.env.SKED_SCREENSHOTS ?? join(tmpdir(), 'sked-screenshots');
const xssCommand = "echo '<script>alert(1)</script>'";
const dir = mkdtempSync(join(tmpdir(), 'sked-browser-'));
const db = join(dir, 'store.sqlite3');
const children = [];
let context;
let page;
let base;
const problems = [];  // CSP violations, dialogs, page errors: none may happen

// Polls `check` every 100 ms until it returns a truthy value; fails after `seconds`.
async function until(what, check, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(args) {
  const child = spawn(sked, args, {stdio: ['ignore', 'pipe', 'pipe']});
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  return {child, output: () => out};
}

before(async () => {
  assert.ok(sked, 'SKED must name the sked binary');
  mkdirSync(shots, {recursive: true});
  const crontab = join(dir, 'jobs.cron');
  writeFileSync(crontab, [
    'id=tick * * * * * * echo tick',
    'id=nightly @yearly echo nightly run',
    `id=xss @yearly ${xssCommand}`,
    '',
  ].join('\n'));
  const run = start(['run', '--crontab', crontab, '--db', db]);
  await until('the scheduler to store the jobs', () => {
    try {
      return JSON.parse(execFileSync(sked, ['jobs', '--db', db, '--json'],
                                    {stdio: ['ignore', 'pipe', 'ignore']})).length === 3;
    } catch {
      return run.child.exitCode !== null ? Promise.reject(new Error(run.output())) : false;
    }
  });
  const serve = start(['serve', '--db', db, '--listen', '127.0.0.1:0']);
  base = await until('sked serve to listen', () => serve.output().match(/http:\/\/127\.0\.0\.1:\d+/)?.[0]);

  const profile = mkdtempSync(join(tmpdir(), 'sked-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--no-proxy-server'],
    viewport: {width: 1280, height: 900},
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
});

after(async () => {
  await context?.close();
  for (const c of children) c.kill('SIGTERM');
  rmSync(dir, {recursive: true, force: true});
});

test('the job list shows the jobs with their state', async () => {
  await page.goto(`${base}/`);
  for (const id of ['tick', 'nightly', 'xss']) {
    await page.locator(`tr[data-job="${id}"]`).waitFor();
  }
  assert.equal(await page.locator('tr[data-job="tick"] td.state').innerText(), 'scheduled');
  await page.screenshot({path: join(shots, 'jobs.png'), fullPage: true});
});

test('a command like a script renders as text', async () => {
  // Crontab jobs are named by their id; the command is in the job's args.
  await page.goto(`${base}/`);
  assert.equal(await page.locator('tr[data-job="xss"] td').nth(1).innerText(), 'xss');
  // Only the page's own (nonce) script is in the document.
  assert.equal(await page.locator('script').count(), 1);
  await page.goto(`${base}/jobs/xss`);
  const args = await page.locator('dd').nth(2).innerText();
  assert.ok(args.includes(xssCommand), args);
  assert.equal(await page.locator('script').count(), 1);
  assert.deepEqual(problems, []);
});

test('new executions appear without a reload', async () => {
  await page.goto(`${base}/executions?job=tick`);
  const newest = async () => Number(await page.locator('tr[data-execution]').first().getAttribute('data-execution') ?? 0);
  const first = await until('a run of tick', async () => (await page.locator('tr[data-execution]').count()) > 0 ? 1 : 0)
      .then(newest);
  // A reload would clear this marker.
  await page.evaluate(() => { window.skedMarker = 'still here'; });
  await until('a newer run of tick to appear', async () => (await newest()) > first);
  assert.equal(await page.evaluate(() => window.skedMarker), 'still here');
  await page.screenshot({path: join(shots, 'executions.png'), fullPage: true});
});

test('run now makes a new execution appear', async () => {
  await page.goto(`${base}/jobs/nightly`);
  assert.equal(await page.locator('tr[data-execution]').count(), 0);
  await page.getByRole('button', {name: 'Run now'}).click();
  await page.getByRole('button', {name: 'Yes, run-now'}).waitFor();
  await page.screenshot({path: join(shots, 'confirm.png'), fullPage: true});
  await page.getByRole('button', {name: 'Yes, run-now'}).click();
  await page.waitForURL(/\/jobs\/nightly\?done=/);
  await page.evaluate(() => { window.skedMarker = 'still here'; });
  const row = page.locator('tr[data-execution] .badge.s-executed');
  await until('the requested run to be shown executed', async () => (await row.count()) === 1);
  assert.equal(await page.evaluate(() => window.skedMarker), 'still here');
  await page.screenshot({path: join(shots, 'job.png'), fullPage: true});
});

test('pause and resume change the state', async () => {
  await page.goto(`${base}/jobs/tick`);
  const state = () => page.locator('#state').innerText();
  assert.equal(await state(), 'scheduled');
  await page.getByRole('button', {name: 'Pause'}).click();
  await page.getByRole('button', {name: 'Yes, pause'}).click();
  await page.waitForURL(/\/jobs\/tick\?done=/);
  assert.equal(await state(), 'paused');
  await page.goto(`${base}/?state=paused`);
  await page.locator('tr[data-job="tick"]').waitFor();
  assert.equal(await page.locator('tr[data-job]').count(), 1);
  await page.goto(`${base}/jobs/tick`);
  await page.getByRole('button', {name: 'Resume'}).click();
  await page.getByRole('button', {name: 'Yes, resume'}).click();
  await page.waitForURL(/\/jobs\/tick\?done=/);
  assert.equal(await state(), 'scheduled');
});

test('the schedulers page shows the running scheduler alive', async () => {
  await page.goto(`${base}/schedulers`);
  await page.locator('.badge.s-alive').first().waitFor();
  await page.screenshot({path: join(shots, 'schedulers.png'), fullPage: true});
  assert.deepEqual(problems, []);
});
