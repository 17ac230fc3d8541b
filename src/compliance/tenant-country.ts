/**
 * Where a tenant reads a phone number a person wrote without + (the tenant's
 * `default_country`, US when unset or unknown to the numbering plans): the
 * contacts, the do-not-call list, the consents and the number dialled all read
 * it here, so "020 7946 0000" typed for a GB tenant is +442079460000 in every
 * one of them. What is stored is E.164 (or, in older rows, bare US digits:
 * phone.ts `storedPhone`), so changing the setting later does not change what a
 * stored entry means.
 */
import { getTenant, type Database } from '../../storage/index.ts';
import { DEFAULT_PHONE_COUNTRY, phoneCountryCode, type CountryCode } from './phone.ts';

/** The tenant's country for numbers written without + (US when unset, unknown, or no such tenant). */
export async function tenantPhoneCountry(db: Database, tenantId: string): Promise<CountryCode> {
  const tenant = await getTenant(db, tenantId);
  return (tenant && phoneCountryCode(tenant.defaultCountry)) ?? DEFAULT_PHONE_COUNTRY;
}

/** "a number without + is read as a number of GB (the tenant's default country)": for messages about a number that could not be read. */
export function readInCountry(country: CountryCode): string {
  return `a number without + is read as a number of ${country} (the tenant's default country)`;
}
