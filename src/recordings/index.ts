/**
 * Recordings and transcripts in the server: the call recorder and transcript
 * store the call manager uses, links, operator decryption, tenant erasure.
 */
export { RecordingService } from './recording-service.ts';
export type { CallRecorder, CallRecordingStart, FinishedRecording, TranscriptTurnInput, RecordingServiceOptions } from './recording-service.ts';
export { openRecordingVault, LINK_SECRET_PURPOSE, type RecordingVaultSetup } from './vault-setup.ts';
export { mintRecordingLink, linkActor, parseTtl, RecordingLinkError, MIN_LINK_TTL_MS, type MintedLink } from './links.ts';
export { auditRecordingAccess } from './access-audit.ts';
export { decryptToWavFile, OutputExistsError, type DecryptedFile } from './decrypt-file.ts';
export { eraseTenant, TenantNotFoundError } from './erase.ts';
export { rotateTenantRecordingKey, type TenantKeyRotation } from './rotate.ts';
export { rotateVaultMasterKey, type MasterKeyRotationOutcome } from './rotate-master.ts';
export { RecordingCallTap, recordingTaps, type RecordingCallTapOptions } from './call-tap.ts';
export {
  audioRedactionFrom, AudioRedactionSettingsError, DEFAULT_AUDIO_REDACTION,
  type AudioRedactionSettings, type AudioRedactionSpan, type MutedSpan,
} from './audio-redaction.ts';
