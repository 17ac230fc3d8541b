/** Public face of media/rtp: RTP sessions (in-thread, or in the media thread) and the pieces they are built from. */
export { RtpSession, SAMPLE_RATE, FRAME_SAMPLES, SID_REFRESH_TICKS, canonicalAddress, isDtmfDigit, sessionSampleRate, rtpStatsFromArray, RTP_STATS_LENGTH } from './session.ts';
export type { DropReason, RtpCodecChoice, RtpRemote, RtpSessionEvents, RtpSessionOptions, RtpSessionStats, RtpSrtpKeys } from './session.ts';
export { deriveSessionKey, deriveSessionKeys, SRTP_SUITES, SrtpContext, SrtpError } from './srtp.ts';
export type { SrtpRefusal, SrtpSessionKeys, SrtpSuite, SrtpSuiteInfo } from './srtp.ts';
export type { RtpStream, RtpStreamEvents, RtpStreamStats } from './stream.ts';
export { DROP_REASONS, JITTER_COUNTERS, RTP_COUNTERS, writeRtpStats } from './rtp-stats.ts';
export type { RtpCounter } from './rtp-stats.ts';
export { MediaThread, MediaThreadError, ThreadedRtpSession } from './media-thread.ts';
export type { MediaThreadLogger, MediaThreadStats, ThreadedRtpSessionOptions } from './media-thread.ts';
export { PortAllocator, PortExhaustedError, ephemeralPorts } from './port-allocator.ts';
export type { PortRange, SocketPair } from './port-allocator.ts';
export { Pacer, sharedPacer } from './pacer.ts';
export type { PacerOptions, PacerStats, TickHandler } from './pacer.ts';
export { JitterBuffer, jitterBufferDepthMs } from './jitter-buffer.ts';
export type { JitterBufferOptions, JitterBufferStats, PulledKind } from './jitter-buffer.ts';
export {
  DTMF_EVENTS, digitOfEvent, DtmfReceiver, dtmfPacketSequence, eventOfDigit, parseTelephoneEvent, writeTelephoneEvent,
} from './dtmf.ts';
export type { DetectedDigit, DtmfPacketPlan, TelephoneEvent } from './dtmf.ts';
export { looksLikeRtcp, parseRtp, RTP_HEADER_BYTES, seqDiff, seqNewer, serializeRtp, writeRtpHeader } from './packet.ts';
export type { RtpHeaderExtension, RtpHeaderFields, RtpPacket, RtpPacketInit, RtpParseError, RtpParseResult } from './packet.ts';
export {
  buildBye, buildCompound, buildReceiverReport, buildSdesCname, buildSenderReport, ntpFromUnixMs, ntpMiddle32, parseRtcp,
  ReceptionStats, RTCP_BYE, RTCP_RR, RTCP_SDES, RTCP_SR,
} from './rtcp.ts';
export type { ReportBlock, RtcpPacket, RtcpParseResult, SenderInfo } from './rtcp.ts';
