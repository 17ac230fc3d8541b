/// <reference lib="dom" />
/**
 * The embeddable web widget, served as /widget.js (src/http/widget-script.ts). A customer's page embeds
 *
 *   <script src="https://media.example.com/widget.js" data-smartalex-key="saw_..." async></script>
 *
 * and gets a floating "Talk to our AI agent" button. A click asks for the microphone, mints a call token for
 * the key from the server the script came from (its own `src`, not the page's origin), and calls the key's
 * agent over WebRTC with the same client as the server's call page (src/http/browser-call/browser-call.ts).
 *
 * Pages with their own button add `data-smartalex-launcher="none"` and call `SmartAlexWidget.start()` from a
 * click handler (the microphone prompt and audio playback need a user gesture) and `SmartAlexWidget.hangUp()`;
 * `SmartAlexWidget.status()` reads the state and a 'statechange' event (detail: the status) tells of changes.
 */
import { BrowserCall } from '../browser-call/browser-call.ts';
import { requestCallTicket } from './call-token-request.ts';
import { mountWidgetView, type WidgetState, type WidgetView } from './widget-view.ts';

export interface WidgetStatus {
  state: WidgetState;
  /** The server's call id once the call has started. */
  callId: string | null;
  /** Why the last call failed: 'microphone', 'origin-not-allowed', 'busy', 'unknown-key', 'network', or the server's code. */
  error: string | null;
  /** What the widget shows. */
  message: string;
  /** The agent's audio level (RMS, full scale 1) every 50 ms of the current or last call: diagnostics. */
  levels: number[];
}

export interface SmartAlexWidgetApi {
  start(): void;
  hangUp(): void;
  status(): WidgetStatus;
  addEventListener(type: 'statechange', listener: (event: CustomEvent<WidgetStatus>) => void): void;
  removeEventListener(type: 'statechange', listener: (event: CustomEvent<WidgetStatus>) => void): void;
}

const MESSAGES = {
  microphone: 'Waiting for the microphone: allow it to talk to the agent.',
  connecting: 'Connecting to the agent...',
  inCall: 'In call: speak to the agent.',
  ended: 'Call ended.',
  micDenied: 'Microphone access was denied. Allow the microphone for this site to talk to the agent.',
  busy: 'The agent is busy right now. Please try again in a minute.',
  failed: 'The call could not be connected. Please try again.',
};
const MAX_LEVELS = 12_000;

function errorMessage(code: string, message: string, fromWidget: boolean): string {
  if (code === 'microphone') return MESSAGES.micDenied;
  if (code === 'busy' && !fromWidget) return MESSAGES.busy;
  return fromWidget ? message : MESSAGES.failed;
}

function install(script: HTMLScriptElement): void {
  const key = script.dataset.smartalexKey ?? '';
  const base = new URL('.', script.src);
  const events = new EventTarget();
  let view: WidgetView | undefined;
  let call: BrowserCall | null = null;
  const status: WidgetStatus = { state: 'idle', callId: null, error: null, message: '', levels: [] };

  const show = (state: WidgetState, message: string): void => {
    status.state = state;
    status.message = message;
    view?.show(state, message);
    events.dispatchEvent(new CustomEvent('statechange', { detail: { ...status, levels: [] } }));
  };

  const start = (): void => {
    if (!view || status.state === 'connecting' || status.state === 'in-call') return;
    if (!key) return show('error', 'This call button is not set up (no data-smartalex-key).');
    const session = new BrowserCall(view.audio);
    call = session;
    Object.assign(status, { callId: null, error: null, levels: [] });
    let errorFromWidget = false;
    session.on('phase', (phase) => {
      if (phase === 'microphone') show('connecting', MESSAGES.microphone);
      if (phase === 'connecting') show('connecting', MESSAGES.connecting);
    });
    session.on('call', (callId) => { status.callId = callId; show('in-call', MESSAGES.inCall); });
    session.on('level', (rms) => {
      view?.level(rms * 4);
      status.levels.push(rms);
      if (status.levels.length > MAX_LEVELS) status.levels.splice(0, MAX_LEVELS / 2);
    });
    session.on('ended', () => {
      if (call === session) call = null;
      const error = session.error;
      if (error) {
        status.error = error.code;
        show('error', errorMessage(error.code, error.message, errorFromWidget));
      } else {
        show('ended', MESSAGES.ended);
      }
    });
    void session.start(async () => {
      try {
        return await requestCallTicket(base, key);
      } catch (error) {
        errorFromWidget = true; // its message is already written for the caller
        throw error;
      }
    });
  };

  const api: SmartAlexWidgetApi = {
    start,
    hangUp: () => call?.hangUp(),
    status: () => ({ ...status, levels: [...status.levels] }),
    addEventListener: (type, listener) => events.addEventListener(type, listener as EventListener),
    removeEventListener: (type, listener) => events.removeEventListener(type, listener as EventListener),
  };
  (window as unknown as { SmartAlexWidget: SmartAlexWidgetApi }).SmartAlexWidget = api;

  const mount = (): void => {
    view = mountWidgetView({ launcher: script.dataset.smartalexLauncher !== 'none', onStart: start, onHangUp: api.hangUp });
  };
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });
}

// Read while the script runs: document.currentScript is this <script> element only now (and never in a module).
const self = document.currentScript;
if (self instanceof HTMLScriptElement && !('SmartAlexWidget' in window)) install(self);
