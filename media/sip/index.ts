/**
 * Public face of the SIP stack (hand-written: no maintained server-side
 * TypeScript SIP stack exists, see shared/DESIGN.md).
 */
export {
  SipHeaders, splitHeaderList, canonicalHeaderName, createRequest, createResponse, createResponseTo, reasonPhrase,
  COMPACT_FORMS, REASON_PHRASES,
} from './message.ts';
export type { SipHeader, SipMessage, SipRequest, SipResponse } from './message.ts';
export { parseUri, parseSipUri, formatUri, sipUri, isSipUri, parseHostPort, unescapeUriPart, emptyParams } from './uri.ts';
export type { Uri, SipUri, TelUri, OpaqueUri, Params } from './uri.ts';
export {
  parseVia, formatVia, viaBranch, viaRport, parseNameAddr, formatNameAddr, nameAddrTag, parseCSeq, formatCSeq,
  parseMaxForwards, parseHeaderParams, formatHeaderParams, parseAuthValue, isToken, quote, formatWarning, BRANCH_MAGIC_COOKIE,
  tagOf,
} from './header-values.ts';
export type { Via, NameAddr, CSeq, AuthValue } from './header-values.ts';
export { parseMessage, checkRequestSanity, hasResponseEssentials, DEFAULT_MAX_MESSAGE_SIZE } from './parser.ts';
export type { ParseOptions, ParseResult } from './parser.ts';
export { serializeMessage } from './serializer.ts';
export { StreamFramer } from './stream-framer.ts';
export type { FramerEvent, StreamFramerOptions } from './stream-framer.ts';
export { DigestServer, ha1, digestResponse, pickChallenge, buildAuthorization, parseDigestAlgorithms, DEFAULT_DIGEST_ALGORITHMS } from './digest.ts';
export type { DigestAlgorithm, DigestServerOptions, DigestVerifyResult, DigestChallenge, Ha1Lookup, ChallengeHeaders } from './digest.ts';
export { parseCidr, CidrError, mappedIpv4 } from './cidr.ts';
export type { Cidr, CidrProblem } from './cidr.ts';
export { SipGuard, KNOWN_SCANNER_USER_AGENTS } from './guard.ts';
export type { AdmitVerdict, GuardOptions, GuardVerdict, SecurityEvent, SecurityEventType } from './guard.ts';
export { peerForUri, SipTransport, SipListenError } from './transport.ts';
export type { SipPeer, SipTransportOptions, TransportName, TransportStats } from './transport.ts';
export {
  TransactionLayer, ServerTransaction, ClientTransaction, newBranch, serverTransactionKey, buildNon2xxAck, DEFAULT_TIMERS,
} from './transaction.ts';
export type { TimerSettings, TransactionLimits, MessageSender, ClientTransactionHandlers, ServerTransactionState, ClientTransactionState, TransactionLayerEvents } from './transaction.ts';
export { Dialog, dialogKey } from './dialog.ts';
export type { DialogEndReason, DialogState, DialogEvents, IncomingRefer, ReinviteAnswer, ReinviteRefusal, RequestHooks } from './dialog.ts';
export { SipEndpoint, SipCallError, ALLOWED_METHODS, DRAINING_REASON } from './endpoint.ts';
export type { SipEndpointOptions, IncomingCall, InviteOptions, InviteHandler } from './endpoint.ts';
