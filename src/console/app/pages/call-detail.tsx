/// <reference lib="dom" />
/**
 * One call: its outcome and failure, the redacted transcript with turn
 * times, a per-turn latency waterfall (endpointing, STT final, LLM first
 * token, TTS first byte, server overhead: DESIGN.md's vocabulary, from the
 * stored trace), and the recording, played through a signed link minted
 * for this view (the API's link route; nothing is cached).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { formatDuration, formatTime } from '../format.ts';
import { can, type Me } from '../session.ts';

interface Turn { seq: number; speaker: string; text: string; latency: Record<string, number> | null; at: string }
interface CallDetail {
  id: string; direction: string; state: string; outcome: string; startedAt: string; endedAt: string | null; durationMs: number | null;
  endReason: string | null; failure: string | null; latency: { turns: number } | null; transcript: Turn[];
}
interface Recording { id: string; durationMs: number | null; complete: boolean }

export const STAGES = [
  { key: 'endpointingMs', label: 'Endpointing' },
  { key: 'sttFinalMs', label: 'STT' },
  { key: 'llmTtftMs', label: 'LLM' },
  { key: 'ttsTtfbMs', label: 'TTS' },
  { key: 'overheadMs', label: 'Overhead' },
] as const;

function Waterfall(props: { turns: Turn[] }) {
  const traced = props.turns.filter((t) => t.latency && STAGES.some((s) => typeof t.latency![s.key] === 'number'));
  if (traced.length === 0) return <p>No latency trace was stored for this call.</p>;
  const total = (t: Turn): number => STAGES.reduce((sum, s) => sum + Math.max(0, t.latency![s.key] ?? 0), 0);
  const scale = Math.max(...traced.map(total), 1);
  return (
    <table class="waterfall" data-testid="waterfall">
      <caption class="visually-hidden">Latency per turn, in milliseconds</caption>
      <thead><tr><th scope="col">Turn</th>{STAGES.map((s) => <th scope="col" key={s.key}>{s.label}</th>)}<th scope="col">Timeline</th></tr></thead>
      <tbody>
        {traced.map((t) => {
          let x = 0;
          return (
            <tr key={t.seq}>
              <th scope="row">{t.seq}</th>
              {STAGES.map((s) => <td key={s.key}>{Math.round(t.latency![s.key] ?? 0)}</td>)}
              <td>
                <svg viewBox="0 0 300 14" width="300" height="14" role="img" aria-label={`turn ${t.seq}: ${Math.round(total(t))} ms in all`}>
                  {STAGES.map((s, i) => {
                    const w = (Math.max(0, t.latency![s.key] ?? 0) / scale) * 300;
                    const rect = <rect key={s.key} x={x} y={1} width={w} height={12} class={`stage stage-${i}`} />;
                    x += w;
                    return rect;
                  })}
                </svg>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function RecordingPlayer(props: { callId: string }) {
  const [recordings, setRecordings] = useState<Recording[] | null>(null);
  const [src, setSrc] = useState('');
  const [error, setError] = useState('');
  useEffect(() => {
    api<Page<Recording>>('GET', `/v1/recordings?callId=${encodeURIComponent(props.callId)}`).then((p) => setRecordings(p.items), (err) => setError(messageOf(err)));
  }, [props.callId]);
  const play = async (id: string): Promise<void> => {
    setError('');
    try {
      const link = await api<{ path: string }>('POST', `/v1/recordings/${id}/link`, { ttl: '15m' });
      setSrc(link.path);
    } catch (err) { setError(messageOf(err)); }
  };
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!recordings) return <p>Loading recordings…</p>;
  if (recordings.length === 0) return <p>This call was not recorded.</p>;
  return (
    <div>
      {recordings.map((r) => (
        <p key={r.id}>
          <button type="button" onClick={() => void play(r.id)}>Play recording{r.durationMs ? ` (${formatDuration(r.durationMs)})` : ''}</button>
          {!r.complete && ' (incomplete)'}
        </p>
      ))}
      {src && <audio data-testid="recording" controls autoPlay src={src} aria-label="Call recording" />}
    </div>
  );
}

export function CallDetailPage(props: { me: Me; callId: string }) {
  const [call, setCall] = useState<CallDetail | null>(null);
  const [error, setError] = useState('');
  useEffect(() => { api<CallDetail>('GET', `/v1/calls/${encodeURIComponent(props.callId)}`).then(setCall, (err) => setError(messageOf(err))); }, [props.callId]);
  if (error) return <section><h1>Call</h1><p role="alert" class="error">{error}</p></section>;
  if (!call) return <section><h1>Call</h1><p>Loading…</p></section>;
  return (
    <section>
      <h1>Call</h1>
      <dl class="facts">
        <dt>Outcome</dt><dd data-testid="outcome">{call.outcome}</dd>
        <dt>State</dt><dd>{call.state}</dd>
        <dt>Direction</dt><dd>{call.direction}</dd>
        <dt>Started</dt><dd>{formatTime(call.startedAt)}</dd>
        <dt>Duration</dt><dd>{call.durationMs === null ? '—' : formatDuration(call.durationMs)}</dd>
        <dt>End reason</dt><dd>{call.endReason ?? '—'}</dd>
        <dt>Failure</dt><dd>{call.failure ?? 'none'}</dd>
      </dl>
      <h2>Transcript</h2>
      {call.transcript.length === 0 ? <p>No transcript.</p> : (
        <ol class="transcript" data-testid="transcript">
          {call.transcript.map((t) => (
            <li key={t.seq} class={`turn turn-${t.speaker === 'agent' ? 'agent' : 'caller'}`}>
              <span class="when">{new Date(t.at).toLocaleTimeString()}</span> <strong>{t.speaker}</strong>: <span class="text">{t.text}</span>
            </li>
          ))}
        </ol>
      )}
      <h2>Latency per turn</h2>
      <Waterfall turns={call.transcript} />
      <h2>Recording</h2>
      {can(props.me, 'recordings:read') ? <RecordingPlayer callId={call.id} /> : <p>Your role does not include recordings.</p>}
    </section>
  );
}
