/**
 * LanguageModel over the official `openai` SDK: streaming chat completions
 * with tools. Text deltas are yielded as they arrive; tool-call deltas (index,
 * id, name, argument fragments) are assembled and yielded as complete calls
 * when the model finishes. Any OpenAI-compatible server works via `baseUrl`.
 * Aborting the signal cancels the HTTP request and ends iteration quietly.
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { isAbortError, toProviderError } from './provider-error.ts';
import type { ChatMessage, LanguageModel, LlmChunk, ToolCall, ToolSpec } from './types.ts';

export interface OpenAiLlmOptions {
  apiKey: string;
  /** e.g. http://127.0.0.1:8080/v1 for a local OpenAI-compatible server. Default: OpenAI. */
  baseUrl?: string;
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /** SDK retries before the first byte; default 0 (a voice turn cannot wait for backoff). */
  maxRetries?: number;
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
    const calls = new Map<number, ToolCall>();
    let finishReason: string | null = null;
    try {
      const stream = await this.client.chat.completions.create(
        {
          model: this.model,
          messages: req.messages.map(toOpenAiMessage),
          stream: true,
          ...(req.tools && req.tools.length > 0 ? { tools: req.tools.map(toOpenAiTool) } : {}),
          ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
          ...(this.options.maxTokens !== undefined ? { max_completion_tokens: this.options.maxTokens } : {}),
        },
        { signal },
      );
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (!choice) continue;
        const text = choice.delta.content;
        if (text) yield { type: 'text', text };
        if (choice.delta.tool_calls) collectToolCallDeltas(calls, choice.delta.tool_calls);
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
    } catch (err) {
      if (isAbortError(err, signal)) return;
      throw toProviderError(this.name, 'chat completion', err, [this.apiKey]);
    }
    if (signal.aborted) return;
    for (const index of [...calls.keys()].sort((a, b) => a - b)) yield { type: 'tool_call', call: calls.get(index)! };
    yield { type: 'done', finishReason: finishReason ?? 'stop' };
  }
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
