/// <reference lib="dom" />
/** Team: users (role, 2FA, disabled) with role changes, and invitations (invite, withdraw; the token is shown once). */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.ts';
import { formatTime } from '../format.ts';
import { can, grantable, type Me, type Role } from '../session.ts';

interface User { id: string; email: string; role: Role; totpEnabled: boolean; disabled: boolean; createdAt: string }
interface Invitation { id: string; email: string; role: Role; createdAt: string; expiresAt: string }

export function TeamPage(props: { me: Me }) {
  const [users, setUsers] = useState<User[] | null>(null);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const manage = can(props.me, 'users:manage');
  const roles = grantable(props.me);
  const load = (): void => {
    api<{ items: User[] }>('GET', '/v1/users').then((r) => setUsers(r.items), (err) => setError(messageOf(err)));
    api<{ items: Invitation[] }>('GET', '/v1/invitations').then((r) => setInvitations(r.items), () => undefined);
  };
  useEffect(load, []);
  const act = async (work: () => Promise<unknown>): Promise<void> => {
    setError('');
    try { await work(); load(); } catch (err) { setError(messageOf(err)); }
  };
  return (
    <section>
      <h1>Team</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <table>
        <thead><tr><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">2FA</th><th scope="col">Status</th><th scope="col">Since</th></tr></thead>
        <tbody>
          {users?.map((u) => (
            <tr key={u.id}>
              <td>{u.email}</td>
              <td>
                {manage && u.id !== props.me.userId && roles.includes(u.role) ? (
                  <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => void act(() => api('PATCH', `/v1/users/${u.id}`, { role: e.currentTarget.value }))}>
                    {roles.map((r) => <option key={r} value={r}>{r}</option>)}
                  </select>
                ) : u.role}
              </td>
              <td>{u.totpEnabled ? 'on' : 'off'}</td><td>{u.disabled ? 'disabled' : 'active'}</td><td>{formatTime(u.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Invitations</h2>
      <table>
        <thead><tr><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Expires</th>{manage && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
        <tbody>
          {invitations.length === 0 && <tr><td colSpan={manage ? 4 : 3}>No open invitations.</td></tr>}
          {invitations.map((i) => (
            <tr key={i.id}><td>{i.email}</td><td>{i.role}</td><td>{formatTime(i.expiresAt)}</td>
              {manage && <td><button type="button" onClick={() => void act(() => api('DELETE', `/v1/invitations/${i.id}`))}>Withdraw</button></td>}</tr>
          ))}
        </tbody>
      </table>
      {token && <p role="status" class="notice">Invitation token (shown once, send it to them): <code>{token}</code></p>}
      {manage && (
        <form onSubmit={(e) => { e.preventDefault(); void act(async () => { const out = await api<{ token: string }>('POST', '/v1/invitations', { email, role }); setToken(out.token); setEmail(''); }); }}>
          <label for="invite-email">Invite by e-mail</label>
          <input id="invite-email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          <label for="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>{roles.map((r) => <option key={r} value={r}>{r}</option>)}</select>
          <button type="submit">Invite</button>
        </form>
      )}
    </section>
  );
}
