/** Public face of src/calls: call handling for every way in (SIP inbound and outbound, acceptTransportCall for the others), runners, the CallTransports. */
export { CallLimitError, CallManager, CallManagerError, TransportCallError, calledNumber, callManagerOptions } from './call-manager.ts';
export type { CallInfo, CallManagerEvents, CallManagerOptions, DrainOptions, DrainReport, PlaceCallOptions, SetupStep, TapFactory, TransportCallOptions } from './call-manager.ts';
export { CallSession } from './call-session.ts';
export { SipCallSession } from './sip-call-session.ts';
export { SessionTransport, type CallTransportKind, type TransportOwner } from './session-transport.ts';
export type { CallSessionEvents } from './call-session.ts';
export { createGreetingRunner, echoRunner, untilEnd } from './runners.ts';
export type { AgentCall, AgentRunner, CallRecordWriter, GreetingRunnerOptions } from './runners.ts';
export { failureLabel, latencySummary, traceLatency, type CallLatencySummary, type StatSummary } from './call-record.ts';
export { SipCallTransport, TransferError } from './sip-call-transport.ts';
export type { CallTap } from './session-transport.ts';
export { SecurityLog } from './security-log.ts';
export { sourceAllowed, normalizeAddress } from './source-acl.ts';
export { registerCallMetrics, type CallMetricsSource, type VadStats } from './call-metrics.ts';
