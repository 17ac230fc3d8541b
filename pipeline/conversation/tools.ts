/**
 * The agent's telephony tools as the LLM sees them: end_call, transfer_call
 * (only to the agent's configured transfer target: a caller who talks the
 * model into "transfer me to +1 900 ..." must not get a paid call out) and
 * send_dtmf (digits validated before they reach the transport).
 */
import type { ToolCall, ToolSpec } from '../providers/types.ts';

export const END_CALL: ToolSpec = {
  name: 'end_call',
  description: 'Hang up the call after saying goodbye. Use when the caller is done or asks to end the call.',
  parameters: { type: 'object', properties: { reason: { type: 'string', description: 'Why the call ends' } }, required: [] },
};

export const TRANSFER_CALL: ToolSpec = {
  name: 'transfer_call',
  description: 'Transfer the caller to a human colleague. Tell the caller first that you are transferring them.',
  parameters: { type: 'object', properties: {}, required: [] },
};

export const SEND_DTMF: ToolSpec = {
  name: 'send_dtmf',
  description: 'Send touch-tone digits on the call (e.g. to navigate a phone menu). Digits 0-9, *, #, A-D.',
  parameters: { type: 'object', properties: { digits: { type: 'string', description: 'The digits to send, e.g. "1#"' } }, required: ['digits'] },
};

export function toolsFor(agent: { transferTarget?: string | null }): ToolSpec[] {
  return agent.transferTarget ? [END_CALL, TRANSFER_CALL, SEND_DTMF] : [END_CALL, SEND_DTMF];
}

const DTMF = /^[0-9*#A-Da-d]{1,32}$/;

export type ToolAction =
  | { kind: 'end_call' }
  | { kind: 'transfer'; target: string }
  | { kind: 'dtmf'; digits: string }
  | { kind: 'invalid'; message: string };

/** What a tool call asks for, checked; `invalid` carries the result to tell the model. */
export function parseToolCall(call: ToolCall, agent: { transferTarget?: string | null }): ToolAction {
  let args: Record<string, unknown> = {};
  try {
    const parsed: unknown = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    if (typeof parsed === 'object' && parsed !== null) args = parsed as Record<string, unknown>;
  } catch {
    return { kind: 'invalid', message: 'error: arguments are not valid JSON' };
  }
  switch (call.name) {
    case 'end_call':
      return { kind: 'end_call' };
    case 'transfer_call':
      if (!agent.transferTarget) return { kind: 'invalid', message: 'error: transfers are not available on this line' };
      return { kind: 'transfer', target: agent.transferTarget };
    case 'send_dtmf': {
      const digits = typeof args.digits === 'string' ? args.digits.replace(/\s+/g, '') : '';
      if (!DTMF.test(digits)) return { kind: 'invalid', message: 'error: digits must be 1-32 of 0-9 * # A-D' };
      return { kind: 'dtmf', digits: digits.toUpperCase() };
    }
    default:
      return { kind: 'invalid', message: `error: unknown tool ${call.name.slice(0, 40)}` };
  }
}
