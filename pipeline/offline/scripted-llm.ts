/**
 * A scripted agent "language model" for offline runs, demos and tests: no
 * network, no model. It answers the caller's last message from a small script
 * (the first rule whose keyword or pattern matches), otherwise with an echo
 * ("I heard you say ..."), streaming the reply word by word. When the caller
 * says goodbye and the request offers an `end_call` tool, it says a farewell
 * and calls that tool. A keypad turn ("[keypad] 1#") picks from a keypad
 * menu (keypad-menu.ts): the choice's answer and the menu again, or the
 * farewell for the choice that ends the call. It never logs what it is told
 * or what it answers.
 */
import type { ChatMessage, LanguageModel, LlmChunk, ToolSpec } from '../providers/types.ts';
import { DEMO_KEYPAD_MENU, keypadChoice, keypadMenuText, unknownKeypadReply, type KeypadChoice } from './keypad-menu.ts';

export interface ScriptRule {
  /** A keyword (matched case-insensitively as whole words) or a pattern. */
  match: string | RegExp;
  reply: string;
}

export interface ScriptedLlmOptions {
  rules?: ScriptRule[];
  /** Reply when no rule matches. Default: `I heard you say "<text>". How can I help with that?` */
  fallback?: (userText: string) => string;
  /** First turn, when there is no user message yet. */
  greeting?: string;
  /** What ends the call. Default: goodbye, bye, good bye, hang up, that's all. */
  endCallPattern?: RegExp;
  farewell?: string;
  /** Name of the tool that ends the call. Default `end_call`. */
  endCallTool?: string;
  /** Pause between streamed words, to imitate a model's pace. Default 0 (next tick). */
  wordDelayMs?: number;
  /** What keypad turns pick from. Default DEMO_KEYPAD_MENU; `false`: keypad turns go through the rules like speech. */
  keypadMenu?: readonly KeypadChoice[] | false;
}

export const DEFAULT_SCRIPT: ScriptRule[] = [
  { match: /\b(book|reserve|reservation|table)\b/i, reply: 'Of course. For how many people, and at what time?' },
  { match: /\b(open|opening|hours|close|closing)\b/i, reply: 'We are open from noon until ten in the evening, every day.' },
  { match: /\b(yes|yeah|sure|please)\b/i, reply: 'Great, that is all set for you.' },
  { match: /\b(human|person|agent|operator)\b/i, reply: 'Let me see if someone is available to take your call.' },
];

const DEFAULT_END_CALL = /\b(good ?bye|bye|hang up|that's all|that is all)\b/i;

function keywordPattern(keyword: string): RegExp {
  const escaped = keyword.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\b${escaped}\\b`, 'i');
}

function lastUserText(messages: ChatMessage[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return m.content;
  }
  return undefined;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class ScriptedLanguageModel implements LanguageModel {
  readonly name = 'scripted';
  private readonly rules: Array<{ pattern: RegExp; reply: string }>;
  private readonly fallback: (userText: string) => string;
  private readonly greeting: string;
  private readonly endCallPattern: RegExp;
  private readonly farewell: string;
  private readonly endCallTool: string;
  private readonly wordDelayMs: number;
  private readonly keypadMenu: readonly KeypadChoice[] | undefined;
  private callCounter = 0;

  constructor(options: ScriptedLlmOptions = {}) {
    this.rules = (options.rules ?? DEFAULT_SCRIPT).map((r) => ({
      pattern: typeof r.match === 'string' ? keywordPattern(r.match) : r.match,
      reply: r.reply,
    }));
    this.fallback = options.fallback ?? ((text) => `I heard you say "${text.trim()}". How can I help with that?`);
    this.greeting = options.greeting ?? 'Hello, thank you for calling. How can I help you today?';
    this.endCallPattern = options.endCallPattern ?? DEFAULT_END_CALL;
    this.farewell = options.farewell ?? 'Thank you for calling. Goodbye!';
    this.endCallTool = options.endCallTool ?? 'end_call';
    this.wordDelayMs = options.wordDelayMs ?? 0;
    this.keypadMenu = options.keypadMenu === false ? undefined : (options.keypadMenu ?? DEMO_KEYPAD_MENU);
  }

  async *chat(req: { messages: ChatMessage[]; tools?: ToolSpec[]; signal: AbortSignal }): AsyncIterable<LlmChunk> {
    const { signal } = req;
    const last = req.messages[req.messages.length - 1];
    // After a tool result (e.g. end_call done) there is nothing more to say.
    if (last?.role === 'tool') {
      yield { type: 'done', finishReason: 'stop' };
      return;
    }
    const user = lastUserText(req.messages);
    const choice = user !== undefined && this.keypadMenu ? keypadChoice(user, this.keypadMenu) : undefined;
    this.endCallPattern.lastIndex = 0;
    const wantsToEnd = user !== undefined && (choice ? choice !== 'unknown' && choice.endsCall === true : this.endCallPattern.test(user));
    const reply = user === undefined ? this.greeting : wantsToEnd ? this.farewell : choice ? this.keypadReply(choice) : this.replyTo(user);

    const words = reply.split(/\s+/).filter((w) => w !== '');
    for (let i = 0; i < words.length; i++) {
      if (signal.aborted) return;
      if (this.wordDelayMs > 0) await delay(this.wordDelayMs, signal);
      else await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal.aborted) return;
      yield { type: 'text', text: i === 0 ? words[i]! : ` ${words[i]!}` };
    }
    if (wantsToEnd && req.tools?.some((t) => t.name === this.endCallTool)) {
      yield {
        type: 'tool_call',
        call: { id: `scripted_call_${++this.callCounter}`, name: this.endCallTool, arguments: JSON.stringify({ reason: 'caller_said_goodbye' }) },
      };
      yield { type: 'done', finishReason: 'tool_calls' };
      return;
    }
    yield { type: 'done', finishReason: 'stop' };
  }

  private keypadReply(choice: KeypadChoice | 'unknown'): string {
    const menu = this.keypadMenu ?? [];
    if (choice === 'unknown' || !choice.reply) return unknownKeypadReply(menu);
    return `${choice.reply} ${keypadMenuText(menu)}`;
  }

  private replyTo(text: string): string {
    for (const rule of this.rules) {
      rule.pattern.lastIndex = 0; // a /g pattern keeps state between test() calls
      if (rule.pattern.test(text)) return rule.reply;
    }
    return this.fallback(text);
  }
}
