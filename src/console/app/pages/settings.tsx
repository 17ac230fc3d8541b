/// <reference lib="dom" />
/** Tenant security settings: mandatory 2FA for owners and admins (read with tenant:read, changed with tenant:write). */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.ts';
import { can, type Me } from '../session.ts';

export function SettingsPage(props: { me: Me }) {
  const [require2fa, setRequire2fa] = useState<boolean | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  useEffect(() => { api<{ require2faForAdmins: boolean }>('GET', '/v1/tenant/security').then((s) => setRequire2fa(s.require2faForAdmins), (err) => setError(messageOf(err))); }, []);
  const write = can(props.me, 'tenant:write');
  const save = async (value: boolean): Promise<void> => {
    setError('');
    setStatus('');
    try {
      const out = await api<{ require2faForAdmins: boolean }>('PUT', '/v1/tenant/security', { require2faForAdmins: value });
      setRequire2fa(out.require2faForAdmins);
      setStatus('Saved.');
    } catch (err) { setError(messageOf(err)); }
  };
  return (
    <section>
      <h1>Tenant settings</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {require2fa !== null && (
        <label class="check"><input type="checkbox" checked={require2fa} disabled={!write} onChange={(e) => void save(e.currentTarget.checked)} /> Owners and admins must use two-factor authentication</label>
      )}
      {status && <p role="status">{status}</p>}
    </section>
  );
}
