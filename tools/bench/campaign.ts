/**
 * `smartalex bench-campaign`: how well the campaign dialler keeps the pace it
 * is asked for, and how soon a campaign's webhooks reach their receiver.
 * In process, on a fresh in-memory PGlite: for each asked rate, a campaign of
 * `--contacts` contacts runs through the real runner and the real TCPA check
 * (the far end is a stand-in that answers and hangs up after `--hold-ms`);
 * the start of every dial is timed, giving the achieved calls per second and
 * the gaps between starts. Every contact's campaign.contact.completed event
 * (and each campaign.completed) goes through the outbox and the delivery
 * worker to a loopback HTTP receiver; the delivery latency is arrival minus
 * the event's timestamp (written with the change that caused it). Prints
 * medians and p99 and the machine; `--json` writes the same.
 */
import { createServer, type Server } from 'node:http';
import { addNumber, createAgent, createTenant, getCampaign, migrate, openDatabase, PostgresTenantKeyStore, schema, withTenant, type Database } from '../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../storage/vault/index.ts';
import { CampaignRunner, compliantDialer, createCampaign, startCampaign } from '../../src/campaigns/index.ts';
import { setCallingPolicy } from '../../src/compliance/index.ts';
import { createWebhookEndpoint, WebhookDeliveryWorker } from '../../src/webhooks/index.ts';
import { machineInfo } from './report.ts';
import { summarize, type Summary } from './stats.ts';

export interface CampaignBenchOptions {
  /** Contacts per campaign (one campaign per rate). */
  contacts: number;
  /** Asked calls per second, one campaign each. */
  rates: number[];
  maxConcurrent: number;
  /** How long each stand-in call lasts. */
  holdMs: number;
  /** Give up on a campaign (and its webhooks) after this long. */
  timeoutMs?: number;
}

export interface PacingResult {
  askedCps: number;
  dials: number;
  /** (dials - 1) over the time from the first start to the last. */
  achievedCps: number;
  /** achieved / asked, in percent. */
  accuracyPercent: number;
  /** Time between consecutive dial starts, ms (the ideal is 1000 / asked). */
  gapMs: Summary;
}

export interface CampaignBenchReport {
  contacts: number;
  maxConcurrent: number;
  holdMs: number;
  pacing: PacingResult[];
  webhooks: { delivered: number; latencyMs: Summary };
  machine: ReturnType<typeof machineInfo>;
}

interface Receiver { server: Server; url: string; latencies: number[] }

async function startReceiver(): Promise<Receiver> {
  const latencies: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => {
      const arrived = Date.now();
      try {
        const { timestamp } = JSON.parse(body) as { timestamp?: string };
        if (timestamp) latencies.push(arrived - Date.parse(timestamp));
      } catch { /* not ours */ }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/hook`, latencies };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench-campaign: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function pacingRun(db: Database, keys: KeyRing, receiver: Receiver, cps: number, index: number, opts: CampaignBenchOptions): Promise<PacingResult> {
  const actor = 'bench:campaign';
  const tenant = await createTenant(db, { name: `bench-campaign-${index}` });
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: `+1555077${String(index).padStart(4, '0')}`, agentId: agent.id, allowedCidrs: [] });
  await setCallingPolicy(db, tenant.id, { windowStart: '00:00', windowEnd: '24:00', requireConsent: false });
  const contacts = await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values(Array.from({ length: opts.contacts }, (_, i) => ({
    tenantId: tenant.id, phone: `+1666${String(index).padStart(2, '0')}${String(i).padStart(5, '0')}`,
  }))).returning({ id: schema.contacts.id }));
  await createWebhookEndpoint(db, keys, tenant.id, { url: receiver.url, eventTypes: ['campaign.contact.completed', 'campaign.completed'], actor });
  const campaign = await createCampaign(db, tenant.id, {
    name: `pace ${cps}`, agentId: agent.id, contactIds: contacts.map((c) => c.id), callsPerSecond: cps, maxConcurrent: opts.maxConcurrent, maxAttempts: 1,
  }, actor);
  const starts: number[] = [];
  const runner = new CampaignRunner({
    db, pollMs: 50,
    dial: compliantDialer(db, async () => {
      await new Promise((r) => setTimeout(r, opts.holdMs));
      return { outcome: 'answered', callId: null };
    }),
  });
  runner.onDialStart = (d) => starts.push(d.at);
  const delivered = receiver.latencies.length;
  await startCampaign(db, tenant.id, campaign.id, actor);
  runner.start();
  try {
    await until(`the ${cps}/s campaign`, async () => (await getCampaign(db, tenant.id, campaign.id))?.state === 'completed', opts.timeoutMs ?? 600_000);
  } finally {
    await runner.stop();
  }
  await until(`the ${cps}/s campaign's webhooks`, () => receiver.latencies.length >= delivered + opts.contacts + 1, opts.timeoutMs ?? 600_000);
  starts.sort((a, b) => a - b);
  const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
  const span = starts[starts.length - 1]! - starts[0]!;
  const achieved = starts.length > 1 && span > 0 ? ((starts.length - 1) * 1000) / span : 0;
  return { askedCps: cps, dials: starts.length, achievedCps: achieved, accuracyPercent: (achieved / cps) * 100, gapMs: summarize(gaps.length ? gaps : [0])! };
}

export async function benchCampaign(opts: CampaignBenchOptions): Promise<CampaignBenchReport> {
  const db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  const receiver = await startReceiver();
  let worker: WebhookDeliveryWorker | undefined;
  try {
    await migrate(db);
    const keys = new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) });
    worker = new WebhookDeliveryWorker({ db, keys, allowLoopback: true, pollMs: 100 });
    worker.start();
    const pacing: PacingResult[] = [];
    for (const [i, cps] of opts.rates.entries()) pacing.push(await pacingRun(db, keys, receiver, cps, i, opts));
    return {
      contacts: opts.contacts, maxConcurrent: opts.maxConcurrent, holdMs: opts.holdMs, pacing,
      webhooks: { delivered: receiver.latencies.length, latencyMs: summarize(receiver.latencies)! },
      machine: machineInfo(),
    };
  } finally {
    await worker?.stop();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    await db.close();
  }
}

export function formatCampaignReport(r: CampaignBenchReport): string {
  const m = r.machine;
  const f = (n: number, d = 1): string => n.toFixed(d);
  return [
    `campaign dialler pacing (${r.contacts} contacts per campaign, up to ${r.maxConcurrent} at once, calls held ${r.holdMs} ms; real runner and TCPA check on in-memory PGlite)`,
    `${'asked/s'.padStart(8)} ${'achieved/s'.padStart(11)} ${'accuracy'.padStart(9)} ${'gap median ms'.padStart(14)} ${'gap p99 ms'.padStart(11)} ${'ideal gap ms'.padStart(13)}`,
    ...r.pacing.map((p) => `${f(p.askedCps, 2).padStart(8)} ${f(p.achievedCps, 2).padStart(11)} ${`${f(p.accuracyPercent)}%`.padStart(9)} ${f(p.gapMs.p50).padStart(14)} ${f(p.gapMs.p99).padStart(11)} ${f(1000 / p.askedCps).padStart(13)}`),
    `webhook delivery latency (event written -> receiver, ${r.webhooks.delivered} deliveries over loopback HTTP): median ${f(r.webhooks.latencyMs.p50)} ms, p99 ${f(r.webhooks.latencyMs.p99)} ms, max ${f(r.webhooks.latencyMs.max)} ms`,
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.totalMemMB} MB, Node ${m.nodeVersion}, load ${m.loadAverage.join(' ')}`,
  ].join('\n');
}
