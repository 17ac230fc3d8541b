/// <reference lib="dom" />
/**
 * Agents: the list, and one agent's prompt, greeting, voice and turn-taking
 * settings (end-of-turn hangover, VAD silence, barge-in). The AI disclosure
 * is shown as what it is: fixed, always spoken first, not editable. Without
 * agents:write the form is read-only and offers no Save, and no "Call this
 * agent" (minting a call token is agents:write too).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { can, type Me } from '../session.ts';

interface Agent {
  id: string; name: string; mode: string; prompt: string; greeting: string; voice: string; recording: boolean;
  settings: Record<string, unknown>; disclosure: { text: string; spokenGreeting: string; alwaysOn: true };
}

const num = (v: unknown): string => (typeof v === 'number' ? String(v) : '');
const part = (agent: Agent, key: string): Record<string, unknown> => (agent.settings[key] && typeof agent.settings[key] === 'object' ? agent.settings[key] as Record<string, unknown> : {});

/**
 * Mints a call token (POST /v1/agents/:id/call-tokens) and opens the server's
 * WebRTC call page with it (the token rides in the link's fragment). The tab
 * is opened during the click, before the request, so no popup blocker stops
 * it; where a tab cannot be opened, this page goes there instead.
 */
function CallButton(props: { agentId: string }) {
  const [error, setError] = useState('');
  const call = async (): Promise<void> => {
    setError('');
    const tab = window.open('about:blank', '_blank');
    try {
      const minted = await api<{ callPath: string }>('POST', `/v1/agents/${props.agentId}/call-tokens`, {});
      if (tab) { tab.opener = null; tab.location.href = minted.callPath; } else location.assign(minted.callPath);
    } catch (err) {
      tab?.close();
      setError(messageOf(err));
    }
  };
  return (
    <>
      {' '}<button type="button" onClick={() => void call()}>Call this agent</button>
      {error && <p role="alert" class="error">{error}</p>}
    </>
  );
}

function AgentForm(props: { agent: Agent; editable: boolean; onSaved: (a: Agent) => void }) {
  const a = props.agent;
  const [name, setName] = useState(a.name);
  const [prompt, setPrompt] = useState(a.prompt);
  const [greeting, setGreeting] = useState(a.greeting);
  const [voice, setVoice] = useState(a.voice);
  const [hangover, setHangover] = useState(num(part(a, 'turn').hangoverMs));
  const [silence, setSilence] = useState(num(part(a, 'vad').minSilenceMs));
  const [bargeIn, setBargeIn] = useState(part(a, 'bargeIn').enabled !== false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');

  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    setStatus('');
    setError('');
    const turn = hangover.trim() ? { ...part(a, 'turn'), hangoverMs: Number(hangover) } : undefined;
    const vad = silence.trim() ? { ...part(a, 'vad'), minSilenceMs: Number(silence) } : undefined;
    try {
      const saved = await api<Agent>('PATCH', `/v1/agents/${a.id}`, {
        name, prompt, greeting, voice,
        settings: { bargeIn: { ...part(a, 'bargeIn'), enabled: bargeIn }, ...(turn ? { turn } : {}), ...(vad ? { vad } : {}) },
      });
      props.onSaved(saved);
      setStatus('Saved.');
    } catch (err) { setError(messageOf(err)); }
  };

  const ro = !props.editable;
  return (
    <form onSubmit={save} class="agent-form">
      <h2>{a.name}</h2>
      <p class="disclosure"><strong>AI disclosure (always spoken first, cannot be turned off):</strong> <span data-testid="disclosure">{a.disclosure.text}</span></p>
      <label for="agent-name">Name</label>
      <input id="agent-name" value={name} readOnly={ro} required maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="agent-prompt">Prompt</label>
      <textarea id="agent-prompt" rows={8} value={prompt} readOnly={ro} maxLength={20000} onInput={(e) => setPrompt(e.currentTarget.value)} />
      <label for="agent-greeting">Greeting (after the disclosure)</label>
      <textarea id="agent-greeting" rows={3} value={greeting} readOnly={ro} maxLength={2000} onInput={(e) => setGreeting(e.currentTarget.value)} />
      <label for="agent-voice">Voice</label>
      <input id="agent-voice" value={voice} readOnly={ro} required maxLength={100} onInput={(e) => setVoice(e.currentTarget.value)} />
      <fieldset>
        <legend>Turn-taking</legend>
        <label for="agent-hangover">End-of-turn hangover (ms)</label>
        <input id="agent-hangover" type="number" min={0} value={hangover} readOnly={ro} onInput={(e) => setHangover(e.currentTarget.value)} />
        <label for="agent-silence">VAD minimum silence (ms)</label>
        <input id="agent-silence" type="number" min={0} value={silence} readOnly={ro} onInput={(e) => setSilence(e.currentTarget.value)} />
        <label class="check"><input type="checkbox" checked={bargeIn} disabled={ro} onChange={(e) => setBargeIn(e.currentTarget.checked)} /> Callers may interrupt (barge-in)</label>
      </fieldset>
      <p class="spoken"><strong>Callers hear:</strong> {a.disclosure.spokenGreeting}</p>
      {error && <p role="alert" class="error">{error}</p>}
      {status && <p role="status">{status}</p>}
      {props.editable && <button type="submit">Save</button>}
      {props.editable && <CallButton agentId={a.id} />}
    </form>
  );
}

export function AgentsPage(props: { me: Me }) {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState('');
  useEffect(() => { api<Page<Agent>>('GET', '/v1/agents?limit=200').then((p) => setAgents(p.items), (err) => setError(messageOf(err))); }, []);
  const current = agents?.find((a) => a.id === selected);
  return (
    <section>
      <h1>Agents</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <ul class="pick">
        {agents?.map((a) => (
          <li key={a.id}><button type="button" aria-pressed={a.id === selected} onClick={() => setSelected(a.id)}>{a.name}</button> <span class="muted">{a.mode}</span></li>
        ))}
      </ul>
      {current && <AgentForm key={current.id} agent={current} editable={can(props.me, 'agents:write')} onSaved={(s) => setAgents((list) => list?.map((x) => (x.id === s.id ? s : x)) ?? null)} />}
    </section>
  );
}
