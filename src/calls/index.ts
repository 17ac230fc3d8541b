/** Public face of src/calls: SIP call handling (inbound and outbound), runners, the CallTransport over SIP/RTP. */
export { CallManager, CallManagerError, calledNumber, callManagerOptions } from './call-manager.ts';
export type { CallInfo, CallManagerEvents, CallManagerOptions, DrainOptions, DrainReport, PlaceCallOptions, SetupStep, TapFactory } from './call-manager.ts';
export { CallSession } from './call-session.ts';
export type { CallSessionEvents } from './call-session.ts';
export { createGreetingRunner, echoRunner, untilEnd } from './runners.ts';
export type { AgentCall, AgentRunner, CallRecordWriter, GreetingRunnerOptions } from './runners.ts';
export { failureLabel, latencySummary, traceLatency, type CallLatencySummary, type StatSummary } from './call-record.ts';
export { SipCallTransport, TransferError } from './sip-call-transport.ts';
export type { CallTap } from './sip-call-transport.ts';
export { SecurityLog } from './security-log.ts';
export { sourceAllowed, normalizeAddress } from './source-acl.ts';
export { registerCallMetrics, type CallMetricsSource, type VadStats } from './call-metrics.ts';
