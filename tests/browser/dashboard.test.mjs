// Drives `sked serve`'s dashboard in Debian's headless chromium, against a temporary store that a
// real scheduler (`sked run --crontab`) works on. Environment: SKED (the sked binary),
// SKED_SCREENSHOTS (where a screenshot of each page is saved) and, for a PostgreSQL store instead of
// an SQLite file, SKED_PG_BINDIR (the server's binaries: under ctest, SKED_TEST_PG_DIR names the run's
// shared server and the test makes a database of its own there; else a throwaway server is started on
// a Unix socket in the scratch directory).
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, writeFileSync, mkdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

const sked = process.env.SKED;
const shots = process.env.SKED_SCREENSHOTS ?? join(tmpdir(), 'sked-screenshots');
const pgBin = process.env.SKED_PG_BINDIR;
const pgShared = pgBin ? process.env.SKED_TEST_PG_DIR : undefined;
let pgSocket;  // the server's socket directory
let pgDatabase = 'postgres';
const xss = '<script>alert(1)</script>';
const xssCommand = `echo '${xss}'`;
const dir = mkdtempSync(join(tmpdir(), 'sked-browser-'));
let db = join(dir, 'store.sqlite3');
const children = [];
const asPostgres = process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];

function run(command) {
  execFileSync(command[0], command.slice(1), {stdio: ['ignore', 'pipe', 'pipe']});
}

// A throwaway PostgreSQL server on a Unix socket in the scratch directory (as root, run as the
// postgres user, as PostgreSQL requires).
function startPostgres() {
  if (pgShared) {
    pgSocket = pgShared;
    pgDatabase = `browser_${process.pid}`;
    psql('postgres', `CREATE DATABASE ${pgDatabase}`);
    return `postgresql://postgres@${encodeURIComponent(pgSocket)}/${pgDatabase}`;
  }
  pgSocket = dir;
  if (asPostgres.length > 0) run(['chown', 'postgres', dir]);
  run([...asPostgres, `${pgBin}/initdb`, '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8',
       '--locale=C', '--no-sync']);
  run([...asPostgres, `${pgBin}/pg_ctl`, '-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-t', '60',
       '-o', `-c listen_addresses='' -k ${dir} -c fsync=off`, 'start']);
  return `postgresql://postgres@${encodeURIComponent(dir)}/postgres`;
}

function psql(database, sql) {
  run([`${pgBin}/psql`, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', pgSocket, '-U', 'postgres', '-d', database, '-c',
       sql]);
}

// A job named like a script, written into the store as another program would (crontab jobs are
// named by their id): a copy of `nightly` under id `xss-name`, without the crontab's mark.
function addScriptNamedJob() {
  if (pgBin) {
    psql(pgDatabase,
         "INSERT INTO sked.sked_job (id, next_run_time, job_state) SELECT 'xss-name', next_run_time, " +
         `jsonb_set(job_state #- '{args,crontab}', '{name}', to_jsonb('${xss}'::text)) ` +
         "FROM sked.sked_job WHERE id = 'nightly'");
  } else {
    run(['sqlite3', '-cmd', '.timeout 10000', db,
         "INSERT INTO sked_job (id, next_run_time, job_state) SELECT 'xss-name', next_run_time, " +
         `json_set(json_remove(job_state, '$.args.crontab'), '$.name', '${xss}') ` +
         "FROM sked_job WHERE id = 'nightly'"]);
  }
}
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
  if (pgBin) db = startPostgres();
  const crontab = join(dir, 'jobs.cron');
  writeFileSync(crontab, [
    'id=tick * * * * * * echo tick',
    'id=nightly @yearly echo nightly run',
    `id=xss @yearly ${xssCommand}`,
    '',
  ].join('\n'));
  const daemon = start(['run', '--crontab', crontab, '--db', db]);
  await until('the scheduler to store the jobs', () => {
    try {
      return JSON.parse(execFileSync(sked, ['jobs', '--db', db, '--json'],
                                    {stdio: ['ignore', 'pipe', 'ignore']})).length === 3;
    } catch {
      return daemon.child.exitCode !== null ? Promise.reject(new Error(daemon.output())) : false;
    }
  });
  addScriptNamedJob();
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
  const exits = children.map((c) => c.exitCode !== null ? Promise.resolve()
                                                         : new Promise((r) => c.on('exit', r)));
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(exits);
  if (pgShared) {
    psql('postgres', `DROP DATABASE IF EXISTS ${pgDatabase} WITH (FORCE)`);
  } else if (pgBin) {
    try {
      run([...asPostgres, `${pgBin}/pg_ctl`, '-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      // Stopped already.
    }
  }
  rmSync(dir, {recursive: true, force: true});
});

test('the job list shows the jobs with their state', async () => {
  await page.goto(`${base}/`);
  for (const id of ['tick', 'nightly', 'xss', 'xss-name']) {
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

test('a job named like a script renders as text', async () => {
  await page.goto(`${base}/?q=xss-name`);
  assert.equal(await page.locator('tr[data-job="xss-name"] td').nth(1).innerText(), xss);
  assert.equal(await page.locator('script').count(), 1);
  await page.goto(`${base}/jobs/xss-name`);
  assert.equal(await page.locator('dd').first().innerText(), xss);
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
