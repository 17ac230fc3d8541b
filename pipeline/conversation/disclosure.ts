/**
 * The AI disclosure every greeting begins with (the published promise: "End
 * Users must be told clearly when they are interacting with an AI system",
 * and the customer cannot disable it). No agent or tenant setting reaches
 * this: `composeGreeting` always returns text that starts with a disclosure.
 */

export const AI_DISCLOSURE = "Hi, you're speaking with an AI assistant.";
export const DEFAULT_GREETING_BODY = 'How can I help you today?';

/** Words that, near the start of a greeting, already tell the caller it is an AI. */
const DISCLOSES = /\b(a\.?\s?i\.?|artificial intelligence|virtual assistant|automated assistant|an? (ai|automated|virtual) (agent|assistant|receptionist|system|voice))\b/i;

/** True when the first sentence of `text` already discloses that the caller is talking to an AI. */
export function disclosesAi(text: string): boolean {
  const first = /^[^.!?]*[.!?]?/.exec(text.trim())?.[0] ?? '';
  return DISCLOSES.test(first);
}

/** The greeting the agent speaks: the configured one with the disclosure put first unless its first sentence already discloses. */
export function composeGreeting(configured: string | null | undefined): { text: string; disclosure: string } {
  const body = (configured ?? '').replace(/\s+/g, ' ').trim();
  if (body !== '' && disclosesAi(body)) {
    const first = /^[^.!?]*[.!?]?/.exec(body)?.[0] ?? body;
    return { text: body, disclosure: first.trim() };
  }
  return { text: `${AI_DISCLOSURE} ${body === '' ? DEFAULT_GREETING_BODY : body}`, disclosure: AI_DISCLOSURE };
}
