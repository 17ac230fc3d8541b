/**
 * Every access to a recording, granted or refused, goes to the tenant's audit
 * log: who (link fingerprint, API key id, operator), when (the row's time),
 * which recording, and the outcome. A refusal that names no real tenant (a
 * forged or garbled URL) cannot go to a tenant's log, so it becomes a
 * tenant-less security event instead; either way it is recorded.
 */
import { audit, isUuid, recordSecurityEvent, type Database } from '../../storage/index.ts';

export interface RecordingAccess {
  tenantId: string;
  recordingId: string;
  actor: string;
  /** e.g. 'recording.accessed', 'recording.access.refused', 'recording.decrypted'. */
  action: string;
  detail?: Record<string, unknown>;
  sourceIp?: string;
}

export async function auditRecordingAccess(db: Database, access: RecordingAccess): Promise<void> {
  const entry = {
    actor: access.actor,
    action: access.action,
    target: access.recordingId.slice(0, 64),
    detail: access.detail ?? {},
    ...(access.sourceIp ? { sourceIp: access.sourceIp } : {}),
  };
  if (isUuid(access.tenantId)) {
    try {
      await audit(db, access.tenantId, entry);
      return;
    } catch {
      // No such tenant (foreign key): fall through to a security event.
    }
  }
  await recordSecurityEvent(db, {
    type: access.action,
    ...(access.sourceIp ? { sourceIp: access.sourceIp } : {}),
    detail: { ...entry.detail, actor: access.actor, tenant: access.tenantId.slice(0, 64), recording: entry.target },
  });
}
