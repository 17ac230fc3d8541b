/// <reference lib="dom" />
/**
 * Campaigns: the list, a create form (agent, contacts picked from the list or
 * every contact, window, pacing, retries), and one campaign's progress
 * (contacts per state and outcome) with each contact's outcome, polled every
 * few seconds while it runs. Start, pause, resume and cancel are offered only
 * for the steps its state allows and only with campaigns:write (a viewer
 * reads progress); the API refuses the rest anyway (409 / 403).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { formatTime } from '../format.ts';
import { can, type Me } from '../session.ts';

type CampaignState = 'draft' | 'running' | 'paused' | 'cancelled' | 'completed';
interface Campaign {
  id: string; name: string; agentId: string; state: CampaignState; startsAt: string | null; endsAt: string | null;
  maxConcurrent: number; callsPerSecond: number; maxAttempts: number; retrySpacingSeconds: number; createdAt: string; completedAt: string | null;
}
interface Progress { total: number; byState: Record<string, number>; byOutcome: Record<string, number> }
interface CampaignWithProgress extends Campaign { progress: Progress }
interface ContactOutcome { contactId: string; state: string; outcome: string | null; detail: string | null; attempts: number; nextAttemptAt: string | null; completedAt: string | null }
interface Agent { id: string; name: string }
interface Contact { id: string; name: string | null; phone: string }

const POLL_MS = 2000;
const ACTIONS: Record<CampaignState, ('start' | 'pause' | 'resume' | 'cancel')[]> = {
  draft: ['start', 'cancel'], running: ['pause', 'cancel'], paused: ['resume', 'cancel'], cancelled: [], completed: [],
};
const label = (a: string): string => a[0]!.toUpperCase() + a.slice(1);
/** A datetime-local value (the browser's local time) as an ISO instant, or null when empty. */
const instant = (local: string): string | null => (local ? new Date(local).toISOString() : null);

function CreateForm(props: { onCreated: (id: string) => void }) {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [contacts, setContacts] = useState<Contact[] | null>(null);
  const [name, setName] = useState('');
  const [agentId, setAgentId] = useState('');
  const [everyone, setEveryone] = useState(false);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [startsAt, setStartsAt] = useState('');
  const [endsAt, setEndsAt] = useState('');
  const [maxConcurrent, setMaxConcurrent] = useState('1');
  const [callsPerSecond, setCallsPerSecond] = useState('1');
  const [maxAttempts, setMaxAttempts] = useState('3');
  const [retrySpacing, setRetrySpacing] = useState('3600');
  const [error, setError] = useState('');
  useEffect(() => {
    api<Page<Agent>>('GET', '/v1/agents?limit=200').then((p) => { setAgents(p.items); setAgentId((a) => a || (p.items[0]?.id ?? '')); }, (err) => setError(messageOf(err)));
    api<Page<Contact>>('GET', '/v1/contacts?limit=200').then((p) => setContacts(p.items), (err) => setError(messageOf(err)));
  }, []);
  const toggle = (id: string, on: boolean): void => setPicked((s) => { const next = new Set(s); if (on) next.add(id); else next.delete(id); return next; });

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError('');
    try {
      const created = await api<CampaignWithProgress>('POST', '/v1/campaigns', {
        name, agentId,
        ...(everyone ? { contactFilter: {} } : { contactIds: [...picked] }),
        startsAt: instant(startsAt), endsAt: instant(endsAt),
        maxConcurrent: Number(maxConcurrent), callsPerSecond: Number(callsPerSecond), maxAttempts: Number(maxAttempts), retrySpacingSeconds: Number(retrySpacing),
      });
      setName('');
      setPicked(new Set());
      props.onCreated(created.id);
    } catch (err) { setError(messageOf(err)); }
  };

  return (
    <form onSubmit={submit} class="campaign-form">
      <h2>New campaign</h2>
      <label for="campaign-name">Campaign name</label>
      <input id="campaign-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="campaign-agent">Agent</label>
      <select id="campaign-agent" required value={agentId} onChange={(e) => setAgentId(e.currentTarget.value)}>
        {agents?.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
      </select>
      <fieldset>
        <legend>Contacts</legend>
        <label class="check"><input type="checkbox" checked={everyone} onChange={(e) => setEveryone(e.currentTarget.checked)} /> Every contact</label>
        {!everyone && contacts && (contacts.length === 0 ? <p class="muted">No contacts yet.</p> : (
          <ul class="choices" data-testid="campaign-contacts">
            {contacts.map((c) => (
              <li key={c.id}><label class="check"><input type="checkbox" checked={picked.has(c.id)} onChange={(e) => toggle(c.id, e.currentTarget.checked)} /> {c.name ?? '—'} <span class="muted">{c.phone}</span></label></li>
            ))}
          </ul>
        ))}
      </fieldset>
      <fieldset>
        <legend>Window and pacing</legend>
        <label for="campaign-starts">Not before (optional)</label>
        <input id="campaign-starts" type="datetime-local" value={startsAt} onInput={(e) => setStartsAt(e.currentTarget.value)} />
        <label for="campaign-ends">Not after (optional)</label>
        <input id="campaign-ends" type="datetime-local" value={endsAt} onInput={(e) => setEndsAt(e.currentTarget.value)} />
        <label for="campaign-concurrent">Calls at once</label>
        <input id="campaign-concurrent" type="number" min={1} max={1000} required value={maxConcurrent} onInput={(e) => setMaxConcurrent(e.currentTarget.value)} />
        <label for="campaign-cps">Calls started per second</label>
        <input id="campaign-cps" type="number" min={0.01} max={100} step="any" required value={callsPerSecond} onInput={(e) => setCallsPerSecond(e.currentTarget.value)} />
        <label for="campaign-attempts">Attempts per contact</label>
        <input id="campaign-attempts" type="number" min={1} max={10} required value={maxAttempts} onInput={(e) => setMaxAttempts(e.currentTarget.value)} />
        <label for="campaign-spacing">Seconds between attempts</label>
        <input id="campaign-spacing" type="number" min={0} required value={retrySpacing} onInput={(e) => setRetrySpacing(e.currentTarget.value)} />
      </fieldset>
      {error && <p role="alert" class="error">{error}</p>}
      <button type="submit" disabled={!agents || !contacts}>Create campaign</button>
    </form>
  );
}

function Counts(props: { title: string; counts: Record<string, number>; testId: string }) {
  return (
    <table class="counts" data-testid={props.testId}>
      <caption>{props.title}</caption>
      <thead><tr>{Object.keys(props.counts).map((k) => <th key={k} scope="col">{k}</th>)}</tr></thead>
      <tbody><tr>{Object.entries(props.counts).map(([k, v]) => <td key={k} data-key={k}>{v}</td>)}</tr></tbody>
    </table>
  );
}

function CampaignDetail(props: { id: string; writable: boolean; onChanged: () => void }) {
  const [campaign, setCampaign] = useState<CampaignWithProgress | null>(null);
  const [outcomes, setOutcomes] = useState<ContactOutcome[]>([]);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  const lastState = useRef<CampaignState | null>(null);
  /** Reads the campaign and its contacts; tells the list when the state moved; resolves to whether it can still change. */
  const load = (): Promise<boolean> => Promise.all([
    api<CampaignWithProgress>('GET', `/v1/campaigns/${props.id}`),
    api<Page<ContactOutcome>>('GET', `/v1/campaigns/${props.id}/contacts?limit=200`),
  ]).then(([c, o]) => {
    setCampaign(c);
    setOutcomes(o.items);
    if (lastState.current !== null && lastState.current !== c.state) props.onChanged();
    lastState.current = c.state;
    return c.state !== 'completed' && c.state !== 'cancelled';
  }, (err) => { setError(messageOf(err)); return true; });
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Polled while it can still change: progress moves without anyone pressing anything.
    const tick = (): void => { void load().then((live) => { if (live && !stopped) timer = setTimeout(tick, POLL_MS); }); };
    tick();
    return () => { stopped = true; clearTimeout(timer); };
  }, [props.id, tick]);
  const act = async (action: string): Promise<void> => {
    setError('');
    try {
      await api('POST', `/v1/campaigns/${props.id}/${action}`, {});
      // A step restarts the polling (a completed or cancelled campaign had stopped it).
      setTick((n) => n + 1);
    } catch (err) { setError(messageOf(err)); }
  };
  if (!campaign) return error ? <p role="alert" class="error">{error}</p> : <p>Loading…</p>;
  const p = campaign.progress;
  return (
    <div class="campaign" data-testid="campaign-detail">
      <h2>{campaign.name}</h2>
      <dl class="facts">
        <dt>State</dt><dd data-testid="campaign-state">{campaign.state}</dd>
        <dt>Contacts</dt><dd>{p.total} ({p.byState.done ?? 0} done)</dd>
        <dt>Window</dt><dd>{formatTime(campaign.startsAt)} to {formatTime(campaign.endsAt)}</dd>
        <dt>Pacing</dt><dd>{campaign.maxConcurrent} at once, {campaign.callsPerSecond} per second</dd>
        <dt>Retries</dt><dd>{campaign.maxAttempts} attempts, {campaign.retrySpacingSeconds} s apart</dd>
      </dl>
      {props.writable && ACTIONS[campaign.state].map((a) => <button key={a} type="button" class="gap" onClick={() => void act(a)}>{label(a)}</button>)}
      {error && <p role="alert" class="error">{error}</p>}
      <progress max={Math.max(1, p.total)} value={p.byState.done ?? 0} aria-label="Contacts done">{p.byState.done ?? 0} of {p.total}</progress>
      <Counts title="Contacts by state" counts={p.byState} testId="campaign-by-state" />
      <Counts title="Final outcomes" counts={p.byOutcome} testId="campaign-by-outcome" />
      <table data-testid="campaign-outcomes">
        <caption>Each contact</caption>
        <thead><tr><th scope="col">Contact</th><th scope="col">State</th><th scope="col">Outcome</th><th scope="col">Why</th><th scope="col">Attempts</th><th scope="col">Next attempt</th></tr></thead>
        <tbody>
          {outcomes.map((o) => (
            <tr key={o.contactId}><td><code>{o.contactId.slice(0, 8)}</code></td><td>{o.state}</td><td>{o.outcome ?? '—'}</td><td>{o.detail ?? '—'}</td><td>{o.attempts}</td><td>{formatTime(o.nextAttemptAt)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function CampaignsPage(props: { me: Me }) {
  const [campaigns, setCampaigns] = useState<Campaign[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState('');
  const writable = can(props.me, 'campaigns:write');
  const load = (): void => { api<Page<Campaign>>('GET', '/v1/campaigns?limit=100').then((p) => setCampaigns(p.items), (err) => setError(messageOf(err))); };
  useEffect(load, []);
  return (
    <section>
      <h1>Campaigns</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <table data-testid="campaigns">
        <thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Created</th></tr></thead>
        <tbody>
          {campaigns?.length === 0 && <tr><td colSpan={3}>No campaigns.</td></tr>}
          {campaigns?.map((c) => (
            <tr key={c.id} data-campaign-id={c.id}>
              <td><button type="button" class="link" aria-pressed={c.id === selected} onClick={() => setSelected(c.id)}>{c.name}</button></td>
              <td>{c.state}</td><td>{formatTime(c.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected && <CampaignDetail key={selected} id={selected} writable={writable} onChanged={load} />}
      {writable && <CreateForm onCreated={(id) => { load(); setSelected(id); }} />}
    </section>
  );
}
