/// <reference lib="dom" />
/** API keys: the list (prefix, role, created, last used), create (the key is shown once), rotate, revoke. Roles above the caller's are not offered. */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.ts';
import { formatTime } from '../format.ts';
import { can, grantable, type Me, type Role } from '../session.ts';

interface ApiKey { id: string; name: string; prefix: string; role: Role; createdAt: string; lastUsedAt: string | null; expiresAt: string | null }

export function ApiKeysPage(props: { me: Me }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [issued, setIssued] = useState<{ prefix: string; key: string } | null>(null);
  const [error, setError] = useState('');
  const manage = can(props.me, 'apikeys:manage');
  const load = (): void => { api<{ items: ApiKey[] }>('GET', '/v1/api-keys').then((r) => setKeys(r.items), (err) => setError(messageOf(err))); };
  useEffect(load, []);
  const act = async (work: () => Promise<{ prefix: string; key: string } | void>): Promise<void> => {
    setError('');
    try { const out = await work(); if (out) setIssued(out); load(); } catch (err) { setError(messageOf(err)); }
  };
  return (
    <section>
      <h1>API keys</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {issued && <p role="status" class="notice">New key {issued.prefix} (shown once, store it now): <code data-testid="issued-key">{issued.key}</code></p>}
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th>{manage && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
        <tbody>
          {keys?.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td><td><code>{k.prefix}</code></td><td>{k.role}</td><td>{formatTime(k.createdAt)}</td><td>{formatTime(k.lastUsedAt)}</td><td>{formatTime(k.expiresAt)}</td>
              {manage && (
                <td>
                  <button type="button" onClick={() => void act(() => api('POST', `/v1/api-keys/${k.id}/rotate`, {}))}>Rotate</button>{' '}
                  <button type="button" onClick={() => void act(() => api('DELETE', `/v1/api-keys/${k.id}`))}>Revoke</button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {manage && (
        <form onSubmit={(e) => { e.preventDefault(); void act(() => api('POST', '/v1/api-keys', { name, role })); }}>
          <h2>New key</h2>
          <label for="key-name">Name</label>
          <input id="key-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <label for="key-role">Role</label>
          <select id="key-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {grantable(props.me).map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <button type="submit">Create key</button>
        </form>
      )}
    </section>
  );
}
