/**
 * Every access to a recording, granted or refused, goes to the tenant's audit
 * log: who (link fingerprint, API key id, operator), when (the row's time),
 * which recording, and the outcome. Callers pass only tenants the request
 * proved (a valid link signature, an API key); forged links go to the
 * server's coalesced security log instead (src/http/recordings.ts). A proven
 * tenant that no longer exists (erased while a link was still valid) has no
 * log to write to, so that access becomes a tenant-less security event.
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
