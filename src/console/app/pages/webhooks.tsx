/// <reference lib="dom" />
/**
 * Webhooks: the endpoints (create with event types, enable / disable, rotate
 * the signing secret: a new secret is shown once and only until the page
 * changes), and one endpoint's delivery log (newest first, polled) with each
 * delivery's attempts and a Replay. Writes only with webhooks:manage.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { formatTime } from '../format.ts';
import { can, type Me } from '../session.ts';
import { WEBHOOK_EVENT_TYPES as EVENT_TYPES } from '../webhook-events.ts';

const POLL_MS = 2000;

interface Endpoint {
  id: string; url: string; description: string | null; eventTypes: string[]; enabled: boolean; disabledReason: string | null;
  consecutiveFailures: number; previousSecretValidUntil: string | null; createdAt: string;
}
interface Delivery {
  id: number; eventId: string; eventType: string; endpointId: string; status: string; attempts: number; nextAttemptAt: string;
  lastStatusCode: number | null; lastError: string | null; deliveredAt: string | null; createdAt: string;
}
interface Attempt { attempt: number; at: string; statusCode: number | null; error: string | null; durationMs: number }

function CreateEndpoint(props: { onCreated: (secret: string) => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState<Set<string>>(new Set(['call.ended']));
  const [error, setError] = useState('');
  const toggle = (t: string, on: boolean): void => setTypes((s) => { const next = new Set(s); if (on) next.add(t); else next.delete(t); return next; });
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError('');
    try {
      const created = await api<Endpoint & { secret: string }>('POST', '/v1/webhooks/endpoints', { url, eventTypes: [...types], description: description.trim() || null });
      setUrl('');
      setDescription('');
      props.onCreated(created.secret);
    } catch (err) { setError(messageOf(err)); }
  };
  return (
    <form onSubmit={submit}>
      <h2>New endpoint</h2>
      <label for="webhook-url">Endpoint URL</label>
      <input id="webhook-url" type="url" required maxLength={2000} value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      <label for="webhook-description">Description (optional)</label>
      <input id="webhook-description" maxLength={200} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <fieldset>
        <legend>Event types</legend>
        <ul class="choices">
          {EVENT_TYPES.map((t) => <li key={t}><label class="check"><input type="checkbox" checked={types.has(t)} onChange={(e) => toggle(t, e.currentTarget.checked)} /> {t}</label></li>)}
        </ul>
      </fieldset>
      {error && <p role="alert" class="error">{error}</p>}
      <button type="submit" disabled={types.size === 0}>Create endpoint</button>
    </form>
  );
}

function Attempts(props: { deliveryId: number }) {
  const [attempts, setAttempts] = useState<Attempt[] | null>(null);
  useEffect(() => { api<{ items: Attempt[] }>('GET', `/v1/webhooks/deliveries/${props.deliveryId}/attempts`).then((r) => setAttempts(r.items), () => setAttempts([])); }, [props.deliveryId]);
  if (!attempts) return <span>…</span>;
  return (
    <ol class="attempts">
      {attempts.map((a) => <li key={a.attempt}>{formatTime(a.at)}: {a.statusCode ?? a.error ?? '—'} ({a.durationMs} ms)</li>)}
    </ol>
  );
}

function Deliveries(props: { endpoint: Endpoint; manage: boolean }) {
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const load = (): Promise<void> => api<Page<Delivery>>('GET', `/v1/webhooks/deliveries?endpointId=${props.endpoint.id}&limit=50`)
    .then((p) => setDeliveries(p.items), (err) => setError(messageOf(err)));
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = (): void => { void load().finally(() => { if (!stopped) timer = setTimeout(tick, POLL_MS); }); };
    tick();
    return () => { stopped = true; clearTimeout(timer); };
  }, [props.endpoint.id]);
  const replay = async (id: number): Promise<void> => {
    setError('');
    setStatus('');
    try { await api('POST', `/v1/webhooks/deliveries/${id}/replay`, {}); setStatus(`Delivery ${id} queued again.`); await load(); } catch (err) { setError(messageOf(err)); }
  };
  return (
    <div data-testid="deliveries">
      <h2>Deliveries to {props.endpoint.url}</h2>
      {error && <p role="alert" class="error">{error}</p>}
      {status && <p role="status">{status}</p>}
      <table>
        <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last response</th><th scope="col">Created</th><th scope="col">Delivered</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {deliveries?.length === 0 && <tr><td colSpan={7}>No deliveries yet.</td></tr>}
          {deliveries?.map((d) => (
            <tr key={d.id} data-delivery-id={d.id} data-status={d.status}>
              <td>{d.eventType}<br /><code class="muted">{d.eventId}</code></td>
              <td>{d.status}</td>
              <td>{d.attempts}{open === d.id && <Attempts deliveryId={d.id} />}</td>
              <td>{d.lastStatusCode ?? d.lastError ?? '—'}</td>
              <td>{formatTime(d.createdAt)}</td><td>{formatTime(d.deliveredAt)}</td>
              <td>
                <button type="button" class="link" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? null : d.id)}>Attempts</button>
                {props.manage && <>{' '}<button type="button" onClick={() => void replay(d.id)}>Replay</button></>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function WebhooksPage(props: { me: Me }) {
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState('');
  const manage = can(props.me, 'webhooks:manage');
  const load = (): void => { api<Page<Endpoint>>('GET', '/v1/webhooks/endpoints?limit=100').then((p) => setEndpoints(p.items), (err) => setError(messageOf(err))); };
  useEffect(load, []);
  const act = async (work: () => Promise<unknown>): Promise<void> => {
    setError('');
    setSecret(null);
    try { await work(); load(); } catch (err) { setError(messageOf(err)); }
  };
  const current = endpoints?.find((e) => e.id === selected);
  return (
    <section>
      <h1>Webhooks</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {secret && <p role="status" class="notice">Signing secret (shown once, store it now): <code data-testid="webhook-secret">{secret}</code></p>}
      <table data-testid="endpoints">
        <thead><tr><th scope="col">URL</th><th scope="col">Description</th><th scope="col">Events</th><th scope="col">Enabled</th><th scope="col">Failures</th>{manage && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
        <tbody>
          {endpoints?.length === 0 && <tr><td colSpan={manage ? 6 : 5}>No endpoints.</td></tr>}
          {endpoints?.map((e) => (
            <tr key={e.id} data-endpoint-id={e.id}>
              <td><button type="button" class="link" aria-pressed={e.id === selected} onClick={() => setSelected(e.id)}>{e.url}</button></td>
              <td>{e.description ?? '—'}</td>
              <td>{e.eventTypes.join(', ')}</td>
              <td>{e.enabled ? 'yes' : `no${e.disabledReason ? ` (${e.disabledReason})` : ''}`}</td>
              <td>{e.consecutiveFailures}</td>
              {manage && (
                <td>
                  <button type="button" onClick={() => void act(() => api('PATCH', `/v1/webhooks/endpoints/${e.id}`, { enabled: !e.enabled }))}>{e.enabled ? 'Disable' : 'Enable'}</button>{' '}
                  <button type="button" onClick={() => void act(async () => {
                    const r = await api<{ secret: string }>('POST', `/v1/webhooks/endpoints/${e.id}/rotate-secret`, {});
                    setSecret(r.secret);
                  })}>Rotate secret</button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {current && <Deliveries key={current.id} endpoint={current} manage={manage} />}
      {manage && <CreateEndpoint onCreated={(s) => { load(); setSecret(s); }} />}
    </section>
  );
}
