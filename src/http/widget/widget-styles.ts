/**
 * The widget's look, adopted by its shadow root as a constructed stylesheet
 * (no <style> element and no style attribute, so a host page's strict CSP
 * without 'unsafe-inline' does not block it). `:host` declarations are
 * !important because a host page's rules on the host element would otherwise
 * win over them.
 */
export const WIDGET_CSS = `
:host { all: initial !important; position: fixed !important; right: 1.25rem !important; bottom: 1.25rem !important; z-index: 2147483000 !important; display: block !important; }
* { box-sizing: border-box; }
.widget { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; display: flex; flex-direction: column; align-items: flex-end; gap: 0.6rem; }
.launcher { font: inherit; font-weight: 600; color: #fff; background: #1f5fbf; border: none; border-radius: 999px; padding: 0.75rem 1.2rem; box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25); cursor: pointer; }
.launcher:hover { background: #174a96; }
.launcher:focus-visible, .hangup:focus-visible, .close:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.launcher[hidden], .panel[hidden], .hangup[hidden], .close[hidden], .speaking[hidden] { display: none; }
.panel { width: 17rem; background: #fff; border: 1px solid #c9ced6; border-radius: 0.6rem; padding: 0.8rem 0.9rem; box-shadow: 0 4px 16px rgba(0, 0, 0, 0.2); display: flex; flex-direction: column; gap: 0.6rem; }
.title { display: flex; justify-content: space-between; align-items: center; font-weight: 600; margin: 0; font-size: 1rem; }
.status { margin: 0; color: #1b1f24; }
.panel[data-state="error"] .status { color: #9b1c1c; }
.speaking { height: 0.35rem; border-radius: 0.2rem; background: #e3e6ea; overflow: hidden; }
.speaking > span { display: block; height: 100%; width: 100%; background: #1f7a3a; transform-origin: left; transform: scaleX(0); transition: transform 80ms linear; }
.actions { display: flex; gap: 0.5rem; justify-content: flex-end; }
.hangup { font: inherit; font-weight: 600; color: #fff; background: #b3261e; border: none; border-radius: 0.35rem; padding: 0.45rem 0.9rem; cursor: pointer; }
.close { font: inherit; color: #1b1f24; background: #fff; border: 1px solid #8a94a3; border-radius: 0.35rem; padding: 0.25rem 0.6rem; cursor: pointer; }
@media (prefers-reduced-motion: reduce) { .speaking > span { transition: none; } }
`;
