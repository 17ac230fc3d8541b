/// <reference lib="dom" />
/**
 * The console shell: who is logged in (GET /v1/me), the navigation (only the
 * pages the role may use: the API's permission matrix), and the page for the
 * current path. A page the role may not use is not offered, and reached by
 * its address it says so instead of loading anything.
 */
import { useEffect, useState } from 'preact/hooks';
import type { RoutePermission } from '../../api/permissions.ts';
import { api } from './api.ts';
import { AgentsPage } from './pages/agents.tsx';
import { ApiKeysPage } from './pages/api-keys.tsx';
import { AuditPage } from './pages/audit.tsx';
import { CallDetailPage } from './pages/call-detail.tsx';
import { CampaignsPage } from './pages/campaigns.tsx';
import { CallHistoryPage } from './pages/call-history.tsx';
import { CompliancePage } from './pages/compliance.tsx';
import { ContactsPage } from './pages/contacts.tsx';
import { LiveCallsPage } from './pages/live-calls.tsx';
import { LoginPage } from './pages/login.tsx';
import { NumbersPage } from './pages/numbers.tsx';
import { OpsPage } from './pages/ops.tsx';
import { SessionsPage } from './pages/sessions.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { TeamPage } from './pages/team.tsx';
import { TwoFactorPage } from './pages/two-factor.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';
import { BASE, Link, navigate, usePath } from './router.tsx';
import { can, type Me } from './session.ts';

interface NavItem { path: string; label: string; permission: RoutePermission }

export const NAV: readonly NavItem[] = [
  { path: `${BASE}/calls`, label: 'Live calls', permission: 'calls:read' },
  { path: `${BASE}/calls/history`, label: 'Call history', permission: 'calls:read' },
  { path: `${BASE}/agents`, label: 'Agents', permission: 'agents:read' },
  { path: `${BASE}/contacts`, label: 'Contacts', permission: 'contacts:read' },
  { path: `${BASE}/campaigns`, label: 'Campaigns', permission: 'campaigns:read' },
  { path: `${BASE}/numbers`, label: 'Numbers', permission: 'numbers:read' },
  { path: `${BASE}/compliance`, label: 'DNC and consent', permission: 'dnc:read' },
  { path: `${BASE}/webhooks`, label: 'Webhooks', permission: 'webhooks:read' },
  { path: `${BASE}/audit`, label: 'Audit log', permission: 'audit:read' },
  { path: `${BASE}/ops`, label: 'Ops', permission: 'analytics:read' },
  { path: `${BASE}/team`, label: 'Team', permission: 'users:read' },
  { path: `${BASE}/api-keys`, label: 'API keys', permission: 'apikeys:read' },
  { path: `${BASE}/settings`, label: 'Settings', permission: 'tenant:write' },
  { path: `${BASE}/sessions`, label: 'Sessions', permission: 'self' },
  { path: `${BASE}/two-factor`, label: 'Two-factor', permission: 'self' },
];

type State = { kind: 'loading' } | { kind: 'anonymous' } | { kind: 'in'; me: Me; mfaRequired: boolean };

function Page(props: { me: Me; path: string; mfaRequired: boolean; onChange: () => void }) {
  const { me, path } = props;
  if (props.mfaRequired || path === `${BASE}/two-factor`) return <TwoFactorPage required={props.mfaRequired} onEnrolled={() => { props.onChange(); navigate(`${BASE}/calls`); }} />;
  const detail = /^\/console\/calls\/([0-9a-f-]{36})$/.exec(path);
  const item = detail ? NAV[0]! : NAV.find((n) => n.path === path) ?? (path === BASE || path === `${BASE}/` ? NAV[0]! : undefined);
  if (!item) return <section><h1>Not found</h1><p>There is no such page.</p></section>;
  if (!can(me, item.permission)) return <section><h1>Not available</h1><p data-testid="not-allowed">Your role ({me.role}) does not include this page.</p></section>;
  if (detail) return <CallDetailPage me={me} callId={detail[1]!} />;
  switch (item.label) {
    case 'Live calls': return <LiveCallsPage />;
    case 'Call history': return <CallHistoryPage />;
    case 'Agents': return <AgentsPage me={me} />;
    case 'Contacts': return <ContactsPage me={me} />;
    case 'Campaigns': return <CampaignsPage me={me} />;
    case 'Webhooks': return <WebhooksPage me={me} />;
    case 'Ops': return <OpsPage me={me} />;
    case 'Numbers': return <NumbersPage />;
    case 'DNC and consent': return <CompliancePage me={me} />;
    case 'Audit log': return <AuditPage />;
    case 'Team': return <TeamPage me={me} />;
    case 'API keys': return <ApiKeysPage me={me} />;
    case 'Settings': return <SettingsPage me={me} />;
    default: return <SessionsPage onLoggedOut={props.onChange} />;
  }
}

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const path = usePath();
  const refresh = (mfaRequired = false): void => {
    api<Me>('GET', '/v1/me').then((me) => setState({ kind: 'in', me, mfaRequired }), () => setState({ kind: 'anonymous' }));
  };
  useEffect(() => refresh(), []);
  useEffect(() => {
    if (state.kind === 'in') document.title = `SmartAlex console: ${NAV.find((n) => n.path === path)?.label ?? 'Call'}`;
  }, [state, path]);

  if (state.kind === 'loading') return <main><p>Loading…</p></main>;
  if (state.kind === 'anonymous') {
    document.title = 'SmartAlex console: log in';
    return <LoginPage onLoggedIn={(mfa) => { refresh(mfa); if (!path.startsWith(`${BASE}/`) || path === `${BASE}/login`) navigate(`${BASE}/calls`); }} />;
  }
  const logout = async (): Promise<void> => {
    await api('POST', '/v1/auth/logout').catch(() => undefined);
    setState({ kind: 'anonymous' });
  };
  const me = state.me;
  return (
    <>
      <a class="skip" href="#content">Skip to content</a>
      <header>
        <span class="brand">SmartAlex</span>
        <nav aria-label="Console">
          <ul>{NAV.filter((n) => can(me, n.permission)).map((n) => <li key={n.path}><Link href={n.path} current={n.path === path}>{n.label}</Link></li>)}</ul>
        </nav>
        <span class="who">{me.email} <span class="role">{me.role}</span></span>
        <button type="button" class="link" onClick={() => void logout()}>Log out</button>
      </header>
      <main id="content">
        <Page me={me} path={path} mfaRequired={state.mfaRequired} onChange={refresh} />
      </main>
    </>
  );
}
