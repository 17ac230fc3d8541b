/// <reference lib="dom" />
/**
 * The widget's DOM: a floating "Talk to our AI agent" button and a small call
 * panel (state in words, the agent's speaking level, hang-up), inside a shadow
 * root so the host page's CSS cannot reach in and the widget's cannot leak
 * out. Built with createElement and textContent only (never markup from
 * strings); styled by a constructed stylesheet (src/http/widget/widget-styles.ts).
 */
import { WIDGET_CSS } from './widget-styles.ts';

export type WidgetState = 'idle' | 'connecting' | 'in-call' | 'ended' | 'error';

export interface WidgetView {
  /** Shows `state` with `message` (read out by screen readers through a polite live region). */
  show(state: WidgetState, message: string): void;
  /** The agent's audio level, 0..1. */
  level(value: number): void;
  /** The <audio> element the agent plays through. */
  readonly audio: HTMLAudioElement;
}

export interface WidgetViewOptions {
  /** Whether to show the floating button (a page with its own button calls SmartAlexWidget.start()). */
  launcher: boolean;
  onStart(): void;
  onHangUp(): void;
}

const LABEL = 'Talk to our AI agent';

function make<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function adoptStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(WIDGET_CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    // Browsers without constructed stylesheets (Safari before 16.4): a style element, which a host CSP without 'unsafe-inline' refuses.
    root.append(make('style', '', WIDGET_CSS));
  }
}

export function mountWidgetView(options: WidgetViewOptions): WidgetView {
  const host = document.createElement('smartalex-widget');
  const root = host.attachShadow({ mode: 'open' });
  adoptStyles(root);

  const widget = make('div', 'widget');
  const panel = make('section', 'panel');
  panel.hidden = true;
  panel.setAttribute('aria-label', 'Call with our AI agent');
  const title = make('p', 'title', 'AI agent');
  const close = make('button', 'close', 'Close');
  close.type = 'button';
  close.setAttribute('aria-label', 'Close the call panel');
  title.append(close);
  const status = make('p', 'status');
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  const speaking = make('div', 'speaking');
  speaking.setAttribute('aria-hidden', 'true'); // decoration: the status line says whether the call is on
  const bar = make('span', '');
  speaking.append(bar);
  const actions = make('div', 'actions');
  const hangup = make('button', 'hangup', 'Hang up');
  hangup.type = 'button';
  hangup.setAttribute('aria-label', 'Hang up the call with the AI agent');
  actions.append(hangup);
  panel.append(title, status, speaking, actions);

  const launcher = make('button', 'launcher', LABEL);
  launcher.type = 'button';
  launcher.setAttribute('aria-label', `${LABEL} (starts a voice call, uses your microphone)`);
  launcher.hidden = !options.launcher;

  const audio = make('audio', '');
  audio.autoplay = true;
  widget.append(panel, launcher, audio);
  root.append(widget);
  (document.body ?? document.documentElement).append(host);

  launcher.addEventListener('click', () => options.onStart());
  hangup.addEventListener('click', () => options.onHangUp());
  close.addEventListener('click', () => { panel.hidden = true; if (options.launcher) launcher.focus(); });

  return {
    audio,
    show(state, message) {
      panel.hidden = state === 'idle';
      panel.dataset.state = state;
      status.textContent = message;
      const live = state === 'connecting' || state === 'in-call';
      // During a call the panel's hang-up replaces the floating button (taking the focus if the button had it).
      const focused = document.activeElement === host && root.activeElement === launcher;
      hangup.hidden = !live;
      speaking.hidden = !live;
      close.hidden = live;
      launcher.hidden = live || !options.launcher;
      if (!live) this.level(0);
      if (live && focused) hangup.focus();
    },
    level(value) {
      const shown = Math.max(0, Math.min(1, value));
      bar.style.transform = `scaleX(${shown.toFixed(2)})`; // CSSOM, which a CSP does not restrict (a style attribute it would)
    },
  };
}
