/** Schemas several route modules share. */
import { z } from 'zod';

export const roleSchema = z.enum(['owner', 'admin', 'manager', 'viewer']);
export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email());
/** Any password is accepted on input; the policy (src/api/auth/passwords.ts) decides on set. */
export const passwordInput = z.string().min(1).max(1024);
export const totpCode = z.string().regex(/^\d{6}$/, 'six digits');
export const recoveryCode = z.string().min(10).max(40);
export const timestamp = z.string().describe('ISO 8601 date-time');

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);
