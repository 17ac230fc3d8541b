/**
 * Where the RFC 4475 torture messages live: shared/ sits beside the checkout
 * (locally and in CI); SMARTALEX_CONFORMANCE_DIR overrides.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const candidates = [
  process.env.SMARTALEX_CONFORMANCE_DIR,
  fileURLToPath(new URL('../../../../shared/conformance/rfc4475', import.meta.url)),
  '/work/shared/conformance/rfc4475',
].filter((p): p is string => !!p);

export const RFC4475_DIR: string = candidates.find((p) => existsSync(p)) ?? candidates[0]!;
