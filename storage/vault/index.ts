/**
 * The recording vault's public face: an encrypted, chunked, tamper-evident
 * container for call audio (docs/recording-format.md), envelope keys with
 * rotation and crypto-shredding, object storage, expiring signed links.
 */
export {
  VaultError,
  RecordingFormatError,
  TruncatedRecordingError,
  HeaderAuthenticationError,
  ChunkAuthenticationError,
  TrailingDataError,
  WrongKeyError,
  KeyNotFoundError,
  KeyDestroyedError,
  MasterKeyError,
  InvalidIdError,
  RecordingNotFoundError,
  RecordingExistsError,
} from './errors.ts';
export { isSafeId, assertSafeId } from './ids.ts';
export { CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, HEADER_LENGTH, KEY_BLOCK_OFFSET, KEY_BLOCK_LENGTH, parseHeader, plaintextBytesForSize } from './format.ts';
export type { RecordingHeader } from './format.ts';
export {
  KeyRing,
  LocalMasterKey,
  MemoryTenantKeyStore,
  loadMasterKey,
  parseMasterKey,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
} from './keys.ts';
export type { MasterKeyProvider, TenantKeyStore, KeyErasure, StoredTenantKey, TenantKeyInfo, NewDataKey, RecordingKeySlot, KeyRingOptions, MasterKeyRotation, MasterKeyRotationRecord } from './keys.ts';
export { LocalObjectStore, MemoryObjectStore, RECORDING_EXTENSION } from './object-store.ts';
// S3ObjectStore is imported from './s3-object-store.ts' where S3 is configured: the AWS SDK costs every process
// that loads this index about 0.2 s otherwise (src/recordings/vault-setup.ts loads it on demand).
export type { S3ObjectStore, S3ObjectStoreOptions } from './s3-object-store.ts';
export type { ObjectStore, AppendHandle, ReadRange, RecordingRef } from './object-store.ts';
export { RecordingWriter } from './writer.ts';
export type { RecordingWriterOptions, RecordingSummary } from './writer.ts';
export { RecordingReader, decryptRecording, decryptToWav } from './reader.ts';
export type { DataKeySource, DataKeyUnwrapper, ReadOptions, DecryptedRecording, WavStreamOptions } from './reader.ts';
export { StereoInterleaver, RecordingTap } from './tap.ts';
export type { TapFrame, StereoInterleaverOptions, RecordingTapOptions } from './tap.ts';
export { RecordingVault } from './vault.ts';
export type { RecordingVaultOptions, RecordingAudioFormat } from './vault.ts';
export { signRecordingLink, verifyRecordingLink, parseRecordingLink, DEFAULT_LINK_TTL_MS, MAX_LINK_TTL_MS, DEFAULT_LINK_BASE_PATH } from './links.ts';
export type { RecordingLinkClaims, LinkOptions, LinkParts, LinkVerification } from './links.ts';
