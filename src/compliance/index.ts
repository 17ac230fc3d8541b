/** Outbound calling compliance (TCPA): the per-call check, the calling policy, do-not-call and consent lists, phone numbers. */
export {
  assertOutboundAllowed, callerIdUser, callingHours, CallingPolicyError, canonicalTimeZone, checkOutboundCall, clockMinutes, defaultCallerNumber,
  describeDays, evaluateOutbound, getCallingPolicy, localClock, OutboundRefusedError, ownedNumber, parseDays, pickCallerNumber, setCallingPolicy, widerThanTcpa,
} from './outbound-policy.ts';
export type { CallingPolicyChanges, OutboundCallInput, OutboundDecision, RefusalReason } from './outbound-policy.ts';
export { addToDoNotCall, grantConsent, InvalidPhoneError, listConsents, listDoNotCall, removeFromDoNotCall, requirePhone, revokeConsent } from './lists.ts';
export { describePhone, maskPhone, normalisePhone, phoneVariants } from './phone.ts';
