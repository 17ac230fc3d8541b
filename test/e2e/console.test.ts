/**
 * The operators' console in a real browser (Debian chromium driven by
 * playwright-core), with the real server in-process and SIPp as the carrier,
 * all inside an empty network namespace (the file re-executes itself under
 * `unshare -n` with only loopback up; the browser also resolves no name):
 * an owner logs in with password and TOTP code, watches a SIPp call appear
 * live and end, opens its detail (transcript, waterfall) and plays its
 * recording through a freshly minted link, edits an agent, imports contacts
 * with a bad row, revokes another session, visits numbers, the
 * do-not-call list, team, API keys and settings; a viewer is not offered a
 * manager's page and cannot reach it by address; a transcript line and a
 * contact name holding `<script>` render as text. Every page gets a
 * screenshot under test-output/console/ and an axe-core pass (no serious or
 * critical violation). Prints the transferred size of the first page.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { URI, type TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { addTranscriptTurn, getAgent, getCall, listRecordings } from '../../storage/index.ts';
import { createUserWithSetup } from '../../src/api/auth/accounts.ts';
import type { CallSession } from '../../src/calls/index.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { checkPage as checkPageAccessibility, launchChromium, runInEmptyNetwork } from './support/console-browser.ts';
import { describeSipp, runSipp, startTestServer, type TestServer } from './support/harness.ts';

const PASSWORD = 'Correct-Horse-7-Battery';
const WAIT = { timeoutMs: 60_000 };
const UI_TIMEOUT_MS = 60_000;

const run = runInEmptyNetwork(import.meta.url, { sipp: true }, 'the console browser test');

let t: TestServer;
let browser: Browser;
let base: string;
const started: CallSession[] = [];
const accessibility: string[] = [];

const checkPage = (page: Page, name: string): Promise<void> => checkPageAccessibility(page, name, accessibility);

async function user(role: 'owner' | 'viewer', email: string): Promise<void> {
  await createUserWithSetup(t.db, t.tenantId, { email, role, password: PASSWORD, actor: 'test', now: new Date(), ttlMs: 3600_000 });
}

async function apiLogin(email: string, extra: Record<string, unknown> = {}): Promise<{ token: string; sessionId: string }> {
  const res = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'second-device/1.0' }, body: JSON.stringify({ email, password: PASSWORD, ...extra }), signal: AbortSignal.timeout(30_000) });
  assert.is(res.status, 200, await res.clone().text());
  return (await res.json()) as { token: string; sessionId: string };
}

/** Enrols TOTP for `email` over the API, confirming with the previous period's code (so the login's current code is unused). */
async function enrolTotp(email: string): Promise<TOTP> {
  const { token } = await apiLogin(email);
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const start = await fetch(`${base}/v1/me/totp`, { method: 'POST', headers: auth, body: '{}' });
  assert.is(start.status, 201);
  const totp = URI.parse(((await start.json()) as { otpauthUri: string }).otpauthUri) as TOTP;
  const confirm = await fetch(`${base}/v1/me/totp/confirm`, { method: 'POST', headers: auth, body: JSON.stringify({ code: totp.generate({ timestamp: Date.now() - 30_000 }) }) });
  assert.is(confirm.status, 200, await confirm.clone().text());
  return totp;
}

test.before(async () => {
  if (!run) return;
  t = await startTestServer({ agent: { name: 'Front desk', mode: 'echo', recordingEnabled: true }, env: { SMARTALEX_RTP_TIMEOUT_S: '300' } });
  t.server.calls.on('call-started', (s) => started.push(s));
  base = `http://127.0.0.1:${t.server.httpPort}`;
  browser = await launchChromium();
});

test.after(async () => {
  if (!run) return;
  await browser?.close().catch(() => undefined);
  await t?.close();
});

if (run) {
  test('an owner: TOTP login, a live SIPp call, its detail and recording, agents, contacts, sessions, audit', async () => {
    const email = 'owner@example.com';
    await user('owner', email);
    const totp = await enrolTotp(email);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    const page = await context.newPage();
    try {
      // The first page: what crosses the wire (compressed) for the document, its script and its stylesheet.
      const sizes: Promise<number>[] = [];
      page.on('requestfinished', (request) => { sizes.push(request.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)); });
      await page.goto(`${base}/console`);
      await page.getByLabel('E-mail').waitFor();
      const transferred = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
      console.log(`console first page: ${sizes.length} requests, ${transferred} bytes transferred`);
      assert.ok(transferred < 100_000, `the first page stays small (${transferred} bytes)`);
      await checkPage(page, 'login');

      // Password, then the authenticator code the page asks for.
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByLabel('Authenticator code').fill(totp.generate());
      await checkPage(page, 'login-totp');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { name: 'Live calls' }).waitFor();
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'sa_session');
      assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
      assert.is(session?.sameSite, 'Strict');
      assert.is(await page.evaluate(() => document.cookie.includes('sa_session')), false, 'page script cannot read the session');

      // A SIPp call appears live, then ends when the server hangs up.
      await page.getByText(/^Live: /).waitFor();
      const before = started.length;
      const sipp = runSipp(`127.0.0.1:${t.server.sipPort}`, 'uac-call-held.xml', [], 170);
      const call = await waitForValue('the SIPp call at the call manager', () => started[before], WAIT);
      const row = page.locator(`tr[data-call-id="${call.callId}"]`);
      await row.and(page.locator('[data-state="active"]')).waitFor();
      assert.match(await row.innerText(), /Front desk/);
      assert.match(await row.innerText(), /in progress/);
      await checkPage(page, 'live-calls');
      await call.end('agent-hangup', true);
      await row.and(page.locator('[data-state="ended"]')).waitFor();
      assert.match(await row.innerText(), /ended \(agent-hangup\)/);
      const carrier = await sipp;
      assert.is(carrier.code, 0, describeSipp(carrier));
      await checkPage(page, 'live-calls-ended');

      // Its detail: a transcript line holding markup stays text; the waterfall; the recording plays.
      await waitForValue('the finished call row', async () => ((await getCall(t.db, t.tenantId, call.callId))?.state === 'ended' ? true : undefined), WAIT);
      await addTranscriptTurn(t.db, t.tenantId, { callId: call.callId, seq: 1, speaker: 'caller', redacted: { text: 'Hello <script>window.__owned = 1</script><img src=x onerror="window.__owned = 2">', entities: [] } });
      await addTranscriptTurn(t.db, t.tenantId, {
        callId: call.callId, seq: 2, speaker: 'agent', redacted: { text: 'Hi, how can I help?', entities: [] },
        latency: { endpointingMs: 200, sttFinalMs: 120, llmTtftMs: 310, ttsTtfbMs: 90, overheadMs: 25, e2eMs: 745 },
      });
      await waitForValue('the completed recording', async () => (await listRecordings(t.db, t.tenantId, { callId: call.callId })).find((r) => r.completedAt), WAIT);
      await row.getByRole('link').click();
      await page.getByRole('heading', { name: 'Transcript' }).waitFor();
      const transcript = page.getByTestId('transcript');
      assert.match(await transcript.innerText(), /Hello <script>window.__owned = 1<\/script><img src=x onerror=/);
      assert.is(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned), undefined, 'no markup ran');
      assert.is(await transcript.locator('script, img').count(), 0, 'no element was made from call content');
      assert.match(await page.getByTestId('waterfall').innerText(), /310/);
      await page.getByRole('button', { name: /Play recording/ }).click();
      const audio = page.getByTestId('recording');
      await audio.waitFor();
      const audioState = () => audio.evaluate((a: HTMLAudioElement) => ({ readyState: a.readyState, duration: a.duration, error: a.error?.code ?? null, networkState: a.networkState }));
      await waitFor('the recording to load in the browser', async () => { const s = await audioState(); return s.readyState >= 1 && s.duration > 0; }, WAIT)
        .catch(async (error: Error) => { throw new Error(`${error.message}: ${JSON.stringify(await audioState())}`); });
      assert.match(await audio.getAttribute('src') ?? '', /^\/v1\/recordings\/[0-9a-f-]{36}\/[0-9a-f-]{36}\?exp=/);
      await checkPage(page, 'call-detail');

      // An agent: edit its greeting and turn-taking; the disclosure is shown fixed.
      await page.getByRole('link', { name: 'Agents' }).click();
      await page.getByRole('button', { name: 'Front desk' }).click();
      assert.match(await page.getByTestId('disclosure').innerText(), /\S/);
      await page.getByLabel('Greeting (after the disclosure)').fill('Welcome to the <b>front desk</b>.');
      await page.getByLabel('End-of-turn hangover (ms)').fill('450');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved.').waitFor();
      const agent = await getAgent(t.db, t.tenantId, t.agentId);
      assert.is(agent?.greeting, 'Welcome to the <b>front desk</b>.');
      assert.is(((agent?.providerSettings as Record<string, { hangoverMs?: number }>).turn)?.hangoverMs, 450);
      await checkPage(page, 'agents');

      // Contacts: a CSV with a bad row; the report names it; a name with markup renders as text.
      await page.getByRole('link', { name: 'Contacts' }).click();
      await page.getByLabel('or paste CSV').fill('name,phone,email\n"<script>window.__owned = 3</script>",+14153230001,\nBad Row,not-a-number,\nAda,+14153230002,ada@example.com\n');
      await page.getByRole('button', { name: 'Import' }).click();
      const report = page.getByTestId('import-report');
      await report.waitFor();
      assert.match(await report.innerText(), /2 contacts imported, 1 row refused/);
      assert.match(await report.innerText(), /\b3\b/);
      const contacts = page.getByTestId('contacts');
      await contacts.getByText('<script>window.__owned = 3</script>').waitFor();
      assert.is(await contacts.locator('script').count(), 0);
      assert.is(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned), undefined);
      await checkPage(page, 'contacts');

      // Sessions: another device's session is listed and revoked.
      const other = await apiLogin(email, { totp: totp.generate({ timestamp: Date.now() + 30_000 }) });
      await page.getByRole('link', { name: 'Sessions' }).click();
      const otherRow = page.locator(`tr[data-session-id="${other.sessionId}"]`);
      await otherRow.waitFor();
      assert.match(await otherRow.innerText(), /second-device/);
      await checkPage(page, 'sessions');
      await otherRow.getByRole('button', { name: 'Revoke' }).click();
      await otherRow.waitFor({ state: 'detached' });
      const revoked = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${other.token}` } });
      assert.is(revoked.status, 401, 'the revoked session no longer works');

      // Audit log, filtered.
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByLabel('Action').fill('auth.*');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByTestId('audit').getByText('auth.login').first().waitFor();
      await checkPage(page, 'audit');

      await page.getByRole('link', { name: 'Two-factor' }).click();
      await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
      await checkPage(page, 'two-factor');
      await page.getByRole('link', { name: 'Call history' }).click();
      await page.getByRole('heading', { name: 'Call history' }).waitFor();
      await checkPage(page, 'call-history');

      // Team, API keys (a new key is shown once), tenant settings.
      await page.getByRole('link', { name: 'Team' }).click();
      await page.getByRole('cell', { name: email }).waitFor();
      await checkPage(page, 'team');
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByLabel('Name').fill('reporting');
      await page.getByRole('button', { name: 'Create key' }).click();
      assert.match(await page.getByTestId('issued-key').innerText(), /^sak_/);
      await checkPage(page, 'api-keys');
      await page.getByRole('link', { name: 'Numbers' }).click();
      await page.getByTestId('numbers').getByRole('cell', { name: '2000' }).waitFor();
      await checkPage(page, 'numbers');
      await page.getByRole('link', { name: 'DNC and consent' }).click();
      await page.getByLabel('Add a number').fill('+14157770123');
      await page.getByRole('button', { name: 'Add to the list' }).click();
      await page.getByTestId('dnc').getByRole('cell', { name: '+14157770123' }).waitFor();
      await checkPage(page, 'compliance');
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Owners and admins must use two-factor authentication').waitFor();
      await checkPage(page, 'settings');
    } finally {
      await context.close();
    }
  });

  test("a viewer is not offered a manager's page and cannot reach it", async () => {
    const email = 'viewer@example.com';
    await user('viewer', email);
    const context = await browser.newContext();
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    const page = await context.newPage();
    try {
      await page.goto(`${base}/console`);
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Live calls' }).waitFor();
      const nav = page.getByRole('navigation', { name: 'Console' });
      assert.is(await nav.getByRole('link', { name: 'Agents' }).count(), 0, 'no Agents link');
      assert.is(await nav.getByRole('link', { name: 'Contacts' }).count(), 0, 'no Contacts link');
      assert.is(await nav.getByRole('link', { name: 'API keys' }).count(), 0, 'no API keys link');
      assert.is(await nav.getByRole('link', { name: 'Live calls' }).count(), 1);
      await page.goto(`${base}/console/agents`);
      await page.getByTestId('not-allowed').waitFor();
      assert.is(await page.getByRole('button', { name: 'Save' }).count(), 0);
      await checkPage(page, 'viewer-refused');
    } finally {
      await context.close();
    }
  });

  test('no serious or critical accessibility violation on any page', () => {
    assert.equal(accessibility, []);
  });
}

test.run();
