/// <reference lib="dom" />
/** My sessions and devices (user agent, address, created, last seen), each revocable; revoking the current one logs out. */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.ts';
import { formatTime } from '../format.ts';

interface SessionInfo { id: string; current: boolean; userAgent: string | null; sourceIp: string | null; createdAt: string; lastSeenAt: string; expiresAt: string }

export function SessionsPage(props: { onLoggedOut: () => void }) {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState('');
  const load = (): void => { api<{ items: SessionInfo[] }>('GET', '/v1/me/sessions').then((r) => setSessions(r.items), (err) => setError(messageOf(err))); };
  useEffect(load, []);
  const revoke = async (s: SessionInfo): Promise<void> => {
    setError('');
    try {
      await api('DELETE', `/v1/me/sessions/${s.id}`);
      if (s.current) props.onLoggedOut(); else load();
    } catch (err) { setError(messageOf(err)); }
  };
  return (
    <section>
      <h1>Sessions and devices</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <table data-testid="sessions">
        <thead><tr><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Created</th><th scope="col">Last seen</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {sessions?.map((s) => (
            <tr key={s.id} data-session-id={s.id}>
              <td>{s.userAgent ?? 'unknown'}{s.current && <strong> (this session)</strong>}</td>
              <td>{s.sourceIp ?? '—'}</td><td>{formatTime(s.createdAt)}</td><td>{formatTime(s.lastSeenAt)}</td>
              <td><button type="button" onClick={() => void revoke(s)}>{s.current ? 'Log out' : 'Revoke'}</button></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
