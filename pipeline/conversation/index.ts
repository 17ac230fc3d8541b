/** The conversation: one per call, driven by a CallTransport (see conversation.ts for the stages). */
export {
  Conversation,
  type AgentProfile,
  type ConversationEnd,
  type ConversationEvents,
  type ConversationLog,
  type ConversationOptions,
  type ConversationTurn,
  type AudioRedaction,
  type InterruptEvent,
  type PipelineStage,
  type ProviderFailure,
  type SpeculationCount,
} from './conversation.ts';
export { Reply, type AfterReply, type CancelReason, type ReplyKind, type ReplyState } from './reply.ts';
export { runToolLoop, MAX_TOOL_ROUNDS, type ToolLoop } from './tool-loop.ts';
export { AI_DISCLOSURE, composeGreeting, disclosesAi } from './disclosure.ts';
export { isBackchannel } from './backchannel.ts';
export { SentenceSplitter, splitSentences } from './sentence-splitter.ts';
export {
  conversationSettingsFrom,
  mergeSettings,
  ConversationSettingsError,
  DEFAULT_CONVERSATION_SETTINGS,
  type ConversationSettings,
  type DeepPartial,
} from './settings.ts';
export { APOLOGY, REPROMPT, SHUTDOWN_GOODBYE, FallbackVoice } from './phrases.ts';
export { PhraseCache, concatPcm, synthesizeWhole, type PhraseKey } from './phrase-cache.ts';
export { TurnDetector, type EndOfTurn } from './turn-detector.ts';
export { heardText, PlayoutLedger, type SpokenSpan } from './playout-ledger.ts';
export { toolsFor, parseToolCall, END_CALL, TRANSFER_CALL, SEND_DTMF, type ToolAction } from './tools.ts';
export { KeypadCollector, DEFAULT_KEYPAD_SETTINGS, type KeypadRun, type KeypadSettings } from './keypad-collector.ts';
