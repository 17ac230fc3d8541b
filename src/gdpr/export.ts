/**
 * Data subject export (GDPR right of access and portability), or the whole
 * tenant's (WHOLE_TENANT: every contact and call, for portability): one ZIP with
 *   manifest.json          format, version, tenant, subject, time, and every other file's SHA-256 and size
 *   contacts.json / .csv   the subject's contact records (custom attributes: an object in JSON, one JSON column in CSV)
 *   calls.json / .csv      their calls (times, direction, outcome, latency summary)
 *   transcripts.json       the redacted transcripts of those calls (raw text is never stored)
 *   recordings.json        recording metadata; recordings/<id>.wav decrypted audio, when the key still exists
 *   consents.json, do_not_call.json, campaign_dials.json
 * written straight to disk as it is produced (zip-writer.ts: no file is held
 * in memory whole, audio is decrypted chunk by chunk), created exclusively
 * with mode 0600 and removed if the export fails. Audited (counts only).
 */
import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { audit, findTenantRecords, type Database, type DataSubjectRecords } from '../../storage/index.ts';
import type { RecordingVault } from '../../storage/vault/index.ts';
import { callOutcome } from '../../storage/index.ts';
import { toCsv } from './csv.ts';
import { resolveDataSubject, type DataSubject } from './data-subject.ts';
import { ZipWriter } from './zip-writer.ts';

export const EXPORT_FORMAT = 'smartalex-data-subject-export';
export const EXPORT_VERSION = 1;

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: number;
  tenantId: string;
  /** 'tenant': everything of the tenant; 'data-subject': one person's records. */
  scope: 'tenant' | 'data-subject';
  subject: { phones: string[]; contactIds: string[] };
  createdAt: string;
  counts: Record<string, number>;
  files: { path: string; sha256: string; bytes: number }[];
  /** Recordings whose audio could not be included (key destroyed, object missing), with why. */
  recordingsUnavailable: { recordingId: string; reason: string }[];
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** The tenant's whole data (every contact, call, transcript, recording, consent and do-not-call entry). */
export const WHOLE_TENANT = 'tenant';

async function resolveScope(db: Database, tenantId: string, subject: DataSubject | typeof WHOLE_TENANT) {
  if (subject === WHOLE_TENANT) return { query: { phones: [] as string[], contactIds: [] as string[], label: 'tenant' }, found: await findTenantRecords(db, tenantId) };
  return resolveDataSubject(db, tenantId, subject);
}

export async function exportDataSubject(
  db: Database, vault: RecordingVault | undefined, tenantId: string, subject: DataSubject | typeof WHOLE_TENANT, outPath: string, options: { actor: string; sourceIp?: string },
): Promise<ExportManifest> {
  const { query, found } = await resolveScope(db, tenantId, subject);
  const file = await open(outPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT, version: EXPORT_VERSION, tenantId, scope: subject === WHOLE_TENANT ? 'tenant' : 'data-subject',
    subject: { phones: query.phones, contactIds: [...new Set([...query.contactIds, ...found.contacts.map((c) => c.id)])] },
    createdAt: new Date().toISOString(), counts: counts(found), files: [], recordingsUnavailable: [],
  };
  try {
    const zip = new ZipWriter(file);
    const add = async (path: string, content: string | AsyncIterable<Uint8Array>): Promise<void> => {
      const { sha256, size } = await zip.add(path, content);
      manifest.files.push({ path, sha256, bytes: size });
    };
    await add('contacts.json', json(found.contacts));
    const contactCsvRows = found.contacts.map((c) => ({ ...c, attributes: JSON.stringify(c.attributes) }));
    await add('contacts.csv', toCsv(['id', 'name', 'phone', 'email', 'timeZone', 'createdAt', 'attributes'], contactCsvRows));
    const calls = found.calls.map((c) => ({
      id: c.id, direction: c.direction, from: c.fromUri, to: c.toUri, state: c.state, outcome: c.endedAt ? callOutcome(c) : null,
      startedAt: c.startedAt, answeredAt: c.answeredAt, endedAt: c.endedAt, endReason: c.endReason, failure: c.failure, latency: c.latency,
    }));
    await add('calls.json', json(calls));
    await add('calls.csv', toCsv(['id', 'direction', 'from', 'to', 'outcome', 'startedAt', 'answeredAt', 'endedAt', 'endReason'], calls));
    await add('transcripts.json', json(found.calls.map((c) => ({
      callId: c.id, redacted: true,
      turns: found.transcriptTurns.filter((t) => t.callId === c.id).map((t) => ({ seq: t.seq, speaker: t.speaker, text: t.redactedText, entities: t.entities, at: t.at })),
    }))));
    await add('consents.json', json(found.consents));
    await add('do_not_call.json', json(found.doNotCall));
    await add('campaign_dials.json', json(found.campaignContacts));
    await add('recordings.json', json(found.recordings.map((r) => ({
      id: r.id, callId: r.callId, durationMs: r.durationMs, sizeBytes: r.sizeBytes, sha256: r.sha256, cutShort: r.cutShort,
      createdAt: r.createdAt, retainUntil: r.retainUntil, audio: `recordings/${r.id}.wav`,
    }))));
    for (const r of found.recordings) {
      if (!vault) {
        manifest.recordingsUnavailable.push({ recordingId: r.id, reason: 'no recording vault configured' });
        continue;
      }
      let audio: AsyncIterable<Uint8Array>;
      try {
        // The first chunk proves the key unwraps (a destroyed key fails here, before the entry starts).
        const chunks = (await vault.wav({ tenantId, recordingId: r.id }))[Symbol.asyncIterator]();
        const first = await chunks.next();
        audio = (async function* () {
          if (!first.done) yield first.value;
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
        })();
      } catch (error) {
        manifest.recordingsUnavailable.push({ recordingId: r.id, reason: (error as Error)?.name ?? 'error' });
        continue;
      }
      await add(`recordings/${r.id}.wav`, audio);
    }
    await zip.add('manifest.json', json(manifest));
    await zip.finish();
    await file.close();
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(outPath, { force: true });
    throw error;
  }
  await audit(db, tenantId, {
    actor: options.actor, action: 'gdpr.exported', target: query.label, detail: { counts: manifest.counts, files: manifest.files.length },
    ...(options.sourceIp ? { sourceIp: options.sourceIp } : {}),
  });
  return manifest;
}

function counts(found: DataSubjectRecords): Record<string, number> {
  return {
    contacts: found.contacts.length, calls: found.calls.length, transcriptTurns: found.transcriptTurns.length, recordings: found.recordings.length,
    consents: found.consents.length, doNotCall: found.doNotCall.length, campaignDials: found.campaignContacts.length,
  };
}
