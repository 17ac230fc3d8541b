/**
 * Password policy and storage. Policy (seeds: "minimum 8 characters with
 * complexity rules"): 8 to 256 characters, at least three of lower case, upper
 * case, digits and symbols (or 16+ characters, a passphrase), not a common
 * password (also with the usual trailing digits and symbols removed), and not
 * the e-mail address's local part. Stored as Argon2id (@node-rs/argon2, OWASP
 * parameters), hashed off the event loop.
 */
import { hash, verify } from '@node-rs/argon2';
import { COMMON_PASSWORDS } from './common-passwords.ts';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;
const PASSPHRASE_LENGTH = 16;

/** OWASP's Argon2id recommendation: m = 19 MiB, t = 2, p = 1. */
// algorithm 2 = Algorithm.Argon2id (a const enum, not importable under verbatimModuleSyntax).
const ARGON2 = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Why the password is refused (a sentence for the user), or undefined when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3 && length < PASSPHRASE_LENGTH) return `must mix at least three of: lower case, upper case, digits, symbols (or be ${PASSPHRASE_LENGTH}+ characters)`;
  const lower = password.toLowerCase();
  const stripped = lower.replace(/[^a-z]+$/, '').replace(/^[^a-z]+/, '');
  if (COMMON_PASSWORDS.has(lower) || COMMON_PASSWORDS.has(stripped) || /^(.)\1+$/.test(lower)) return 'is too common';
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) return 'must not contain your e-mail address';
  return undefined;
}

export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

/** False for a wrong password or a malformed stored hash (never throws). */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** Spends the time a real verification would, for a login whose e-mail matches no user (no enumeration by timing). */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword('dummy password: the account does not exist');
  await verifyPassword(await dummy, password);
  return false;
}
