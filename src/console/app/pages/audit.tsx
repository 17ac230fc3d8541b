/// <reference lib="dom" />
/** The audit log (newest first) with the API's filters: actor, action (exact or a prefix ending in *), time range. */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { formatTime } from '../format.ts';

interface AuditEntry { id: number; at: string; actor: string; action: string; target: string | null; sourceIp: string | null }

export function AuditPage() {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [page, setPage] = useState<Page<AuditEntry> | null>(null);
  const [error, setError] = useState('');

  const load = (cursor?: string): void => {
    const q = new URLSearchParams({ limit: '50' });
    if (actor.trim()) q.set('actor', actor.trim());
    if (action.trim()) q.set('action', action.trim());
    if (from) q.set('from', new Date(from).toISOString());
    if (to) q.set('to', new Date(to).toISOString());
    if (cursor) q.set('cursor', cursor);
    setError('');
    api<Page<AuditEntry>>('GET', `/v1/audit?${q.toString()}`).then(
      (p) => setPage(cursor && page ? { items: [...page.items, ...p.items], nextCursor: p.nextCursor } : p),
      (err) => setError(messageOf(err)),
    );
  };
  useEffect(() => load(), []);

  return (
    <section>
      <h1>Audit log</h1>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); load(); }}>
        <label for="f-actor">Actor</label><input id="f-actor" value={actor} placeholder="user:…" onInput={(e) => setActor(e.currentTarget.value)} />
        <label for="f-action">Action</label><input id="f-action" value={action} placeholder="auth.*" onInput={(e) => setAction(e.currentTarget.value)} />
        <label for="f-from">From</label><input id="f-from" type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        <label for="f-to">To</label><input id="f-to" type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        <button type="submit">Filter</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      <table data-testid="audit">
        <thead><tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Source</th></tr></thead>
        <tbody>
          {page?.items.map((e) => <tr key={e.id}><td>{formatTime(e.at)}</td><td>{e.actor}</td><td>{e.action}</td><td>{e.target ?? '—'}</td><td>{e.sourceIp ?? '—'}</td></tr>)}
        </tbody>
      </table>
      {page?.nextCursor && <button type="button" onClick={() => load(page.nextCursor!)}>More</button>}
    </section>
  );
}
