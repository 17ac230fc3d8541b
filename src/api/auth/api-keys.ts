/** API key checks for the control plane (storage/repos/tenants.ts holds issuance and the lookup). */
import { authenticateApiKey, type ApiPrincipal, type Database } from '../../../storage/index.ts';

export async function authenticateApiKeyAt(db: Database, presented: string, _now: Date): Promise<ApiPrincipal | undefined> {
  return authenticateApiKey(db, presented);
}
