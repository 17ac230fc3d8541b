/** Outbound calling compliance (TCPA): the per-call check, the calling policy, do-not-call and consent lists, phone numbers. */
export {
  assertOutboundAllowed, callerIdUser, callingHours, CallingPolicyError, canonicalTimeZone, checkOutboundCall, describeDays, evaluateOutbound,
  getCallingPolicy, localClock, nextCallingTime, OutboundRefusedError, ownedNumber, parseDays, pickCallerNumber, setCallingPolicy, widerThanTcpa,
} from './outbound-policy.ts';
export type { CallingPolicyChanges, OutboundCallInput, OutboundDecision, RefusalReason } from './outbound-policy.ts';
export { addToDoNotCall, grantConsent, InvalidPhoneError, listConsents, listDoNotCall, removeDoNotCallById, removeFromDoNotCall, revokeConsent, revokeConsentById, type ListActor } from './lists.ts';
export { hasCountryCode, isE164, maskPhone, normalisePhone, phoneCountry, phoneCountryCode, phoneVariants, storedPhone, stripPunctuation, type CountryCode } from './phone.ts';
export { readInCountry, tenantPhoneCountry } from './tenant-country.ts';
export { timeZoneForPhone } from './phone-time-zone.ts';
