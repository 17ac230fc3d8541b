/**
 * Every `smartalex` command that works on the database, registered against
 * one context (src/cli/operator.ts): the same set runs in the `smartalex`
 * process and, sent over the admin socket, inside a running server.
 */
import type { Command } from 'commander';
import { registerAdminCommands } from './admin.ts';
import { registerBackupCommands } from './backup.ts';
import { registerCallCommand } from './call.ts';
import { registerComplianceCommands } from './compliance.ts';
import { registerGdprCommands } from './gdpr.ts';
import { registerMasterKeyCommands } from './master-key.ts';
import { registerNumberCarrierCommands } from './number-carriers.ts';
import type { OperatorContext } from './operator.ts';
import { registerProviderKeyCommands } from './provider-keys.ts';
import { registerRecordingCommands } from './recording.ts';
import { registerUserCommands } from './users.ts';

export function registerOperatorCommands(program: Command, ctx: OperatorContext): void {
  registerAdminCommands(program, ctx);
  registerNumberCarrierCommands(program, ctx);
  registerCallCommand(program, ctx);
  registerRecordingCommands(program, ctx);
  registerProviderKeyCommands(program, ctx);
  registerComplianceCommands(program, ctx);
  registerGdprCommands(program, ctx);
  registerUserCommands(program, ctx);
  registerBackupCommands(program, ctx);
  registerMasterKeyCommands(program, ctx);
}

/** "number add" for the leaf command being run (its arguments are not part of it: they can hold phone numbers). */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
