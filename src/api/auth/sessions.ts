/** Session tokens (jose, key ring): filled in by the sessions work. */
import type { Principal, RequestFacts } from '../context.ts';

export async function authenticateSession(_facts: RequestFacts, _token: string): Promise<Principal | undefined> {
  return undefined;
}
