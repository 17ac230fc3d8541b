/**
 * The outbound calling check (the security promises' "TCPA Compliance": DNC
 * list support, calling hours, consent tracking, caller ID). Every outbound
 * call is judged before anything is dialled; a refusal names one reason and is
 * written to the tenant's audit log (action `call.refused`, the callee masked
 * to its last 4 digits: never the whole number). The reasons, in the order
 * they are tried (permanent ones first, so "try later" is only said when it
 * would help):
 *
 *   invalid-number        the callee is not a phone number (src/compliance/phone.ts);
 *   do-not-call           the callee (any spelling: numbers are normalised, one
 *                         dialled without + read in the tenant's default country
 *                         as the list's entries were; an older row's bare US
 *                         10 or 11 digits still equal +1XXXXXXXXXX) is on the
 *                         tenant's do-not-call list. This wins over any consent;
 *   no-consent            the tenant requires prior consent (the default) and the
 *                         callee has no unrevoked consent of kind 'outbound-call'
 *                         (consent recorded for other kinds does not count);
 *   caller-id-not-owned   the From identity's user part is not one of the tenant's
 *                         own numbers (`numbers`), or no From was given and the
 *                         tenant has no number to present;
 *   outside-calling-hours the current local time, in the tenant's configured time
 *                         zone, is outside [start, end) or on a day not allowed.
 *
 * Calling hours: the TCPA limits calls to 8 a.m.-9 p.m. at the *called party's*
 * location. The callee's time zone cannot be derived from a number here (area
 * codes are not locations, numbers port and travel), so the tenant's configured
 * time zone is used: a tenant calling across US time zones should narrow its
 * window so that it holds in all of them (e.g. 11:00-21:00 America/New_York
 * covers 8 a.m. Pacific). Local time comes from Intl with the IANA database, so
 * daylight-saving changes are handled there, never by hand-rolled offsets. The
 * window's end is exclusive: 08:00-21:00 allows 20:59:59, refuses 21:00:00.
 *
 * When no From is given, the tenant's first number is presented (the oldest
 * number that is a phone number, preferring a full +E.164 one over a short
 * extension): see pickCallerNumber. `checkOutboundCall` is one withTenant
 * transaction (one query for the facts, plus the audit insert on a refusal; a
 * number dialled without + first reads the tenant's default country), so it is
 * cheap enough to run on every call.
 */
import { parseNameAddr } from '../../media/sip/header-values.ts';
import { isSipUri, parseUri } from '../../media/sip/uri.ts';
import {
  audit, decideOutbound, getOutboundPolicy, OUTBOUND_CALL_CONSENT, updateOutboundPolicy, WEEKDAYS,
  type Database, type OutboundFacts, type OutboundPolicy, type Weekday,
} from '../../storage/index.ts';
import { describePhone, hasCountryCode, maskPhone, normalisePhone, phoneVariants, type CountryCode } from './phone.ts';
import { readInCountry, tenantPhoneCountry } from './tenant-country.ts';

export type RefusalReason = 'do-not-call' | 'outside-calling-hours' | 'no-consent' | 'caller-id-not-owned' | 'invalid-number';

export type OutboundDecision =
  | { allowed: true; /** The tenant's number the call presents (as stored): the From's, or the default. */ callerNumber: string }
  | { allowed: false; reason: RefusalReason; message: string; /** outside-calling-hours only: the next time the window opens (absent when it never does). */ retryAt?: Date };

export interface OutboundCallInput {
  /** The callee, as dialled. */
  number: string;
  /** The From identity (SIP/tel URI, name-addr or bare number); omitted: the tenant's first number. */
  from?: string | undefined;
  /** Defaults to the current time. */
  now?: Date | undefined;
  /** Who asks, for the audit log ("operator:cli", "system:call-manager"...). */
  actor?: string | undefined;
  /** The callee's own IANA time zone when known (a contact's): calling hours are read there instead of the tenant's zone. */
  timeZone?: string | null | undefined;
}

export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError';
  /** outside-calling-hours only: the next time the window opens (absent when it never does). */
  readonly retryAt: Date | undefined;
  constructor(readonly reason: RefusalReason, readonly detail: string, retryAt?: Date) {
    super(`outbound call refused (${reason}): ${detail}`);
    this.retryAt = retryAt;
  }
}

export class CallingPolicyError extends Error {
  override name = 'CallingPolicyError';
}

const DEFAULT_ACTOR = 'system:outbound-policy';

/** Checks one outbound call; a refusal is audited in the same transaction. Throws when the tenant does not exist. */
export async function checkOutboundCall(db: Database, tenantId: string, input: OutboundCallInput): Promise<OutboundDecision> {
  // A number dialled without + is read where the tenant says, as its lists were; only then is the tenant's
  // country read (a campaign dials its contacts' E.164 numbers, so its calls stay one transaction each).
  const country = hasCountryCode(input.number) ? undefined : await tenantPhoneCountry(db, tenantId);
  const callee = normalisePhone(input.number, country);
  const now = input.now ?? new Date();
  return decideOutbound<OutboundDecision>(db, tenantId, { phones: callee ? phoneVariants(callee) : [], consentKind: OUTBOUND_CALL_CONSENT }, (facts) => {
    if (!facts) throw new CallingPolicyError(`no tenant ${tenantId}`);
    const decision = evaluateOutbound(facts, { callee, from: input.from, now, timeZone: input.timeZone, country });
    if (decision.allowed) return { result: decision };
    const callerUser = input.from === undefined ? undefined : callerIdUser(input.from);
    return {
      result: decision,
      audit: {
        actor: input.actor ?? DEFAULT_ACTOR,
        action: 'call.refused',
        target: maskPhone(callee ?? input.number),
        detail: {
          reason: decision.reason,
          number: maskPhone(callee ?? input.number),
          ...(callerUser !== undefined ? { callerId: maskPhone(callerUser) } : {}),
          message: decision.message,
        },
      },
    };
  });
}

/** checkOutboundCall that throws OutboundRefusedError (with `.reason`) on a refusal; returns the caller number to present. */
export async function assertOutboundAllowed(db: Database, tenantId: string, input: OutboundCallInput): Promise<{ callerNumber: string }> {
  const decision = await checkOutboundCall(db, tenantId, input);
  if (!decision.allowed) throw new OutboundRefusedError(decision.reason, decision.message, decision.retryAt);
  return { callerNumber: decision.callerNumber };
}

/** The rules, on facts already read (no I/O). `callee` is the normalised number, undefined when it is not one. */
export function evaluateOutbound(
  facts: OutboundFacts,
  input: { callee: string | undefined; from?: string | undefined; now: Date; timeZone?: string | null | undefined; /** Where a number without + was read, for the message. */ country?: CountryCode | undefined },
): OutboundDecision {
  const { callee, from, now } = input;
  if (!callee) {
    const without = input.country ? `; ${readInCountry(input.country)}` : '';
    return refuse('invalid-number', `the number to call is not a phone number (digits, optionally a leading +; spaces, dashes, dots and parentheses are ignored)${without}`);
  }
  if (facts.doNotCall) return refuse('do-not-call', `${describePhone(callee)} is on the tenant's do-not-call list`);
  if (facts.policy.requireConsent && !facts.consent) {
    return refuse('no-consent', `no recorded consent for outbound calls to ${describePhone(callee)} (record it with: smartalex consent grant)`);
  }
  let callerNumber: string | undefined;
  if (from === undefined) {
    callerNumber = pickCallerNumber(facts.numbers);
    if (!callerNumber) return refuse('caller-id-not-owned', 'the tenant has no number to present as caller ID (add one with: smartalex number add)');
  } else {
    const user = callerIdUser(from);
    callerNumber = user === undefined ? undefined : ownedNumber(facts.numbers, user);
    if (!callerNumber) {
      return refuse('caller-id-not-owned', `the caller ID${user ? ` ${maskPhone(user)}` : ''} is not one of the tenant's numbers`);
    }
  }
  // The TCPA's hours are the called party's: their own zone when known (and valid), else the tenant's.
  const calleeZone = input.timeZone ? canonicalTimeZone(input.timeZone) : undefined;
  const policy = calleeZone ? { ...facts.policy, timezone: calleeZone } : facts.policy;
  const hours = callingHours(policy, now);
  if (!hours.open) {
    const retryAt = nextCallingTime(policy, now);
    return { ...refuse('outside-calling-hours', hours.why), ...(retryAt ? { retryAt } : {}) } as OutboundDecision;
  }
  return { allowed: true, callerNumber };
}

function refuse(reason: RefusalReason, message: string): OutboundDecision {
  return { allowed: false, reason, message };
}

// ------------------------------------------------------------ caller ID

/** The user part of a From identity: sip:/sips: user, tel: number, or a bare number; undefined when there is none. */
export function callerIdUser(from: string): string | undefined {
  const text = from.trim();
  if (!text) return undefined;
  const uri = parseNameAddr(text)?.uri ?? parseUri(text);
  if (uri) {
    // A telephone-subscriber user part may carry parameters (";npdi", ";isub=..."): the number is before them.
    if (isSipUri(uri)) return uri.user?.split(';')[0] || undefined;
    if ('number' in uri && uri.scheme === 'tel') return uri.number || undefined;
    return undefined;
  }
  return /^[+\d\s\-.()]+$/.test(text) ? text : undefined;
}

/** The tenant's number (as stored) that `user` names, comparing normalised numbers; undefined when none does. */
export function ownedNumber(numbers: readonly string[], user: string): string | undefined {
  const wanted = normalisePhone(user);
  return numbers.find((n) => n === user || (wanted !== undefined && normalisePhone(n) === wanted));
}

/**
 * The caller ID presented when none is given: the tenant's first number (they
 * come oldest first) that is a full +E.164 number, else its first number that
 * is a phone number at all (an extension); undefined when it has none.
 */
export function pickCallerNumber(numbers: readonly string[]): string | undefined {
  return numbers.find((n) => normalisePhone(n)?.startsWith('+')) ?? numbers.find((n) => normalisePhone(n) !== undefined);
}

// ------------------------------------------------------------ calling hours

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The IANA name Intl knows the zone by (e.g. "america/new_york" -> "America/New_York"); undefined when Intl does not know it. */
export function canonicalTimeZone(timeZone: string): string | undefined {
  if (!timeZone.trim()) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timeZone.trim() }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Weekday and minutes since local midnight at `now` in `timeZone` (Intl: DST included). */
export function localClock(now: Date, timeZone: string): { weekday: Weekday; minutes: number; label: string } {
  const parts = formatterFor(timeZone).formatToParts(now);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = part('weekday').slice(0, 3).toLowerCase() as Weekday;
  const hour = Number(part('hour')) % 24;
  const minute = Number(part('minute'));
  const label = `${part('weekday')} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
  return { weekday, minutes: hour * 60 + minute, label };
}

/** Minutes since midnight for 'HH:MM' (00:00-23:59, and 24:00 when `allowMidnightEnd`); undefined when malformed. */
function clockMinutes(value: string, allowMidnightEnd = false): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (allowMidnightEnd && h === 24 && min === 0) return 24 * 60;
  return h < 24 && min < 60 ? h * 60 + min : undefined;
}

/** Whether `now` is inside the policy's window ([start, end), local time, allowed day), and why not. */
export function callingHours(policy: OutboundPolicy, now: Date): { open: true } | { open: false; why: string } {
  if (!canonicalTimeZone(policy.timezone)) {
    return { open: false, why: `the tenant's calling-hours time zone "${policy.timezone}" is not known here; fix it with: smartalex tenant calling-hours --timezone` };
  }
  const start = clockMinutes(policy.windowStart);
  const end = clockMinutes(policy.windowEnd, true);
  if (start === undefined || end === undefined || start >= end) {
    return { open: false, why: `the tenant's calling window ${policy.windowStart}-${policy.windowEnd} is not valid` };
  }
  const clock = localClock(now, policy.timezone);
  const allowed = `calls are allowed ${policy.windowStart}-${policy.windowEnd} on ${describeDays(policy.days)}`;
  if (!policy.days.includes(clock.weekday)) return { open: false, why: `it is ${clock.label} in ${policy.timezone}; ${allowed}` };
  if (clock.minutes < start || clock.minutes >= end) return { open: false, why: `it is ${clock.label} in ${policy.timezone}; ${allowed}` };
  return { open: true };
}

/**
 * The first instant at or after `now` inside the policy's window (local time in its zone, an allowed day);
 * undefined when the policy is not valid (unknown zone, empty window). Walks forward at most a week and a day
 * by local-clock jumps (to the window's start, else to the next local midnight), checking each landing with
 * callingHours, so a daylight-saving change that moves a landing is caught and stepped past.
 */
export function nextCallingTime(policy: OutboundPolicy, now: Date): Date | undefined {
  const start = clockMinutes(policy.windowStart);
  const end = clockMinutes(policy.windowEnd, true);
  if (!canonicalTimeZone(policy.timezone) || start === undefined || end === undefined || start >= end || policy.days.length === 0) return undefined;
  let at = now.getTime();
  for (let step = 0; step < 32; step++) {
    const candidate = new Date(at);
    if (callingHours(policy, candidate).open) return candidate;
    const clock = localClock(candidate, policy.timezone);
    const minuteStart = at - (at % 60_000);
    const toStart = policy.days.includes(clock.weekday) && clock.minutes < start;
    at = minuteStart + (toStart ? start - clock.minutes : 24 * 60 - clock.minutes) * 60_000;
    if (toStart) {
      // The clocks sprang forward in between: the landing is past the start by the jump; step back to it.
      const landed = localClock(new Date(at), policy.timezone);
      if (landed.weekday === clock.weekday && landed.minutes > start) at -= (landed.minutes - start) * 60_000;
    }
  }
  return undefined;
}

/** "mon-sun", "mon-fri", "mon,wed,fri". */
export function describeDays(days: readonly Weekday[]): string {
  const idx = WEEKDAYS.filter((d) => days.includes(d)).map((d) => WEEKDAYS.indexOf(d));
  const runs: string[] = [];
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
    runs.push(j - i >= 2 ? `${WEEKDAYS[idx[i]!]}-${WEEKDAYS[idx[j]!]}` : idx.slice(i, j + 1).map((k) => WEEKDAYS[k]).join(','));
    i = j + 1;
  }
  return runs.join(',') || 'no days';
}

/** "mon,tue", "mon-fri", "sat-sun", "all", "weekdays", "weekends" -> days in week order; throws CallingPolicyError. */
export function parseDays(value: string): Weekday[] {
  const found = new Set<Weekday>();
  const day = (name: string): number => {
    const i = WEEKDAYS.indexOf(name.slice(0, 3) as Weekday);
    if (i < 0 || !/^[a-z]{3,9}$/.test(name)) throw new CallingPolicyError(`unknown day "${name}" (use mon, tue, wed, thu, fri, sat, sun)`);
    return i;
  };
  for (const raw of value.toLowerCase().split(',').map((s) => s.trim()).filter(Boolean)) {
    if (raw === 'all') WEEKDAYS.forEach((d) => found.add(d));
    else if (raw === 'weekdays') WEEKDAYS.slice(0, 5).forEach((d) => found.add(d));
    else if (raw === 'weekends') WEEKDAYS.slice(5).forEach((d) => found.add(d));
    else if (raw.includes('-')) {
      const [a, b, extra] = raw.split('-');
      if (extra !== undefined) throw new CallingPolicyError(`bad day range "${raw}"`);
      const from = day(a!);
      const to = day(b!);
      if (from > to) throw new CallingPolicyError(`bad day range "${raw}" (the week runs mon to sun)`);
      for (let i = from; i <= to; i++) found.add(WEEKDAYS[i]!);
    } else found.add(WEEKDAYS[day(raw)]!);
  }
  if (found.size === 0) throw new CallingPolicyError('give at least one day');
  return WEEKDAYS.filter((d) => found.has(d));
}

// ------------------------------------------------------------ the policy itself

export interface CallingPolicyChanges {
  timezone?: string | undefined;
  windowStart?: string | undefined;
  windowEnd?: string | undefined;
  days?: Weekday[] | undefined;
  requireConsent?: boolean | undefined;
}

/** The tenant's policy; throws CallingPolicyError when the tenant does not exist. */
export async function getCallingPolicy(db: Database, tenantId: string): Promise<OutboundPolicy> {
  const policy = await getOutboundPolicy(db, tenantId);
  if (!policy) throw new CallingPolicyError(`no tenant ${tenantId}`);
  return policy;
}

/**
 * Validates and applies changes to the tenant's calling policy (an unknown
 * time zone, a malformed or empty window are refused with CallingPolicyError),
 * audits them (`outbound_policy.updated`) and returns the resulting policy.
 */
export async function setCallingPolicy(db: Database, tenantId: string, changes: CallingPolicyChanges, options: { actor?: string; sourceIp?: string | undefined } = {}): Promise<OutboundPolicy> {
  const current = await getCallingPolicy(db, tenantId);
  const next: Partial<OutboundPolicy> = {};
  if (changes.timezone !== undefined) {
    const zone = canonicalTimeZone(changes.timezone);
    if (!zone) throw new CallingPolicyError(`unknown time zone "${changes.timezone}" (use an IANA name such as America/New_York or America/Los_Angeles)`);
    next.timezone = zone;
  }
  if (changes.windowStart !== undefined) {
    if (clockMinutes(changes.windowStart) === undefined) throw new CallingPolicyError(`start must be HH:MM from 00:00 to 23:59, got "${changes.windowStart}"`);
    next.windowStart = changes.windowStart.trim();
  }
  if (changes.windowEnd !== undefined) {
    if (clockMinutes(changes.windowEnd, true) === undefined) throw new CallingPolicyError(`end must be HH:MM from 00:01 to 24:00, got "${changes.windowEnd}"`);
    next.windowEnd = changes.windowEnd.trim();
  }
  const start = clockMinutes(next.windowStart ?? current.windowStart)!;
  const end = clockMinutes(next.windowEnd ?? current.windowEnd, true)!;
  if (start >= end) {
    throw new CallingPolicyError(`the window must start before it ends (${next.windowStart ?? current.windowStart}-${next.windowEnd ?? current.windowEnd}); windows past midnight are not allowed`);
  }
  if (changes.days !== undefined) {
    if (changes.days.length === 0 || changes.days.some((d) => !WEEKDAYS.includes(d))) throw new CallingPolicyError('days must be a non-empty set of mon, tue, wed, thu, fri, sat, sun');
    next.days = WEEKDAYS.filter((d) => changes.days!.includes(d));
  }
  if (changes.requireConsent !== undefined) next.requireConsent = changes.requireConsent;
  if (Object.keys(next).length === 0) return current;
  const updated = await updateOutboundPolicy(db, tenantId, next);
  if (!updated) throw new CallingPolicyError(`no tenant ${tenantId}`);
  await audit(db, tenantId, { actor: options.actor ?? DEFAULT_ACTOR, action: 'outbound_policy.updated', detail: { ...next }, ...(options.sourceIp ? { sourceIp: options.sourceIp } : {}) });
  return updated;
}

/** Whether the window reaches outside the TCPA's 8 a.m. to 9 p.m. */
export function widerThanTcpa(policy: OutboundPolicy): boolean {
  return clockMinutes(policy.windowStart)! < 8 * 60 || clockMinutes(policy.windowEnd, true)! > 21 * 60;
}
