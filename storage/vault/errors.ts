/**
 * Typed errors of the recording vault. Every failure to read, verify or key a
 * recording is a VaultError with a stable `code`, so callers (the HTTP API, the
 * retention job) can tell "cut short" from "tampered" from "shredded" without
 * parsing messages. Messages name what is wrong and never carry key material or
 * audio.
 */
export class VaultError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The bytes are not a recording container this version understands (bad magic, bad field, bad length). */
export class RecordingFormatError extends VaultError {
  override name = 'RecordingFormatError';
  constructor(message: string) { super('RECORDING_FORMAT', message); }
}

/** The file ends before its final chunk: a crashed writer, or a cut copy. */
export class TruncatedRecordingError extends VaultError {
  override name = 'TruncatedRecordingError';
  /** Chunks (and their plaintext bytes) that verified before the end came. */
  readonly verifiedChunks: number;
  readonly verifiedBytes: number;
  constructor(message: string, verifiedChunks: number, verifiedBytes: number) {
    super('RECORDING_TRUNCATED', message);
    this.verifiedChunks = verifiedChunks;
    this.verifiedBytes = verifiedBytes;
  }
}

/** The header MAC did not verify: a header field was changed, or the data key is not this recording's. */
export class HeaderAuthenticationError extends VaultError {
  override name = 'HeaderAuthenticationError';
  constructor(message: string) { super('HEADER_AUTH', message); }
}

/** A chunk's GCM tag did not verify at its position: altered, reordered, or taken from another recording. */
export class ChunkAuthenticationError extends VaultError {
  override name = 'ChunkAuthenticationError';
  readonly chunkIndex: number;
  constructor(message: string, chunkIndex: number) {
    super('CHUNK_AUTH', message);
    this.chunkIndex = chunkIndex;
  }
}

/** Bytes follow the chunk marked last. */
export class TrailingDataError extends VaultError {
  override name = 'TrailingDataError';
  constructor(message: string) { super('TRAILING_DATA', message); }
}

/** A wrapped key did not unwrap: the wrapping key is wrong or the wrapped bytes were changed. */
export class WrongKeyError extends VaultError {
  override name = 'WrongKeyError';
  constructor(message: string) { super('WRONG_KEY', message); }
}

/** No key with the id a header or record names. */
export class KeyNotFoundError extends VaultError {
  override name = 'KeyNotFoundError';
  constructor(message: string) { super('KEY_NOT_FOUND', message); }
}

/** The tenant's keys were destroyed (crypto-shredding): its recordings can never be decrypted again. */
export class KeyDestroyedError extends VaultError {
  override name = 'KeyDestroyedError';
  constructor(message: string) { super('KEY_DESTROYED', message); }
}

/** The master key is missing, malformed, or its file is not private. */
export class MasterKeyError extends VaultError {
  override name = 'MasterKeyError';
  constructor(message: string) { super('MASTER_KEY', message); }
}

/** A tenant or recording id that is not a safe identifier (path traversal, odd bytes, too long). */
export class InvalidIdError extends VaultError {
  override name = 'InvalidIdError';
  constructor(message: string) { super('INVALID_ID', message); }
}

export class RecordingNotFoundError extends VaultError {
  override name = 'RecordingNotFoundError';
  constructor(message: string) { super('RECORDING_NOT_FOUND', message); }
}

export class RecordingExistsError extends VaultError {
  override name = 'RecordingExistsError';
  constructor(message: string) { super('RECORDING_EXISTS', message); }
}
