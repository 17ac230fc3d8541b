/**
 * Why a call ended: the one vocabulary of calls.end_reason, the call's
 * 'close' event and CallTransport.onEnd. Kebab-case, one spelling each.
 *
 * Rows written before this union existed may hold other spellings of the
 * same reasons (`setup_failed`, `remote bye`, `max_duration`, `failed-486`):
 * `endReasonOf` reads any of them as the canonical one, so readers can
 * compare old and new rows alike; new rows are written canonical only.
 */

export const END_REASONS = [
  // the caller, the network, the carrier
  'remote-bye', 'cancelled', 'rtp-timeout', 'media-failure', 'rejected',
  // set-up
  'setup-failed', 'no-common-codec',
  // the agent
  'agent-hangup', 'agent-end-call', 'agent-error', 'greeting-finished', 'no-greeting', 'tts-unavailable', 'transferred',
  'max-duration', 'caller-silent', 'stt-failure', 'llm-failure', 'tts-failure',
  // the server: stopped; drained (the call outlived the drain deadline); lost (its node died, ended by a reaper)
  'shutdown', 'node-drain', 'node-lost',
] as const;

export type EndReason = (typeof END_REASONS)[number];

const KNOWN = new Set<string>(END_REASONS);

/**
 * The canonical EndReason of a reason written in any spelling (underscores or spaces for hyphens,
 * `failed-<status>` for a refused outbound call, the dialog's 'endpoint closed'); anything else an
 * agent hung up with is 'agent-hangup'.
 */
export function endReasonOf(text: string): EndReason {
  const kebab = text.trim().toLowerCase().replace(/[\s_]+/g, '-');
  if (KNOWN.has(kebab)) return kebab as EndReason;
  if (/^failed-\d{3}$/.test(kebab)) return 'rejected';
  if (kebab === 'failed') return 'setup-failed';
  if (kebab === 'endpoint-closed') return 'shutdown';
  if (kebab === 'local-bye') return 'agent-hangup';
  return 'agent-hangup';
}
