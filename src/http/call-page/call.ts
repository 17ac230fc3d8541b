/// <reference lib="dom" />
/**
 * The browser side of /call/<agentId> (bundled by src/http/browser-bundle.ts): the page's buttons, captions
 * and level meter around one BrowserCall per attempt. The call token comes in the page's fragment
 * (#token=...), which browsers never send to a server, and is removed from the address bar at once.
 * Signalling goes to /v1/webrtc on this origin. No external script, style or server.
 */
import { BrowserCall, CallStartError } from '../browser-call/browser-call.ts';

const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (location.hash) history.replaceState(null, '', location.pathname);

const element = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const statusLine = element<HTMLParagraphElement>('status');
const callButton = element<HTMLButtonElement>('call');
const muteButton = element<HTMLButtonElement>('mute');
const hangupButton = element<HTMLButtonElement>('hangup');
const level = element<HTMLMeterElement>('level');
const captionList = element<HTMLOListElement>('captions');
const remoteAudio = element<HTMLAudioElement>('remote');

type PagePhase = 'idle' | 'connecting' | 'connected' | 'ended';

/**
 * What a test (or a curious operator) can read: the call's state, the agent audio level over time and the
 * captions, each stamped in ms since `t0` (performance.now() when the page loaded).
 */
const t0 = performance.now();
const now = (): number => Math.round(performance.now() - t0);
const state = {
  t0, phase: 'idle' as PagePhase, callId: null as string | null, endReason: null as string | null, error: null as string | null,
  levels: [] as Array<{ t: number; rms: number }>, captions: [] as Array<{ speaker: string; text: string; t: number }>, muted: false,
};
(window as unknown as { smartalexCall: typeof state }).smartalexCall = state;

const NO_TOKEN = 'This page needs a call token: open the link your administrator minted.';
let current: BrowserCall | null = null;

function setStatus(text: string): void {
  statusLine.textContent = text;
}

function setPhase(phase: PagePhase): void {
  state.phase = phase;
  callButton.disabled = phase !== 'idle' && phase !== 'ended';
  hangupButton.disabled = phase !== 'connecting' && phase !== 'connected';
  muteButton.disabled = phase === 'ended'; // one may join muted
}

function addCaption(speaker: string, text: string): void {
  state.captions.push({ speaker, text, t: now() });
  const item = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'speaker';
  who.textContent = speaker === 'agent' ? 'Agent:' : 'You:';
  item.append(who, document.createTextNode(text));
  captionList.append(item);
}

function call(): void {
  if (!token) return setStatus(NO_TOKEN);
  const session = new BrowserCall(remoteAudio, { muted: state.muted });
  current = session;
  session.on('phase', (phase) => {
    if (phase === 'microphone') { setPhase('connecting'); setStatus('Asking for the microphone...'); }
    if (phase === 'connecting') setStatus('Connecting...');
    if (phase === 'connected') { setPhase('connected'); setStatus('Connected: speak to the agent.'); }
  });
  session.on('call', (callId) => { state.callId = callId; });
  session.on('caption', ({ speaker, text }) => addCaption(speaker, text));
  session.on('level', (rms) => {
    level.value = Math.min(1, rms * 4);
    state.levels.push({ t: now(), rms });
    if (state.levels.length > 12000) state.levels.splice(0, 6000);
  });
  session.on('error', ({ code, message }) => {
    state.error = code;
    setStatus(code === 'microphone' ? 'The microphone is not available.' : `The call could not go on: ${message}`);
  });
  session.on('ended', (reason) => {
    if (reason === 'microphone') return setPhase('idle'); // nothing was used: the caller may try again
    state.endReason = reason;
    setPhase('ended');
    setStatus(`Call ended (${reason}).`);
  });
  // The token is this page's; the signalling socket is this origin's.
  const signallingUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/webrtc`;
  void session.start(async () => {
    if (!token) throw new CallStartError('no-token', NO_TOKEN);
    return { signallingUrl, token };
  });
}

callButton.addEventListener('click', call);
hangupButton.addEventListener('click', () => {
  if (!current) return;
  hangupButton.disabled = true;
  setStatus('Hanging up...');
  current.hangUp();
});
muteButton.addEventListener('click', () => {
  state.muted = !state.muted;
  current?.setMuted(state.muted);
  muteButton.setAttribute('aria-pressed', String(state.muted));
  muteButton.textContent = state.muted ? 'Unmute' : 'Mute';
});
setPhase('idle');
if (!token) setStatus(NO_TOKEN);
