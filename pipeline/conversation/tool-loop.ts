/**
 * The LLM side of an answer: stream the model's reply, hand each complete
 * sentence on as it forms (so TTS can start on the first), and run the tools
 * it calls (tools.ts). A tool that needs another look by the model (send_dtmf,
 * an invalid call) gets another round, at most MAX_TOOL_ROUNDS; end_call and
 * transfer_call only plan what happens after the reply has been heard.
 * Digits leave only once the reply is live (`whenLive`): a speculative
 * answer never presses keys on the call.
 */
import type { ChatMessage, LanguageModel, ToolSpec } from '../providers/types.ts';
import type { AfterReply } from './reply.ts';
import { SentenceSplitter } from './sentence-splitter.ts';
import { StageError } from './stage-error.ts';
import { parseToolCall } from './tools.ts';

export const MAX_TOOL_ROUNDS = 3;

export interface ToolLoop {
  llm: LanguageModel;
  tools: ToolSpec[];
  agent: { transferTarget?: string | null };
  /** The conversation up to and including the caller's turn. */
  prompt: readonly ChatMessage[];
  signal: AbortSignal;
  sendDtmf(digits: string): Promise<void>;
  /** Resolves true when the reply may have effects, false when it was cancelled first. */
  whenLive(): Promise<boolean>;
  onSentence(sentence: string): void;
  /** An assistant or tool message of this reply. */
  onMessage(message: ChatMessage): void;
  onAfter(after: AfterReply): void;
  /** A request is about to go to the LLM. */
  onRequest(): void;
  onFirstToken(): void;
}

/** Runs LLM rounds until the model is done, needs no tool result, or the signal aborts. Throws StageError('llm'). */
export async function runToolLoop(loop: ToolLoop): Promise<void> {
  const { llm, signal } = loop;
  const own: ChatMessage[] = [];
  const add = (m: ChatMessage): void => {
    own.push(m);
    loop.onMessage(m);
  };
  for (let round = 0; round < MAX_TOOL_ROUNDS; round++) {
    const splitter = new SentenceSplitter();
    const calls = [];
    let text = '';
    loop.onRequest();
    try {
      for await (const chunk of llm.chat({ messages: [...loop.prompt, ...own], tools: loop.tools, signal })) {
        if (signal.aborted) return;
        if (chunk.type === 'text') {
          loop.onFirstToken();
          text += chunk.text;
          for (const s of splitter.push(chunk.text)) loop.onSentence(s);
        } else if (chunk.type === 'tool_call') {
          calls.push(chunk.call);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw new StageError('llm', llm.name, error);
    }
    if (signal.aborted) return;
    for (const s of splitter.flush()) loop.onSentence(s);
    if (text.trim() === '' && calls.length === 0) return;
    add(calls.length > 0 ? { role: 'assistant', content: text, toolCalls: calls } : { role: 'assistant', content: text });
    if (calls.length === 0) return;
    let again = false;
    let after: AfterReply | undefined;
    for (const call of calls) {
      const action = parseToolCall(call, loop.agent);
      let result: string;
      if (action.kind === 'end_call') {
        after = { kind: 'hangup', reason: 'agent_end_call' };
        loop.onAfter(after);
        result = 'ok: the call ends after your last words';
      } else if (action.kind === 'transfer') {
        after = { kind: 'transfer', target: action.target };
        loop.onAfter(after);
        result = 'ok: transferring the caller';
      } else if (action.kind === 'dtmf') {
        if (!(await loop.whenLive())) return;
        try {
          await loop.sendDtmf(action.digits);
          result = 'ok: digits sent';
        } catch {
          result = 'error: the digits could not be sent';
        }
        again = true;
      } else {
        result = action.message;
        again = true;
      }
      add({ role: 'tool', content: result, toolCallId: call.id });
    }
    if (!again || after || signal.aborted) return;
  }
}
