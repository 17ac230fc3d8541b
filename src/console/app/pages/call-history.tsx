/// <reference lib="dom" />
/** The call log (newest first), a page at a time, linking to each call's detail. */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { formatDuration, formatTime } from '../format.ts';
import { BASE, Link } from '../router.tsx';

interface CallRow { id: string; direction: string; outcome: string; startedAt: string; durationMs: number | null; endReason: string | null }

export function CallHistoryPage() {
  const [page, setPage] = useState<Page<CallRow> | null>(null);
  const [error, setError] = useState('');
  const load = (cursor?: string): void => {
    api<Page<CallRow>>('GET', `/v1/calls?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).then(setPage, (err) => setError(messageOf(err)));
  };
  useEffect(() => load(), []);
  return (
    <section>
      <h1>Call history</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <table>
        <thead><tr><th scope="col">Started</th><th scope="col">Direction</th><th scope="col">Outcome</th><th scope="col">Duration</th><th scope="col">End reason</th></tr></thead>
        <tbody>
          {page?.items.map((c) => (
            <tr key={c.id}>
              <td><Link href={`${BASE}/calls/${c.id}`}>{formatTime(c.startedAt)}</Link></td>
              <td>{c.direction}</td><td>{c.outcome}</td><td>{c.durationMs === null ? '—' : formatDuration(c.durationMs)}</td><td>{c.endReason ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page?.nextCursor && <button type="button" onClick={() => load(page.nextCursor!)}>Older calls</button>}
    </section>
  );
}
