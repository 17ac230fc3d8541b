/**
 * A contact's time zone derived from their number, for calling hours in the
 * callee's own zone. libphonenumber-js has no time-zone data (it knows a
 * number's country, not where in the country), so this is a small explicit
 * table of countries that have a single IANA zone; a number from a country
 * with several (US, CA, RU, AU, BR, MX, ...) gets none and the tenant's zone
 * applies unless the contact's zone is given.
 */
import type { CountryCode } from 'libphonenumber-js';
import { phoneCountry } from './phone.ts';

const SINGLE_ZONE_COUNTRIES: Partial<Record<CountryCode, string>> = {
  AT: 'Europe/Vienna', BE: 'Europe/Brussels', CH: 'Europe/Zurich', CZ: 'Europe/Prague', DE: 'Europe/Berlin',
  DK: 'Europe/Copenhagen', FI: 'Europe/Helsinki', FR: 'Europe/Paris', GB: 'Europe/London', GR: 'Europe/Athens',
  IE: 'Europe/Dublin', IT: 'Europe/Rome', NL: 'Europe/Amsterdam', NO: 'Europe/Oslo', PL: 'Europe/Warsaw',
  SE: 'Europe/Stockholm', HU: 'Europe/Budapest', RO: 'Europe/Bucharest', IL: 'Asia/Jerusalem',
  IN: 'Asia/Kolkata', JP: 'Asia/Tokyo', KR: 'Asia/Seoul', SG: 'Asia/Singapore', HK: 'Asia/Hong_Kong',
  PH: 'Asia/Manila', TH: 'Asia/Bangkok', AE: 'Asia/Dubai', NZ: 'Pacific/Auckland', ZA: 'Africa/Johannesburg',
  NG: 'Africa/Lagos', KE: 'Africa/Nairobi', EG: 'Africa/Cairo', PR: 'America/Puerto_Rico',
};

/** The IANA zone of an E.164 number when its country has only one; undefined otherwise. */
export function timeZoneForPhone(e164: string): string | undefined {
  const country = phoneCountry(e164);
  return country ? SINGLE_ZONE_COUNTRIES[country] : undefined;
}
