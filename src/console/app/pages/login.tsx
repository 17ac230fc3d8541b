/// <reference lib="dom" />
/**
 * Login: e-mail and password; when the account has 2FA the API answers
 * "mfa_required" and the page asks for the authenticator code (or a one-time
 * recovery code) and logs in again with it.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../api.ts';

export function LoginPage(props: { onLoggedIn: (mfaEnrolmentRequired: boolean) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'password' | 'totp' | 'recovery'>('password');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const second = step === 'totp' ? { totp: code.trim() } : step === 'recovery' ? { recoveryCode: code.trim() } : {};
      const session = await api<{ mfaEnrolmentRequired: boolean }>('POST', '/v1/auth/cookie-login', { email, password, ...second });
      props.onLoggedIn(session.mfaEnrolmentRequired);
    } catch (err) {
      if (err instanceof ApiError && err.problem.code === 'mfa_required' && step === 'password') setStep('totp');
      else setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <h1>SmartAlex console</h1>
      <form onSubmit={submit} aria-describedby={error ? 'login-error' : undefined}>
        <label for="email">E-mail</label>
        <input id="email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} disabled={step !== 'password'} />
        <label for="password">Password</label>
        <input id="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} disabled={step !== 'password'} />
        {step !== 'password' && (
          <>
            <label for="code">{step === 'totp' ? 'Authenticator code' : 'Recovery code'}</label>
            <input id="code" autocomplete="one-time-code" inputMode={step === 'totp' ? 'numeric' : 'text'} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            <button type="button" class="link" onClick={() => { setCode(''); setStep(step === 'totp' ? 'recovery' : 'totp'); }}>
              {step === 'totp' ? 'Use a recovery code instead' : 'Use an authenticator code instead'}
            </button>
          </>
        )}
        {error && <p id="login-error" role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy}>{step === 'password' ? 'Log in' : 'Verify'}</button>
      </form>
    </main>
  );
}
