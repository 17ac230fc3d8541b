/**
 * The demo agent's keypad (DTMF) menu: what the scripted agent answers to a
 * keypad turn ("[keypad] 1" or "[keypad] 1#", see the conversation's
 * onKeypadRun) and the sentence that offers the menu. It lets a call be tried
 * end to end without speech recognition: the greeting says the agent cannot
 * understand speech yet and reads the menu (src/agents/runner.ts).
 */
import { AI_DISCLOSURE } from '../conversation/disclosure.ts';

export interface KeypadChoice {
  /** One key, 0-9 * or A-D. */
  key: string;
  /** Read in the menu after "press <key>", e.g. "for our opening hours". */
  offer: string;
  /** What the agent answers; absent for the choice that ends the call. */
  reply?: string;
  /** This choice says the farewell and ends the call. */
  endsCall?: boolean;
}

export const DEMO_KEYPAD_MENU: readonly KeypadChoice[] = [
  { key: '1', offer: 'for our opening hours', reply: 'We are open from noon until ten in the evening, every day.' },
  {
    key: '2',
    offer: 'to hear about this assistant',
    reply: `${AI_DISCLOSURE} I am the SmartAlex demo agent, running on this server without any cloud service. With a speech recognizer installed I can hold a spoken conversation.`,
  },
  { key: '3', offer: 'to end the call', endsCall: true },
];

/** "Press 1 for ..., 2 to ..., or 3 to ...". */
export function keypadMenuText(menu: readonly KeypadChoice[] = DEMO_KEYPAD_MENU): string {
  const parts = menu.map((c, i) => `${i === 0 ? 'Press ' : i === menu.length - 1 ? 'or ' : ''}${c.key} ${c.offer}`);
  return `${parts.join(', ')}.`;
}

const KEYPAD_TURN = /^\[keypad\]\s*([0-9*#A-D]+)$/;

/** The keys of a keypad turn without the terminator, or undefined when `text` is not one. */
export function keypadKeys(text: string): string | undefined {
  const keys = KEYPAD_TURN.exec(text.trim())?.[1];
  return keys?.replace(/#$/, '');
}

/** The choice a keypad turn picks, 'unknown' for a keypad turn that picks none, undefined for speech. */
export function keypadChoice(text: string, menu: readonly KeypadChoice[] = DEMO_KEYPAD_MENU): KeypadChoice | 'unknown' | undefined {
  const keys = keypadKeys(text);
  if (keys === undefined) return undefined;
  return menu.find((c) => c.key === keys) ?? 'unknown';
}

/** The reply to a keypad turn that is not a menu choice: no echo of the keys (call content), the menu again. */
export function unknownKeypadReply(menu: readonly KeypadChoice[] = DEMO_KEYPAD_MENU): string {
  return `Sorry, that key is not on the menu. ${keypadMenuText(menu)}`;
}

/** Said in the greeting when the server has no speech recognition: the caller uses the keypad instead. */
export function keypadOnlyNotice(menu: readonly KeypadChoice[] | undefined): string {
  const lead = "I can't understand speech on this line yet, but you can use your phone's keypad.";
  return menu ? `${lead} ${keypadMenuText(menu)}` : `${lead} Type your answer and press the hash key.`;
}
