/**
 * An outbound campaign end to end: `smartalex serve` in its own process
 * dials 50 contacts through a SIPp carrier (uas-campaign.xml: numbers ending
 * in 3 are busy, in 7 ring until cancelled, the rest answer and hang up after
 * a second), driven through /v1/campaigns with an API key. Among them a
 * do-not-call entry and a contact without consent (refused, never dialled)
 * and one whose own time zone is at night (put off to its calling hours,
 * never dialled). The server is stopped (SIGTERM: it drains) mid-campaign and
 * started again on the same data; the campaign carries on and nobody is
 * called twice: SIPp's own message trace counts each number's calls (distinct
 * Call-IDs), which must equal the attempts the server recorded. Every wait
 * polls with a generous deadline (a loaded 2-core machine).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openConfiguredDatabase } from '../../src/database-setup.ts';
import { addNumber, createAgent, createTenant, issueApiKey, schema, withTenant } from '../../storage/index.ts';
import { addToDoNotCall, grantConsent, localClock, setCallingPolicy } from '../../src/compliance/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { startSippUas } from './support/harness.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the outbound campaign end-to-end test');

const COUNT = 50;
const ZONES = ['Pacific/Kiritimati', 'Asia/Tokyo', 'Asia/Kolkata', 'Europe/Berlin', 'UTC', 'America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu', 'Etc/GMT+12'];
const minutesIn = (zone: string): number => localClock(new Date(), zone).minutes;
/** Well inside 08:00-21:00 for the whole test / well outside it. */
const dayZone = (): string => ZONES.find((z) => minutesIn(z) >= 9 * 60 && minutesIn(z) < 20 * 60)!;
const nightZone = (): string => ZONES.find((z) => minutesIn(z) < 7 * 60 || minutesIn(z) >= 22 * 60)!;
const phoneOf = (i: number): string => `+1415240${String(i).padStart(4, '0')}`;

interface Progress { state: string; progress: { total: number; byState: Record<string, number>; byOutcome: Record<string, number> } }
interface ContactOutcome { contactId: string; state: string; outcome: string | null; detail: string | null; attempts: number; nextAttemptAt: string | null }

/** Each number's calls as SIPp saw them: distinct Call-IDs of the INVITEs it received. */
function callsPerNumber(messages: string): Map<string, number> {
  const seen = new Map<string, Set<string>>();
  for (const m of messages.matchAll(/received[^\n]*\n+INVITE sip:([^@\s]+)@[^\n]*\n(?:[^\n]+\n)*?Call-ID:\s*(\S+)/gi)) {
    const set = seen.get(m[1]!) ?? new Set<string>();
    set.add(m[2]!);
    seen.set(m[1]!, set);
  }
  return new Map([...seen].map(([n, s]) => [n, s.size]));
}

async function seed(env: Record<string, string>) {
  const config = loadConfig({ ...process.env, ...env });
  const db = await openConfiguredDatabase(config);
  try {
    const tenant = await createTenant(db, { name: 'campaigns' });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: '+14152409999', agentId: agent.id, allowedCidrs: [] });
    await setCallingPolicy(db, tenant.id, { timezone: dayZone(), windowStart: '08:00', windowEnd: '21:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] });
    const night = nightZone();
    const contacts = await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values(Array.from({ length: COUNT }, (_, i) => ({
      tenantId: tenant.id, name: `c${i}`, phone: phoneOf(i), timeZone: i === 2 ? night : null,
    }))).returning());
    for (let i = 0; i < COUNT; i++) if (i !== 1) await grantConsent(db, tenant.id, phoneOf(i), { source: 'e2e', actor: 'test' });
    await addToDoNotCall(db, tenant.id, phoneOf(0), { actor: 'test' });
    const key = await issueApiKey(db, tenant.id, { name: 'e2e', role: 'manager' });
    return { agentId: agent.id, contactIds: contacts.map((c) => c.id), auth: `Bearer ${key.key}` };
  } finally {
    await db.close();
  }
}

if (run) {
  test('a 50-contact campaign through SIPp: answered, busy, no answer, refusals, calling hours; a restart mid-campaign calls nobody twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalex-campaign-'));
    const messageFile = join(dir, 'sipp-messages.log');
    let sipp: ChildProcess | undefined;
    let server: ServerProcess | undefined;
    try {
      const uas = await startSippUas('uas-campaign.xml', ['-trace_msg', '-message_file', messageFile], { timeoutMs: 900_000, listenTimeoutMs: 60_000 });
      sipp = uas.child;
      const sipPort = uas.sipPort;
      const env = {
        SMARTALEX_DATA_DIR: dir, SMARTALEX_CAMPAIGN_VIA: `sip:127.0.0.1:${sipPort}`, SMARTALEX_CAMPAIGN_RING_TIMEOUT_S: '3', SMARTALEX_CAMPAIGN_POLL_MS: '200',
        SMARTALEX_DRAIN_TIMEOUT_S: '20', SMARTALEX_LOG_LEVEL: 'info',
      };
      const world = await seed(env);
      server = await startServerProcess(env);
      let base = `http://127.0.0.1:${server.httpPort}/v1`;
      const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
        const res = await fetch(`${base}${path}`, { method, headers: { authorization: world.auth, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
        return JSON.parse(text) as T;
      };
      const campaign = await api<{ id: string }>('POST', '/campaigns', {
        name: 'e2e', agentId: world.agentId, contactFilter: { phonePrefix: '+1415240' }, maxConcurrent: 3, callsPerSecond: 5, maxAttempts: 2, retrySpacingSeconds: 0,
      });
      await api('POST', `/campaigns/${campaign.id}/start`);
      const progress = () => api<Progress>('GET', `/campaigns/${campaign.id}`);
      await waitFor('a dozen contacts done', async () => (await progress()).progress.byState.done! >= 12, { timeoutMs: 180_000, intervalMs: 200 });

      // Restart mid-campaign: SIGTERM drains (no new dial; the calls in flight finish and are recorded), then the same data again.
      const before = await progress();
      assert.ok(before.progress.byState.done! < COUNT - 1, `stopped mid-campaign (${JSON.stringify(before.progress.byState)})`);
      assert.is(await server.stop('SIGTERM', 90_000), 0, 'the drained server exits 0');
      server = await startServerProcess(env);
      base = `http://127.0.0.1:${server.httpPort}/v1`;

      const settled = await waitForValue('every contact but the one waiting for its calling hours done', async () => {
        const p = await progress();
        return p.progress.byState.done === COUNT - 1 ? p : undefined;
      }, { timeoutMs: 300_000, intervalMs: 250 });
      assert.is(settled.state, 'running', 'the deferred contact keeps it running');

      const outcomes: ContactOutcome[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: ContactOutcome[]; nextCursor: string | null } = await api('GET', `/campaigns/${campaign.id}/contacts?limit=20${cursor ? `&cursor=${cursor}` : ''}`);
        outcomes.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      assert.is(outcomes.length, COUNT);
      const byIndex = (i: number) => outcomes.find((o) => o.contactId === world.contactIds[i])!;
      const table = JSON.stringify(world.contactIds.map((_, i) => [i, byIndex(i).outcome, byIndex(i).detail, byIndex(i).attempts]));
      assert.equal(settled.progress.byOutcome, { answered: 37, busy: 5, 'no-answer': 5, failed: 0, refused: 2, cancelled: 0 }, table);
      assert.equal([byIndex(0).outcome, byIndex(0).detail, byIndex(0).state], ['refused', 'do-not-call', 'done']);
      assert.equal([byIndex(1).outcome, byIndex(1).detail, byIndex(1).state], ['refused', 'no-consent', 'done']);
      assert.equal([byIndex(2).state, byIndex(2).outcome, byIndex(2).detail, byIndex(2).attempts], ['pending', null, 'outside-calling-hours', 0]);
      assert.ok(Date.parse(byIndex(2).nextAttemptAt!) > Date.now(), 'deferred to its calling hours');
      for (let i = 3; i < COUNT; i++) {
        const o = byIndex(i);
        const expected = i % 10 === 3 ? ['busy', 2, 'sip-486'] : i % 10 === 7 ? ['no-answer', 2, 'sip-487'] : ['answered', 1, null];
        assert.equal([o.outcome, o.attempts, o.detail, o.state], [...expected, 'done'], `contact ${i}: ${table}`);
      }
      const cancelled = await api<{ state: string }>('POST', `/campaigns/${campaign.id}/cancel`);
      assert.is(cancelled.state, 'cancelled');
      assert.is((await progress()).progress.byOutcome.cancelled, 1);
      assert.is(await server.stop('SIGTERM', 90_000), 0);
      server = undefined;

      // The far end's count: each number called exactly as often as recorded; the refused and the deferred never.
      const calls = callsPerNumber(readFileSync(messageFile, 'utf8'));
      for (let i = 0; i < COUNT; i++) {
        const number = phoneOf(i).replace('+', '');
        const seen = calls.get(phoneOf(i)) ?? calls.get(number) ?? 0;
        assert.is(seen, i < 3 ? 0 : byIndex(i).attempts, `calls SIPp received for contact ${i}`);
      }
    } finally {
      sipp?.kill('SIGKILL');
      await server?.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
