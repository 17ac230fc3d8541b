/** The storage layer's public face: the only place that holds SQL. */
export { openDatabase, type Database, type DatabaseOptions, type Tx } from './database.ts';
export { dataDirOwner, DataDirLockedError, LOCK_FILE, socketPath, type LockOwner } from './data-dir-lock.ts';
export { migrate, rows, MIGRATIONS_FOLDER } from './migrate.ts';
export { withTenant, withoutTenant, isUuid, TenantScopeError } from './tenant-scope.ts';
export * from './repos/tenants.ts';
export * from './repos/agents.ts';
export * from './repos/audit.ts';
export * from './repos/calls.ts';
export * from './repos/recordings.ts';
export * from './repos/transcripts.ts';
export * from './repos/tenant-keys.ts';
export * from './repos/provider-keys.ts';
export * from './repos/outbound.ts';
export * as schema from './schema.ts';
export * from './repos/webhook-outbox.ts';
export * from './repos/webhooks.ts';
export * from './repos/data-subject.ts';
export * from './repos/campaigns.ts';
