/// <reference lib="dom" />
/** Numbers: which agent each called number reaches, its source ACL (CIDRs), digest credentials (user and realm; the password is never returned) and whether SRTP is required. */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';

interface NumberRow { id: string; number: string; agentId: string; allowedCidrs: string[]; digest: { username: string; realm: string } | null; requireSrtp: boolean }
interface AgentName { id: string; name: string }

export function NumbersPage() {
  const [numbers, setNumbers] = useState<NumberRow[] | null>(null);
  const [agents, setAgents] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState('');
  useEffect(() => {
    api<Page<NumberRow>>('GET', '/v1/numbers?limit=200').then((p) => setNumbers(p.items), (err) => setError(messageOf(err)));
    api<Page<AgentName>>('GET', '/v1/agents?limit=200').then((p) => setAgents(new Map(p.items.map((a) => [a.id, a.name]))), () => undefined);
  }, []);
  return (
    <section>
      <h1>Numbers</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <table data-testid="numbers">
        <thead><tr><th scope="col">Number</th><th scope="col">Agent</th><th scope="col">Allowed sources</th><th scope="col">Digest</th><th scope="col">SRTP</th></tr></thead>
        <tbody>
          {numbers?.length === 0 && <tr><td colSpan={5}>No numbers.</td></tr>}
          {numbers?.map((n) => (
            <tr key={n.id}>
              <td>{n.number}</td><td>{agents.get(n.agentId) ?? n.agentId}</td><td>{n.allowedCidrs.join(', ') || 'any'}</td>
              <td>{n.digest ? `${n.digest.username} @ ${n.digest.realm}` : 'none'}</td><td>{n.requireSrtp ? 'required' : 'optional'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
