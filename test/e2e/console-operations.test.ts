/**
 * The console's operations pages in a real browser (Debian chromium driven
 * by playwright-core, the real server in-process, an empty network
 * namespace): an owner creates a webhook endpoint (pointed at a receiver on
 * loopback; its secret shown once), creates a campaign over two contacts on
 * the do-not-call list and starts it, watches its progress reach completed
 * with both refused (no dial: the do-not-call check comes first), sees the
 * campaign's webhook deliveries arrive, replays one (the receiver gets the
 * same webhook-id again), rotates the secret and disables the endpoint; the
 * agent page's "Call this agent" opens the WebRTC call page with a freshly
 * minted token; the ops view shows the last hour's latency percentiles from
 * stored turn traces and a bench report from the reports directory with its
 * SVG plot. A viewer reads campaign progress and the percentiles but is
 * offered no write, no webhooks and no bench reports. A `<script>` in a campaign, endpoint or contact name renders
 * as text. Screenshots and axe-core (no serious or critical violation) on
 * every new page.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { addTranscriptTurn, schema, startCall, withTenant } from '../../storage/index.ts';
import { createUserWithSetup } from '../../src/api/auth/accounts.ts';
import { addToDoNotCall } from '../../src/compliance/index.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { checkPage as checkPageAccessibility, launchChromium, runInEmptyNetwork } from './support/console-browser.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

const PASSWORD = 'Correct-Horse-7-Battery';
const WAIT = { timeoutMs: 60_000 };
const UI_TIMEOUT_MS = 60_000;
const MARKUP = '<script>window.__owned = 1</script><img src=x onerror="window.__owned = 2">';

const run = runInEmptyNetwork(import.meta.url, {}, 'the console operations browser test');

let t: TestServer;
let browser: Browser;
let base: string;
let receiver: Server;
let receiverUrl: string;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const accessibility: string[] = [];
const reportsDir = mkdtempSync(join(tmpdir(), 'smartalex-console-bench-'));

/** A bench report as `smartalex bench --json` writes it (the fields the ops view reads). */
function benchReport() {
  const metric = (p50: number, description: string) => ({ unit: 'ms', source: 'caller', description, tracked: true, stats: { count: 40, mean: p50, min: p50 / 2, p50, p95: p50 * 1.4, p99: p50 * 1.8, max: p50 * 2 }, samples: [], samplesTruncated: false });
  return {
    schema: 'smartalex-bench-report', version: 1, minorVersion: 5, startedAt: '2026-12-04T10:00:00.000Z', finishedAt: '2026-12-04T10:01:00.000Z', durationS: 60,
    tool: { name: 'smartalex bench', version: 'test' }, machine: { cpuModel: 'Test CPU', cpus: 2, totalMemMB: 4096, platform: 'linux', arch: 'x64', nodeVersion: 'v20', loadAverage: [1, 1, 1] },
    config: { mode: 'in-process', target: 'sip:127.0.0.1:5060', number: '2000', calls: 10, turns: 4, bargeIn: false, profile: 'typical' },
    agentMode: 'conversation', agentModeEvidence: 'replies heard',
    calls: { attempted: 10, answered: 10, completed: 10, failed: 0, failures: {}, turns: 40, turnsReplied: 40, bargeIns: 0, bargeInsStopped: 0 },
    metrics: { e2eMs: metric(640, 'end of speech to first agent audio'), overheadMs: metric(12, 'server overhead') },
  };
}

const checkPage = (page: Page, name: string): Promise<void> => checkPageAccessibility(page, name, accessibility);

async function logIn(page: Page, email: string): Promise<void> {
  await page.goto(`${base}/console`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Live calls' }).waitFor();
}

async function noMarkupRan(page: Page): Promise<void> {
  assert.is(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned), undefined, 'no markup ran');
}

test.before(async () => {
  if (!run) return;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => { received.push({ headers: req.headers, body }); res.writeHead(200).end(); });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  t = await startTestServer({
    agent: { name: 'Front desk', mode: 'echo' },
    // Campaign calls would go to the discard port; every contact here is refused before dialling.
    env: { SMARTALEX_BENCH_REPORTS_DIR: reportsDir, SMARTALEX_CAMPAIGN_VIA: 'sip:127.0.0.1:9', SMARTALEX_CAMPAIGN_POLL_MS: '200', SMARTALEX_WEBHOOK_ALLOW_LOOPBACK: 'true' },
  });
  base = `http://127.0.0.1:${t.server.httpPort}`;
  await withTenant(t.db, t.tenantId, (tx) => tx.insert(schema.contacts).values([
    { tenantId: t.tenantId, name: MARKUP, phone: '+14153230101' },
    { tenantId: t.tenantId, name: 'Grace', phone: '+14153230102' },
  ]));
  writeFileSync(join(reportsDir, 'bench-latest.json'), JSON.stringify(benchReport()));
  const traced = await startCall(t.db, t.tenantId, { agentId: t.agentId, direction: 'inbound', fromUri: 'sip:caller@127.0.0.1', toUri: 'sip:2000@127.0.0.1', sipCallId: randomUUID() });
  for (let i = 1; i <= 4; i++) {
    await addTranscriptTurn(t.db, t.tenantId, {
      callId: traced.id, seq: i, speaker: 'agent', redacted: { text: 'Hello', entities: [] },
      latency: { endpointingMs: 200, sttFinalMs: 100, llmTtftMs: 300, ttsTtfbMs: 90, overheadMs: 10, e2eMs: 700 },
    });
  }
  for (const phone of ['+14153230101', '+14153230102']) await addToDoNotCall(t.db, t.tenantId, phone, { actor: 'test' });
  for (const [role, email] of [['owner', 'owner@example.com'], ['viewer', 'viewer@example.com']] as const) {
    await createUserWithSetup(t.db, t.tenantId, { email, role, password: PASSWORD, actor: 'test', now: new Date(), ttlMs: 3600_000 });
  }
  browser = await launchChromium();
});

test.after(async () => {
  if (!run) return;
  await browser?.close().catch(() => undefined);
  await t?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  rmSync(reportsDir, { recursive: true, force: true });
});

if (run) {
  test('an owner: a webhook endpoint, a campaign started and watched to completion, its deliveries replayed, the call button', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    // What the call page's address held when it loaded (the page removes the fragment at once).
    await context.addInitScript(() => { (window as unknown as { __loadedHash: string }).__loadedHash = location.hash; });
    const page = await context.newPage();
    try {
      await logIn(page, 'owner@example.com');

      // A webhook endpoint for the campaign's events; its secret is shown once.
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByLabel('Endpoint URL').fill(receiverUrl);
      await page.getByLabel('Description (optional)').fill(MARKUP);
      await page.getByLabel('call.ended').uncheck();
      await page.getByLabel('campaign.contact.completed').check();
      await page.getByLabel('campaign.completed').check();
      await page.getByRole('button', { name: 'Create endpoint' }).click();
      const secret = await page.getByTestId('webhook-secret').innerText();
      assert.match(secret, /^whsec_/);
      const endpoints = page.getByTestId('endpoints');
      await endpoints.getByRole('cell', { name: MARKUP }).waitFor();
      assert.is(await endpoints.locator('script, img').count(), 0, 'no element was made from the description');
      await noMarkupRan(page);
      await checkPage(page, 'webhooks');

      // A campaign over both contacts, created, started, watched to completion.
      await page.getByRole('link', { name: 'Campaigns' }).click();
      await page.getByRole('heading', { name: 'New campaign' }).waitFor();
      await page.getByLabel('Campaign name').fill(`Spring ${MARKUP}`);
      const picker = page.getByTestId('campaign-contacts');
      await picker.getByText(MARKUP).waitFor();
      for (const box of await picker.getByRole('checkbox').all()) await box.check();
      await page.getByLabel('Calls at once').fill('2');
      await page.getByLabel('Attempts per contact').fill('2');
      await checkPage(page, 'campaign-new');
      // Pressed from the keyboard: a click right after the full-page screenshot above was seen to land its
      // mouseup on a label above the button (the page still settling from the capture), so nothing was submitted.
      await page.getByRole('button', { name: 'Create campaign' }).press('Enter');
      const detail = page.getByTestId('campaign-detail');
      await detail.or(page.getByRole('alert')).first().waitFor();
      if (await page.getByRole('alert').count()) assert.unreachable(`the campaign was refused: ${await page.getByRole('alert').first().innerText()}`);
      await detail.getByTestId('campaign-state').getByText('draft').waitFor();
      assert.match(await detail.getByRole('heading').innerText(), /^Spring <script>/);
      assert.is(await page.locator('main script, main img').count(), 0, 'no element was made from the campaign name');
      await page.getByTestId('campaigns').getByText(`Spring ${MARKUP}`).waitFor();
      await detail.getByRole('button', { name: 'Start' }).click();
      await detail.getByTestId('campaign-state').getByText('completed').waitFor();
      await detail.getByTestId('campaign-by-outcome').locator('td[data-key="refused"]').getByText('2').waitFor();
      const outcomes = detail.getByTestId('campaign-outcomes');
      await waitFor('both contacts refused for do-not-call', async () => (await outcomes.getByRole('cell', { name: 'do-not-call' }).count()) === 2, WAIT);
      assert.is(await detail.getByRole('button', { name: /Start|Pause|Resume|Cancel/ }).count(), 0, 'a completed campaign offers no step');
      await noMarkupRan(page);
      await checkPage(page, 'campaign-progress');

      // Its webhook deliveries, then a replay: the same webhook-id arrives again.
      const completed = await waitForValue('campaign.completed at the receiver', () => received.find((r) => r.body.includes('"campaign.completed"')), WAIT);
      const eventId = String(completed.headers['webhook-id']);
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await endpoints.getByRole('button', { name: receiverUrl }).click();
      const row = page.getByTestId('deliveries').locator('tr[data-status="delivered"]').filter({ hasText: 'campaign.completed' });
      await row.waitFor();
      assert.match(await row.innerText(), new RegExp(eventId));
      await row.getByRole('button', { name: 'Attempts' }).click();
      await row.locator('.attempts li').first().waitFor();
      await checkPage(page, 'webhook-deliveries');
      const before = received.filter((r) => r.headers['webhook-id'] === eventId).length;
      await row.getByRole('button', { name: 'Replay' }).click();
      await page.getByText(/queued again/).waitFor();
      await waitFor('the replayed delivery at the receiver', () => received.filter((r) => r.headers['webhook-id'] === eventId).length > before, WAIT);

      // Rotate the secret (a new one, shown once), then disable the endpoint.
      await endpoints.getByRole('button', { name: 'Rotate secret' }).click();
      await waitFor('a new secret', async () => /^whsec_/.test(await page.getByTestId('webhook-secret').innerText().catch(() => '')) && (await page.getByTestId('webhook-secret').innerText()) !== secret, WAIT);
      await endpoints.getByRole('button', { name: 'Disable' }).click();
      await endpoints.getByRole('button', { name: 'Enable' }).waitFor();
      assert.is(await page.getByTestId('webhook-secret').count(), 0, 'the secret is gone once something else happened');

      // "Call this agent": a token is minted and the WebRTC page opens with it.
      await page.getByRole('link', { name: 'Agents' }).click();
      await page.getByRole('button', { name: 'Front desk' }).click();
      const [callPage] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Call this agent' }).click()]);
      await callPage.waitForURL(`${base}/call/${t.agentId}`);
      await callPage.getByRole('heading', { name: 'Call an agent' }).waitFor();
      assert.match(await callPage.evaluate(() => (window as unknown as { __loadedHash: string }).__loadedHash), /^#token=[\w.-]{20,}/);
      assert.is(await callPage.locator('#status').innerText(), 'Ready.', 'the page has its token');
      assert.is(await callPage.evaluate(() => window.opener), null, 'the call page cannot reach the console');
      await callPage.close();
      await checkPage(page, 'agents-call-button');

      // Ops: the last hour's percentiles from the stored traces, and the bench report with its plot.
      await page.getByRole('link', { name: 'Ops' }).click();
      const e2e = page.getByTestId('server-latency').locator('tr[data-stage="e2eMs"]');
      await e2e.getByText('700 ms').first().waitFor();
      assert.match(await page.getByTestId('server-latency').innerText(), /4 traced turns/);
      assert.match(await page.getByTestId('server-latency').locator('tr[data-stage="llmTtftMs"]').innerText(), /300 ms/);
      const bench = page.getByTestId('bench-report');
      await bench.getByRole('heading', { name: 'bench-latest.json' }).waitFor();
      assert.match(await bench.innerText(), /10\/10 calls answered/);
      assert.is(await bench.getByRole('img', { name: /p50 and p99 per metric/ }).locator('rect.p50').count(), 3, 'one bar per latency metric and the legend');
      assert.is(await page.getByTestId('server-latency').getByRole('img').locator('rect.p99').count(), 7, 'six stages and the legend');
      await checkPage(page, 'ops');
    } finally {
      await context.close();
    }
  });

  test('a viewer reads campaign progress, is offered no campaign step and no webhooks', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    const page = await context.newPage();
    try {
      await logIn(page, 'viewer@example.com');
      const nav = page.getByRole('navigation', { name: 'Console' });
      assert.is(await nav.getByRole('link', { name: 'Webhooks' }).count(), 0, 'no Webhooks link');
      await nav.getByRole('link', { name: 'Campaigns' }).click();
      await page.getByTestId('campaigns').getByRole('button', { name: /^Spring / }).click();
      await page.getByTestId('campaign-state').getByText('completed').waitFor();
      assert.is(await page.getByRole('heading', { name: 'New campaign' }).count(), 0, 'no create form');
      await checkPage(page, 'campaigns-viewer');
      await nav.getByRole('link', { name: 'Ops' }).click();
      await page.getByTestId('server-latency').locator('tr[data-stage="e2eMs"]').getByText('700 ms').first().waitFor();
      assert.is(await page.getByRole('heading', { name: 'Latest bench reports' }).count(), 0, 'bench reports are for owners and admins');
      await page.goto(`${base}/console/webhooks`);
      await page.getByTestId('not-allowed').waitFor();
    } finally {
      await context.close();
    }
  });

  test('no serious or critical accessibility violation on the new pages', () => {
    assert.equal(accessibility, []);
  });
}

test.run();
