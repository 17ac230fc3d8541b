/// <reference lib="dom" />
/**
 * Live calls: the tenant's calls as they happen, on every node of the
 * cluster, from the server's event stream (/console/api/live-calls: a
 * snapshot, then one event per change). Durations tick locally once a
 * second.
 */
import { useEffect, useState } from 'preact/hooks';
import { BASE, Link } from '../router.tsx';
import { formatDuration } from '../format.ts';

interface LiveCall {
  id: string; agentId: string; agentName: string; direction: 'inbound' | 'outbound'; party: string;
  state: 'active' | 'ended'; startedAt: string; endedAt: string | null; turns: number; endReason: string | null; nodeId: string | null;
}

export function LiveCallsPage() {
  const [calls, setCalls] = useState<Map<string, LiveCall>>(new Map());
  const [connected, setConnected] = useState(false);
  const [, setTick] = useState(0);

  useEffect(() => {
    const source = new EventSource('/console/api/live-calls');
    source.addEventListener('open', () => setConnected(true));
    source.addEventListener('error', () => setConnected(false));
    source.addEventListener('snapshot', (e) => {
      const list = JSON.parse((e as MessageEvent<string>).data) as LiveCall[];
      setCalls(new Map(list.map((c) => [c.id, c])));
    });
    source.addEventListener('call', (e) => {
      const call = JSON.parse((e as MessageEvent<string>).data) as LiveCall;
      setCalls((prev) => new Map(prev).set(call.id, call));
    });
    source.addEventListener('end', () => { source.close(); setConnected(false); });
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => { source.close(); clearInterval(timer); };
  }, []);

  const rows = [...calls.values()].sort((a, b) => (a.state === b.state ? b.startedAt.localeCompare(a.startedAt) : a.state === 'active' ? -1 : 1));
  const active = rows.filter((c) => c.state === 'active').length;
  return (
    <section>
      <h1>Live calls</h1>
      <p class="status" aria-live="polite">{connected ? `Live: ${active} call${active === 1 ? '' : 's'} in progress` : 'Connecting to the live feed…'}</p>
      <table data-testid="live-calls">
        <caption class="visually-hidden">Calls on every node, in progress first</caption>
        <thead><tr><th scope="col">Caller</th><th scope="col">Agent</th><th scope="col">Direction</th><th scope="col">Duration</th><th scope="col">State</th><th scope="col">Turns</th></tr></thead>
        <tbody>
          {rows.length === 0 && <tr><td colSpan={6}>No calls yet.</td></tr>}
          {rows.map((c) => {
            const end = c.endedAt ? Date.parse(c.endedAt) : Date.now();
            return (
              <tr key={c.id} data-call-id={c.id} data-state={c.state}>
                <td><Link href={`${BASE}/calls/${c.id}`}>{c.party}</Link></td>
                <td>{c.agentName}</td>
                <td>{c.direction}</td>
                <td>{formatDuration(end - Date.parse(c.startedAt))}</td>
                <td class={`state state-${c.state}`}>{c.state === 'ended' ? `ended (${c.endReason ?? 'unknown'})` : 'in progress'}</td>
                <td>{c.turns}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p><Link href={`${BASE}/calls/history`}>Call history</Link></p>
    </section>
  );
}
