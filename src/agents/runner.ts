/**
 * The conversation runner the call manager invokes for an agent in mode
 * 'conversation': it picks the agent's providers, runs one Conversation on
 * the call's transport and resolves when the call has ended. Turns (redacted),
 * PII spans, traces, failures and the outcome go to the call's record
 * (AgentCall.record: the call's ordered writes and its taps).
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { AgentCall } from '../calls/index.ts';
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
  type ConversationEnd,
  type OfflineAvailability,
  type SileroModel,
} from '../../pipeline/index.ts';
import { providerLatencyMetrics, type ProviderNames } from './provider-metrics.ts';
import { chooseProviders, type ProviderConfig, type TenantProviderKeys } from './provider-choice.ts';
import { createProviders } from './providers.ts';

export type ConversationRunner = (call: AgentCall) => Promise<ConversationEnd>;

export interface ConversationRunnerDeps {
  config: ProviderConfig;
  offline: OfflineAvailability;
  logger: Logger;
  /** The server's registry: turn latency histograms are registered on it. */
  metrics?: Registry;
  /** The tenant's own provider keys, when it has any. */
  tenantKeys?: (tenantId: string) => Promise<TenantProviderKeys | undefined>;
  vadModel?: SileroModel;
  /** The call's clock (default performance.now()); tests pass their fake transport's. */
  clock?: (call: AgentCall) => () => number;
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
  const providerLatency = deps.metrics ? providerLatencyMetrics(deps.metrics) : undefined;
  const localTts = deps.offline.espeakWasm.available ? new EspeakWasmTextToSpeech() : deps.offline.espeakNg.available ? new EspeakTextToSpeech() : undefined;
  // The disclosure, greetings and the local apology are the same on every call: their audio is synthesized once.
  const phraseCache = new PhraseCache();
  const fallbackVoice = localTts ? new FallbackVoice(localTts, phraseCache) : undefined;

  return async (call) => {
    const log = deps.logger.child({ callId: call.callId, tenantId: call.tenantId, agentId: call.agentId });
    const record = call.record;
    let conversation: Conversation;
    let names: ProviderNames;
    try {
      const tenantKeys = deps.tenantKeys ? await deps.tenantKeys(call.tenantId) : undefined;
      const env = { config: deps.config, offline: deps.offline, tenantKeys };
      const choice = chooseProviders(call.agent, env);
      const providers = createProviders(choice, env, call.transport.sampleRate);
      names = { stt: providers.stt.name, llm: providers.llm.name, tts: providers.tts.name };
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
      const end: ConversationEnd = { reason: 'setup-failed', traces: [] };
      record.failure({ stage: 'tts', provider: 'setup' });
      await call.transport.hangup('setup-failed').catch(() => undefined);
      record.outcome(end);
      return end;
    }
    conversation.on('turn', (turn) => record.turn(turn));
    conversation.on('audio_redaction', (span) => record.redactAudio(span));
    conversation.on('trace', (trace) => {
      providerLatency?.(names, trace);
      record.trace(trace);
    });
    conversation.on('failure', (failure) => record.failure(failure));
    log.info({ direction: call.direction }, 'conversation started');
    const end = await conversation.run();
    log.info({
      reason: end.reason, turns: end.traces.length, failed: end.failure?.stage,
      // Preemptive answers (counts only): wasted ones were billed by the providers.
      speculativeUsed: end.speculation?.used, speculativeWasted: end.speculation?.wasted, speculativeWastedLlmRequests: end.speculation?.wastedLlmRequests,
    }, 'conversation ended');
    record.outcome(end);
    return end;
  };
}
