/**
 * Backchannels: the "mm-hmm", "uh-huh", "yeah" a listener says to show they
 * are following. Said over the agent, they must not cut it off; an utterance
 * counts as one only when every word in it is a backchannel word.
 */

const BACKCHANNEL_WORDS = new Set([
  'mm', 'mhm', 'mmhmm', 'mmhm', 'hmm', 'hm', 'uh', 'huh', 'uhhuh', 'um', 'ah', 'oh', 'yeah', 'yep', 'yup', 'yes', 'ok', 'okay',
  'right', 'sure', 'alright', 'i', 'see', 'got', 'it', 'cool', 'great', 'nice',
]);
/** Words that are only a backchannel together with another one ("i see", "got it"), never alone. */
const NOT_ALONE = new Set(['i', 'see', 'got', 'it']);

/** Lower-case words with punctuation dropped; "mm-hmm" and "uh-huh" become one word each. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/(\w)-(\w)/g, '$1$2')
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

export function isBackchannel(text: string): boolean {
  const ws = words(text);
  if (ws.length === 0 || ws.length > 3) return false;
  if (!ws.every((w) => BACKCHANNEL_WORDS.has(w))) return false;
  return !ws.every((w) => NOT_ALONE.has(w)) || ws.length > 1;
}
