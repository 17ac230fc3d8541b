/** One call as the console's live list shows it (safe for a viewer: the other party masked, no content), and the masking. */
import { maskPhone } from '../compliance/index.ts';

export interface LiveCall {
  id: string;
  agentId: string;
  agentName: string;
  direction: 'inbound' | 'outbound';
  /** The other party, masked. */
  party: string;
  state: 'active' | 'ended';
  startedAt: string;
  endedAt: string | null;
  /** Turns so far (for a call on another node, as its node last wrote them: after each turn). */
  turns: number;
  endReason: string | null;
  /** The media node holding the call; null when the feed was not told its own. */
  nodeId: string | null;
}

/** The user part of a SIP URI (or the whole text), masked: digits keep their last 4, a name its first letter. */
export function maskParty(uri: string): string {
  const user = /(?:sips?|tel):([^@;?>]*)/i.exec(uri)?.[1] ?? uri;
  if ((user.match(/\d/g) ?? []).length >= 3) return maskPhone(user);
  return user ? `${user.slice(0, 1)}***` : '(unknown)';
}
