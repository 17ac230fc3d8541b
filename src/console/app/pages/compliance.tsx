/// <reference lib="dom" />
/** Do-not-call list (add, remove) and consent records (in force; withdraw). Without the write permissions both are read-only. */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { formatTime } from '../format.ts';
import { can, type Me } from '../session.ts';

interface DncEntry { id: string; phone: string; reason: string | null; createdAt: string }
interface Consent { id: string; phone: string; kind: string; source: string | null; grantedAt: string }

export function CompliancePage(props: { me: Me }) {
  const [dnc, setDnc] = useState<DncEntry[] | null>(null);
  const [consents, setConsents] = useState<Consent[]>([]);
  const [phone, setPhone] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');
  const writeDnc = can(props.me, 'dnc:write');
  const writeConsent = can(props.me, 'consents:write');
  const load = (): void => {
    api<Page<DncEntry>>('GET', '/v1/dnc?limit=200').then((p) => setDnc(p.items), (err) => setError(messageOf(err)));
    if (can(props.me, 'consents:read')) api<Page<Consent>>('GET', '/v1/consents?limit=200').then((p) => setConsents(p.items), () => undefined);
  };
  useEffect(load, []);
  const act = async (work: () => Promise<unknown>): Promise<void> => {
    setError('');
    try { await work(); load(); } catch (err) { setError(messageOf(err)); }
  };
  return (
    <section>
      <h1>Do not call and consent</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <h2>Do-not-call list</h2>
      <table data-testid="dnc">
        <thead><tr><th scope="col">Number</th><th scope="col">Reason</th><th scope="col">Added</th>{writeDnc && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
        <tbody>
          {dnc?.length === 0 && <tr><td colSpan={writeDnc ? 4 : 3}>The list is empty.</td></tr>}
          {dnc?.map((d) => (
            <tr key={d.id}><td>{d.phone}</td><td>{d.reason ?? '—'}</td><td>{formatTime(d.createdAt)}</td>
              {writeDnc && <td><button type="button" onClick={() => void act(() => api('DELETE', `/v1/dnc/${d.id}`))}>Remove</button></td>}</tr>
          ))}
        </tbody>
      </table>
      {writeDnc && (
        <form onSubmit={(e) => { e.preventDefault(); void act(async () => { await api('POST', '/v1/dnc', { phone, ...(reason.trim() ? { reason: reason.trim() } : {}) }); setPhone(''); setReason(''); }); }}>
          <label for="dnc-phone">Add a number</label>
          <input id="dnc-phone" required value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
          <label for="dnc-reason">Reason (optional)</label>
          <input id="dnc-reason" value={reason} maxLength={200} onInput={(e) => setReason(e.currentTarget.value)} />
          <button type="submit">Add to the list</button>
        </form>
      )}
      <h2>Consent in force</h2>
      <table>
        <thead><tr><th scope="col">Number</th><th scope="col">Kind</th><th scope="col">Source</th><th scope="col">Granted</th>{writeConsent && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
        <tbody>
          {consents.length === 0 && <tr><td colSpan={writeConsent ? 5 : 4}>No consent records.</td></tr>}
          {consents.map((c) => (
            <tr key={c.id}><td>{c.phone}</td><td>{c.kind}</td><td>{c.source ?? '—'}</td><td>{formatTime(c.grantedAt)}</td>
              {writeConsent && <td><button type="button" onClick={() => void act(() => api('POST', `/v1/consents/${c.id}/revoke`, {}))}>Withdraw</button></td>}</tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
