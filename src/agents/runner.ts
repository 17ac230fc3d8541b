/**
 * The conversation runner the call manager invokes for an agent in mode
 * 'conversation': it picks the agent's providers, runs one Conversation on
 * the call's transport and resolves when the call has ended. Turns (redacted),
 * traces, failures and the end are reported through callbacks for the call
 * record; a throwing callback is logged (without content) and ignored.
 */
import type { Registry } from 'prom-client';
import type { AgentRow } from '../../storage/index.ts';
import type { Logger } from '../log.ts';
import {
  Conversation,
  conversationSettingsFrom,
  FallbackVoice,
  PhraseCache,
  EspeakTextToSpeech,
  EspeakWasmTextToSpeech,
  DEMO_KEYPAD_MENU,
  keypadMenuText,
  keypadOnlyNotice,
  latencyMetrics,
  REPROMPT,
  type AudioRedaction,
  type CallTransport,
  type ConversationEnd,
  type ConversationTurn,
  type OfflineAvailability,
  type ProviderFailure,
  type SileroModel,
  type TurnTrace,
} from '../../pipeline/index.ts';
import { chooseProviders, createProviders, type ProviderConfig, type TenantProviderKeys } from './providers.ts';

export interface ConversationCall {
  tenantId: string;
  agentId: string;
  agent: AgentRow;
  callId: string;
  direction: 'inbound' | 'outbound';
  transport: CallTransport;
}

export type ConversationRunner = (call: ConversationCall) => Promise<ConversationEnd>;

export interface ConversationRunnerDeps {
  config: ProviderConfig;
  offline: OfflineAvailability;
  logger: Logger;
  /** The server's registry: turn latency histograms are registered on it. */
  metrics?: Registry;
  /** The tenant's own provider keys, when it has any. */
  tenantKeys?: (tenantId: string) => Promise<TenantProviderKeys | undefined>;
  onTurn?: (callId: string, turn: ConversationTurn, tenantId: string) => void | Promise<void>;
  /** Where PII was said or typed (frame clock, no content): the recorder silences it. Called synchronously. */
  onAudioRedaction?: (callId: string, span: AudioRedaction) => void;
  onTrace?: (callId: string, trace: TurnTrace) => void | Promise<void>;
  onFailure?: (callId: string, failure: ProviderFailure, tenantId: string) => void | Promise<void>;
  onEnd?: (callId: string, end: ConversationEnd, tenantId: string) => void | Promise<void>;
  vadModel?: SileroModel;
  /** The call's clock (default performance.now()); tests pass their fake transport's. */
  clock?: (call: ConversationCall) => () => number;
}

/**
 * Without speech recognition the caller is told so at once and offered the keypad: the scripted agent's menu, or
 * typing an answer for a real model (it gets the keys as "[keypad] ...").
 */
export function withKeypadNotice(greeting: string | null | undefined, scripted: boolean): string {
  return `${greeting?.trim() ?? ''} ${keypadOnlyNotice(scripted ? DEMO_KEYPAD_MENU : undefined)}`.trim();
}

/** The silence reprompt without speech recognition: the menu again (saying something would not be heard). */
export function keypadReprompt(scripted: boolean): string {
  return scripted ? `${REPROMPT} ${keypadMenuText(DEMO_KEYPAD_MENU)}` : `${REPROMPT} Please use your phone's keypad.`;
}

export function createConversationRunner(deps: ConversationRunnerDeps): ConversationRunner {
  const metrics = deps.metrics ? latencyMetrics(deps.metrics) : undefined;
  const localTts = deps.offline.espeakWasm.available ? new EspeakWasmTextToSpeech() : deps.offline.espeakNg.available ? new EspeakTextToSpeech() : undefined;
  // The disclosure, greetings and the local apology are the same on every call: their audio is synthesized once.
  const phraseCache = new PhraseCache();
  const fallbackVoice = localTts ? new FallbackVoice(localTts, phraseCache) : undefined;

  return async (call) => {
    const log = deps.logger.child({ callId: call.callId, tenantId: call.tenantId, agentId: call.agentId });
    const report = <A extends unknown[]>(what: string, fn: ((...args: A) => void | Promise<void>) | undefined, ...args: A): void => {
      if (!fn) return;
      Promise.resolve()
        .then(() => fn(...args))
        .catch((error: unknown) => log.error({ hook: what, err: { name: (error as Error)?.name } }, 'conversation hook failed'));
    };
    let conversation: Conversation;
    try {
      const tenantKeys = deps.tenantKeys ? await deps.tenantKeys(call.tenantId) : undefined;
      const env = { config: deps.config, offline: deps.offline, tenantKeys };
      const choice = chooseProviders(call.agent, env);
      const providers = createProviders(choice, env, call.transport.sampleRate);
      conversation = await Conversation.create({
        transport: call.transport,
        ...providers,
        agent: {
          systemPrompt: call.agent.prompt,
          greeting: choice.stt.kind === 'none' ? withKeypadNotice(call.agent.greeting, choice.llm.kind === 'scripted') : call.agent.greeting,
          ...(choice.stt.kind === 'none' ? { reprompt: keypadReprompt(choice.llm.kind === 'scripted') } : {}),
          transferTarget: call.agent.transferTarget,
          ...(choice.stt.kind === 'deepgram' && choice.stt.language ? { language: choice.stt.language } : {}),
        },
        settings: conversationSettingsFrom(call.agent.providerSettings),
        ...(fallbackVoice ? { fallbackVoice } : {}),
        phraseCache,
        ...(deps.vadModel ? { vadModel: deps.vadModel } : {}),
        ...(metrics ? { metrics } : {}),
        ...(deps.clock ? { clock: deps.clock(call) } : {}),
        log,
      });
    } catch (error) {
      // Misconfiguration: say so in the call record, end the call (no content involved).
      const message = error instanceof Error ? error.message : 'could not start the conversation';
      log.warn({ reason: message }, 'conversation could not start');
      const end: ConversationEnd = { reason: 'setup_failed', traces: [] };
      report('onFailure', deps.onFailure, call.callId, { stage: 'tts', provider: 'setup', message }, call.tenantId);
      await call.transport.hangup('setup_failed').catch(() => undefined);
      report('onEnd', deps.onEnd, call.callId, end, call.tenantId);
      return end;
    }
    conversation.on('turn', (turn) => report('onTurn', deps.onTurn, call.callId, turn, call.tenantId));
    conversation.on('audio_redaction', (span) => {
      try { deps.onAudioRedaction?.(call.callId, span); } catch (error) { log.error({ hook: 'onAudioRedaction', err: { name: (error as Error)?.name } }, 'conversation hook failed'); }
    });
    conversation.on('trace', (trace) => report('onTrace', deps.onTrace, call.callId, trace));
    conversation.on('failure', (failure) => report('onFailure', deps.onFailure, call.callId, failure, call.tenantId));
    log.info({ direction: call.direction }, 'conversation started');
    const end = await conversation.run();
    log.info({
      reason: end.reason, turns: end.traces.length, failed: end.failure?.stage,
      // Preemptive answers (counts only): wasted ones were billed by the providers.
      speculativeUsed: end.speculation?.used, speculativeWasted: end.speculation?.wasted, speculativeWastedLlmRequests: end.speculation?.wastedLlmRequests,
    }, 'conversation ended');
    report('onEnd', deps.onEnd, call.callId, end, call.tenantId);
    return end;
  };
}
