/**
 * LanguageModel over the official `openai` SDK: streaming chat completions
 * with tools. Text deltas are yielded as they arrive; tool-call deltas (index,
 * id, name, argument fragments) are assembled and yielded as complete calls
 * when the model finishes. Any OpenAI-compatible server works via `baseUrl`.
 * Aborting the signal cancels the HTTP request and ends iteration quietly.
 *
 * A voice turn has a latency budget, so retries live here rather than in the
 * SDK: until the first token arrives, transient failures (429
 * rate_limit_exceeded after its retry-after, 5xx, dropped connections, an
 * error event in the stream) are retried with back-off, but only while the
 * retry still fits before `firstTokenDeadlineMs`; insufficient_quota and
 * other 4xx are not retried (openai-retry.ts). Past the deadline, or once
 * text has been yielded, the error goes to the conversation, which apologises.
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { openAiRetryDelayMs } from './openai-retry.ts';
import { isAbortError, toProviderError } from './provider-error.ts';
import { ProviderError, type ChatMessage, type LanguageModel, type LlmChunk, type ToolCall, type ToolSpec } from './types.ts';

export interface OpenAiLlmOptions {
  apiKey: string;
  /** e.g. http://127.0.0.1:8080/v1 for a local OpenAI-compatible server. Default: OpenAI. */
  baseUrl?: string;
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /** SDK retries before the first byte; default 0 (this adapter retries within the turn's budget instead). */
  maxRetries?: number;
  /** The first token must arrive within this long of the request, retries included; default 4000 ms. */
  firstTokenDeadlineMs?: number;
  /** Attempts per turn before the first token; default 3. */
  maxAttempts?: number;
  /** Back-off base between attempts when the server names no retry-after; default 100 ms. */
  retryBackoffMs?: number;
  /** Whole-request timeout in ms; default 30 s. */
  timeoutMs?: number;
}

export class OpenAiLlm implements LanguageModel {
  readonly name = 'openai';
  readonly model: string;
  private readonly client: OpenAI;
  private readonly apiKey: string;

  constructor(private readonly options: OpenAiLlmOptions) {
    this.apiKey = options.apiKey;
    this.model = options.model ?? 'gpt-4o-mini';
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? null,
      maxRetries: options.maxRetries ?? 0,
      timeout: options.timeoutMs ?? 30_000,
    });
  }

  async *chat(req: { messages: ChatMessage[]; tools?: ToolSpec[]; signal: AbortSignal }): AsyncIterable<LlmChunk> {
    const { signal } = req;
    if (signal.aborted) return;
    const budgetMs = this.options.firstTokenDeadlineMs ?? 4000;
    const deadline = performance.now() + budgetMs;
    const maxAttempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const attemptAc = new AbortController();
      const onAbort = (): void => attemptAc.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      const firstTokenTimer = setTimeout(() => {
        timedOut = true;
        attemptAc.abort();
      }, Math.max(0, deadline - performance.now()));
      let started = false;
      const calls = new Map<number, ToolCall>();
      let finishReason: string | null = null;
      try {
        const stream = await this.client.chat.completions.create(this.body(req), { signal: attemptAc.signal });
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          if (!choice) continue;
          const text = choice.delta.content;
          if (!started && (text || choice.delta.tool_calls)) {
            started = true;
            clearTimeout(firstTokenTimer);
          }
          if (text) yield { type: 'text', text };
          if (choice.delta.tool_calls) collectToolCallDeltas(calls, choice.delta.tool_calls);
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
      } catch (err) {
        clearTimeout(firstTokenTimer);
        if (signal.aborted) return;
        if (timedOut) throw this.deadlineError(budgetMs, attempt);
        if (isAbortError(err, signal)) return;
        const wait = started || attempt >= maxAttempts ? undefined : openAiRetryDelayMs(err, attempt, this.options.retryBackoffMs ?? 100);
        if (wait === undefined || performance.now() + wait >= deadline) throw toProviderError(this.name, 'chat completion', err, [this.apiKey]);
        if (!(await sleepUnlessAborted(wait, signal))) return;
        continue;
      } finally {
        clearTimeout(firstTokenTimer);
        signal.removeEventListener('abort', onAbort);
      }
      if (signal.aborted) return;
      // The SDK ends a stream quietly when its request is aborted: the deadline did that.
      if (timedOut) throw this.deadlineError(budgetMs, attempt);
      for (const index of [...calls.keys()].sort((a, b) => a - b)) yield { type: 'tool_call', call: calls.get(index)! };
      yield { type: 'done', finishReason: finishReason ?? 'stop' };
      return;
    }
  }

  private deadlineError(budgetMs: number, attempts: number): ProviderError {
    return new ProviderError(this.name, `chat completion: no first token within ${budgetMs} ms (${attempts} attempt${attempts > 1 ? 's' : ''})`);
  }

  private body(req: { messages: ChatMessage[]; tools?: ToolSpec[] }) {
    return {
      model: this.model,
      messages: req.messages.map(toOpenAiMessage),
      stream: true as const,
      ...(req.tools && req.tools.length > 0 ? { tools: req.tools.map(toOpenAiTool) } : {}),
      ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
      ...(this.options.maxTokens !== undefined ? { max_completion_tokens: this.options.maxTokens } : {}),
    };
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

type ToolCallDelta = NonNullable<ChatCompletionChunk.Choice.Delta['tool_calls']>[number];

/** Tool calls arrive as fragments keyed by index: the first carries id and name, later ones more arguments. */
export function collectToolCallDeltas(calls: Map<number, ToolCall>, deltas: ToolCallDelta[]): void {
  for (const d of deltas) {
    let call = calls.get(d.index);
    if (!call) {
      call = { id: '', name: '', arguments: '' };
      calls.set(d.index, call);
    }
    if (d.id) call.id = d.id;
    if (d.function?.name) call.name += d.function.name;
    if (d.function?.arguments) call.arguments += d.function.arguments;
  }
}

function toOpenAiMessage(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.content };
    case 'user':
      return { role: 'user', content: m.content };
    case 'tool':
      return { role: 'tool', content: m.content, tool_call_id: m.toolCallId };
    case 'assistant':
      if (m.toolCalls && m.toolCalls.length > 0) {
        return {
          role: 'assistant',
          content: m.content.length > 0 ? m.content : null,
          tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
        };
      }
      return { role: 'assistant', content: m.content };
  }
}

function toOpenAiTool(t: ToolSpec): ChatCompletionTool {
  return { type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } };
}
