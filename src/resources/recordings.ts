/** Deleting one recording (GDPR erasure): its encrypted object first, then its row; audited by id. */
import { audit, deleteRecording, type Database } from '../../storage/index.ts';
import type { ObjectStore } from '../../storage/vault/index.ts';
import { auditBy, notFound, type Actor } from './errors.ts';

export async function eraseRecording(db: Database, objects: ObjectStore, tenantId: string, id: string, who: Actor): Promise<void> {
  if (!(await deleteRecording(db, objects, tenantId, id))) throw notFound('recording');
  await audit(db, tenantId, { ...auditBy(who), action: 'recording.erased', target: id });
}
