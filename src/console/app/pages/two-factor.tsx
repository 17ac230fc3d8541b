/// <reference lib="dom" />
/**
 * Two-factor enrolment: start (the API returns the otpauth:// URI and the
 * secret for manual entry), confirm with a first code, then the one-time
 * recovery codes are shown once.
 */
import { useState } from 'preact/hooks';
import { api, messageOf } from '../api.ts';

export function TwoFactorPage(props: { required: boolean; onEnrolled: () => void }) {
  const [enrolment, setEnrolment] = useState<{ otpauthUri: string; secret: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState('');

  const start = async (): Promise<void> => {
    setError('');
    try { setEnrolment(await api('POST', '/v1/me/totp', {})); } catch (err) { setError(messageOf(err)); }
  };
  const confirm = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError('');
    try {
      const out = await api<{ recoveryCodes: string[] }>('POST', '/v1/me/totp/confirm', { code: code.trim() });
      setCodes(out.recoveryCodes);
    } catch (err) { setError(messageOf(err)); }
  };

  return (
    <section>
      <h1>Two-factor authentication</h1>
      {props.required && !codes && <p class="notice">Your tenant requires two-factor authentication for your role: enrol to continue.</p>}
      {!enrolment && !codes && <button type="button" onClick={start}>Set up an authenticator app</button>}
      {enrolment && !codes && (
        <form onSubmit={confirm}>
          <p>Add this account to your authenticator app with the key below (or open the otpauth link on the device), then enter the first code it shows.</p>
          <p><strong>Key:</strong> <code data-testid="totp-secret">{enrolment.secret}</code></p>
          <p><a href={enrolment.otpauthUri}>Open in an authenticator app</a></p>
          <label for="totp-code">First code</label>
          <input id="totp-code" inputMode="numeric" autocomplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          <button type="submit">Confirm</button>
        </form>
      )}
      {codes && (
        <div>
          <p>Two-factor authentication is on. Keep these recovery codes somewhere safe: each works once, and they are not shown again.</p>
          <ul class="codes" data-testid="recovery-codes">{codes.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
          <button type="button" onClick={props.onEnrolled}>Done</button>
        </div>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}
