/**
 * The embeddable widget (/widget.js) on a customer's page, in a real browser:
 * Debian's Chromium (playwright-core, a fake microphone playing a fixture) loads
 * a "customer page" served by this test on another loopback origin, under a
 * strict CSP of its own, with the script tag a customer pastes. Asserted:
 *
 * - on an origin the widget key allows, the floating button (reached and pressed
 *   from the keyboard) starts a call: the server has the call in the agent's
 *   tenant, the widget says "in call", the agent's greeting is heard (energy on
 *   the remote track through WebAudio); the hang-up button ends it and the call
 *   record says the caller hung up;
 * - on an origin the key does not allow, the widget says so and no call starts;
 * - a page that forbids the microphone (Permissions-Policy) gets the
 *   "microphone denied" message;
 * - no CSP violation on the strict host page, and axe-core finds no serious or
 *   critical violation in the widget (idle, in call, refused); screenshots
 *   under test-output/widget/.
 *
 * Everything runs in an empty network namespace (test/e2e/support/console-browser.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startAllSimulators } from '../../tools/simulators/index.ts';
import { getCall, issueApiKey, listCalls } from '../../storage/index.ts';
import { exitAfterNativePeers } from '../../media/webrtc/native-exit.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { checkPage, launchChromium, runInEmptyNetwork } from './support/console-browser.ts';
import { fakeMicrophoneArgs, microphoneWav, VOICED } from './support/fake-microphone.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

const run = runInEmptyNetwork(import.meta.url, {}, 'the web widget browser test');

const API_KEY = 'e2e-simulator-key';
const SHOTS = fileURLToPath(new URL('../../test-output/widget/', import.meta.url));
const WAIT = { timeoutMs: 60_000 };
/** Playwright's spelling of the same deadline. */
const UI = { timeout: 60_000 };

interface WidgetStatus { state: string; callId: string | null; error: string | null; message: string; levels: number[] }

let t: TestServer;
let sims: Awaited<ReturnType<typeof startAllSimulators>>;
let browser: Browser;
let widgetKey: string;
let serverOrigin: string;
const customers: Server[] = [];
const accessibility: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'smartalex-widget-e2e-'));

/** The customer's page: its own strict CSP (only the media server's script and connections), the embed snippet. */
function customerPage(): string {
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Dental</title></head>',
    '<body><main><h1>Acme Dental</h1><p>Questions? Talk to our assistant.</p></main>',
    `<script src="${serverOrigin}/widget.js" data-smartalex-key="${widgetKey}" async></script>`,
    '</body></html>',
  ].join('\n');
}

/** Serves the customer page on a new loopback origin; `/no-mic` forbids the microphone. */
async function startCustomerSite(): Promise<string> {
  const server = createServer((request, response) => {
    const microphone = request.url !== '/no-mic';
    const signalling = serverOrigin.replace(/^http/, 'ws');
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; script-src ${serverOrigin}; connect-src ${serverOrigin} ${signalling}; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'`,
      'permissions-policy': microphone ? 'microphone=(self)' : 'microphone=()',
    });
    response.end(customerPage());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  customers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function openCustomerPage(url: string): Promise<{ page: Page; violations: string[]; status: () => Promise<WidgetStatus> }> {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  await page.goto(url);
  await page.getByRole('button', { name: /Talk to our AI agent/ }).waitFor(UI);
  const status = (): Promise<WidgetStatus> => page.evaluate(() => (globalThis as unknown as { SmartAlexWidget: { status(): WidgetStatus } }).SmartAlexWidget.status());
  return { page, violations, status };
}

if (run) {
  test.before(async () => {
    sims = await startAllSimulators('instant', { apiKey: API_KEY, deepgramLive: { transcripts: () => 'hello' }, openai: { replies: ['Of course.'] } });
    t = await startTestServer({
      env: {
        DEEPGRAM_BASE_URL: sims.deepgram.url, DEEPGRAM_API_KEY: API_KEY, OPENAI_BASE_URL: sims.openai.baseUrl, OPENAI_API_KEY: API_KEY,
        SMARTALEX_WIDGET_ALLOW_LOCALHOST: 'true',
      },
      agent: { name: 'web', mode: 'conversation', prompt: 'Be brief.', greeting: 'Hello, this is the Acme Dental assistant. How can I help you today?' },
    });
    serverOrigin = `http://127.0.0.1:${t.server.httpPort}`;
    browser = await launchChromium(fakeMicrophoneArgs(microphoneWav(dir)));
  });

  test.after(async () => {
    await browser?.close().catch(() => undefined);
    for (const s of customers) { s.closeAllConnections(); await new Promise<void>((r) => s.close(() => r())); }
    await t?.close();
    await sims?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('on an allowed origin the widget calls the agent: in call, the greeting heard, hung up', async () => {
    const allowed = await startCustomerSite();
    const { key } = await issueApiKey(t.db, t.tenantId, { name: 'widget-admin', role: 'manager' });
    const created = await fetch(`${serverOrigin}/v1/agents/${t.agentId}/widget-keys`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ allowedOrigins: [allowed] }),
    });
    assert.is(created.status, 201, await created.clone().text());
    widgetKey = ((await created.json()) as { key: string }).key;

    const { page, violations, status } = await openCustomerPage(allowed);
    try {
      assert.is((await status()).state, 'idle');
      await checkPage(page, 'widget-idle', accessibility, SHOTS);
      // From the keyboard: the page has no other control, so one Tab reaches the floating button.
      await page.keyboard.press('Tab');
      await waitFor('the button to take the focus', () => page.getByRole('button', { name: /Talk to our AI agent/ }).evaluate((b) => b.matches(':focus')), WAIT);
      await page.keyboard.press('Enter');

      const inCall = await waitForValue('the widget to be in call', async () => { const s = await status(); return s.state === 'in-call' ? s : undefined; }, WAIT);
      const callId = inCall.callId!;
      const row = await waitForValue('the call in the agent\'s tenant', () => getCall(t.db, t.tenantId, callId), WAIT);
      assert.is(row.agentId, t.agentId);
      await page.getByRole('status').filter({ hasText: 'In call' }).waitFor(UI);
      await waitFor('the greeting to be heard', async () => (await status()).levels.filter((rms) => rms > VOICED).length >= 10, WAIT);
      await checkPage(page, 'widget-in-call', accessibility, SHOTS);

      await page.getByRole('button', { name: /Hang up/ }).click();
      await waitFor('the widget to show the end', async () => (await status()).state === 'ended', WAIT);
      await page.getByRole('status').filter({ hasText: 'Call ended' }).waitFor(UI);
      const ended = await waitForValue('the call row to be ended', async () => {
        const c = await getCall(t.db, t.tenantId, callId);
        return c?.state === 'ended' ? c : undefined;
      }, WAIT);
      assert.is(ended.endReason, 'remote-bye', 'the caller hung up');
      assert.equal(violations, [], 'no CSP violation on the strict host page');
    } finally {
      await page.close();
    }
  });

  test('on an origin the key does not allow the widget says so, and no call starts', async () => {
    const other = await startCustomerSite();
    const callsBefore = (await listCalls(t.db, t.tenantId)).length;
    const { page, violations, status } = await openCustomerPage(other);
    try {
      await page.getByRole('button', { name: /Talk to our AI agent/ }).click();
      const refused = await waitForValue('the refusal', async () => { const s = await status(); return s.state === 'error' ? s : undefined; }, WAIT);
      assert.is(refused.error, 'origin-not-allowed');
      assert.is(refused.callId, null);
      await page.getByRole('status').filter({ hasText: 'This website is not allowed to call this agent.' }).waitFor(UI);
      await checkPage(page, 'widget-not-allowed', accessibility, SHOTS);
      assert.is((await listCalls(t.db, t.tenantId)).length, callsBefore, 'no call started');
      assert.is(t.server.calls.activeCalls(t.tenantId), 0);
      assert.equal(violations, []);
    } finally {
      await page.close();
    }
  });

  test('a page that forbids the microphone gets the "microphone denied" message (through SmartAlexWidget.start and its statechange events)', async () => {
    const site = customers[0]!.address() as { port: number };
    const { page, status } = await openCustomerPage(`http://127.0.0.1:${site.port}/no-mic`);
    try {
      // A page with its own button: the API, and the events it listens to.
      await page.evaluate(() => {
        const api = (globalThis as unknown as { SmartAlexWidget: { start(): void; addEventListener(type: string, l: (e: CustomEvent<{ state: string }>) => void): void } }).SmartAlexWidget;
        const seen: string[] = [];
        (globalThis as unknown as { seen: string[] }).seen = seen;
        api.addEventListener('statechange', (event) => seen.push(event.detail.state));
        api.start();
      });
      const refused = await waitForValue('the refusal', async () => { const s = await status(); return s.state === 'error' ? s : undefined; }, WAIT);
      assert.is(refused.error, 'microphone');
      await page.getByRole('status').filter({ hasText: 'Microphone access was denied' }).waitFor(UI);
      assert.equal(await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen), ['connecting', 'error']);
    } finally {
      await page.close();
    }
  });

  test('no serious or critical accessibility violation in the widget', () => {
    assert.equal(accessibility, []);
  });

  // libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
  test.after(() => exitAfterNativePeers());
}

test.run();
