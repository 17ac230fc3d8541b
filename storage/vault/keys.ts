/**
 * Envelope keys: master key -> tenant keys -> per-recording data keys.
 *
 * - `MasterKeyProvider` wraps and unwraps tenant keys; `LocalMasterKey` does it
 *   with a 32-byte key from SMARTALEX_MASTER_KEY or a private key file, a KMS
 *   can implement the same interface.
 * - Tenant keys are random 32 bytes, stored wrapped (AAD binds tenant id and
 *   key id) through `TenantKeyStore`; versions accumulate on rotation.
 * - Data keys are random per recording, wrapped by the tenant key (AAD binds
 *   tenant id and recording id) and kept in the recording header.
 * - `KeyRing` ties these together: create, unwrap, rotate the master (re-wrap
 *   tenant keys, audio untouched), rotate a tenant key (re-wrap given
 *   recordings' header key blocks in place), retire the versions a rotation
 *   replaced, destroy a tenant's keys (crypto-shredding). Destroying goes
 *   through the store, which must make the wrapped bytes unrecoverable from its
 *   own media (for Postgres: storage/physical-erasure.ts) and says how far it
 *   got (`KeyErasure`).
 * Plain keys never leave this module except as the data key handed to a writer
 * or reader, and are never logged.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyDestroyedError, KeyNotFoundError, MasterKeyError, RecordingFormatError, WrongKeyError } from './errors.ts';
import { assertSafeId, encodeParts } from './ids.ts';
import type { RecordingHeader } from './format.ts';
import type { DataKeyUnwrapper } from './reader.ts';

export const KEY_BYTES = 32;
const WRAP_VERSION = 1;
const WRAP_NONCE = 12;
const WRAP_TAG = 16;

/** AES-256-GCM key wrap: version(1) || nonce(12) || ciphertext || tag(16). */
export function wrapKey(kek: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(WRAP_NONCE);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: WRAP_TAG });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, body, cipher.getAuthTag()]);
}

/** Inverse of wrapKey; WrongKeyError when the key or the AAD does not match or the bytes were changed. */
export function unwrapKey(kek: Buffer, wrapped: Buffer, aad: Buffer, what: string): Buffer {
  if (wrapped.length < 1 + WRAP_NONCE + WRAP_TAG || wrapped[0] !== WRAP_VERSION) throw new WrongKeyError(`${what}: malformed wrapped key`);
  const nonce = wrapped.subarray(1, 1 + WRAP_NONCE);
  const body = wrapped.subarray(1 + WRAP_NONCE, wrapped.length - WRAP_TAG);
  const decipher = createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: WRAP_TAG });
  decipher.setAAD(aad);
  decipher.setAuthTag(wrapped.subarray(wrapped.length - WRAP_TAG));
  const plain = decipher.update(body);
  try {
    return Buffer.concat([plain, decipher.final()]);
  } catch {
    plain.fill(0);
    throw new WrongKeyError(`${what}: wrapped key did not unwrap (wrong key, or the wrapped bytes or their binding changed)`);
  }
}

// ---------------------------------------------------------------- master key

export interface MasterKeyProvider {
  /** Stable id of this master key (stored next to every tenant key it wraps). */
  readonly keyId: string;
  wrap(plain: Buffer, aad: Buffer): Promise<Buffer>;
  unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer>;
}

export const MASTER_KEY_ENV = 'SMARTALEX_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';

/** A 32-byte key from base64 or hex text; the error never echoes the text. */
export function parseMasterKey(text: string, source = MASTER_KEY_ENV): Buffer {
  const trimmed = text.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length === KEY_BYTES * 2) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) key = Buffer.from(trimmed, 'base64');
  if (!key || key.length !== KEY_BYTES) {
    const got = key ? `${key.length} bytes` : 'text that is neither base64 nor hex';
    throw new MasterKeyError(`${source} must be ${KEY_BYTES} bytes as base64 (44 chars) or hex (64 chars); got ${got}`);
  }
  return key;
}

export class LocalMasterKey implements MasterKeyProvider {
  readonly keyId: string;
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new MasterKeyError(`master key must be ${KEY_BYTES} bytes, got ${key.length}`);
    this.key = Buffer.from(key);
    // A fingerprint, not the key: HMAC output reveals nothing usable about it.
    this.keyId = 'local-' + createHmac('sha256', this.key).update('smartalex master key id').digest('hex').slice(0, 16);
  }

  static generate(): LocalMasterKey {
    return new LocalMasterKey(randomBytes(KEY_BYTES));
  }

  /** From SMARTALEX_MASTER_KEY, or null when it is not set. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): LocalMasterKey | null {
    const text = env[MASTER_KEY_ENV];
    if (text === undefined || text === '') return null;
    return new LocalMasterKey(parseMasterKey(text));
  }

  /**
   * From `<dataDir>/master.key`, created (mode 0600, base64) when missing.
   * Refuses a file that group or others can read or write, or that another user owns.
   */
  static async fromFile(dataDir: string): Promise<LocalMasterKey> {
    const path = join(dataDir, MASTER_KEY_FILE);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        const key = randomBytes(KEY_BYTES);
        await handle.writeFile(key.toString('base64') + '\n');
        await handle.sync();
        return new LocalMasterKey(key);
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    }
    return LocalMasterKey.fromKeyFile(path);
  }

  /** From a key file the operator names (base64 or hex); refused unless it is a private regular file of this user. */
  static async fromKeyFile(path: string): Promise<LocalMasterKey> {
    const info = await stat(path);
    if (!info.isFile()) throw new MasterKeyError(`${path} is not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      throw new MasterKeyError(`${path} has mode ${(info.mode & 0o777).toString(8)}; it must be private (chmod 600 ${path})`);
    }
    if (typeof process.getuid === 'function' && info.uid !== process.getuid()) {
      throw new MasterKeyError(`${path} is owned by uid ${info.uid}, not by this process (uid ${process.getuid()})`);
    }
    return new LocalMasterKey(parseMasterKey(await readFile(path, 'utf8'), path));
  }

  /** The key as a key file holds it (base64 and a newline): only for writing the operator's key file. */
  keyFileText(): string {
    return this.key.toString('base64') + '\n';
  }

  async wrap(plain: Buffer, aad: Buffer): Promise<Buffer> {
    return wrapKey(this.key, plain, aad);
  }

  /**
   * A 32-byte secret for one named purpose (e.g. signing recording links),
   * derived with HKDF-SHA256 so it is stable across restarts, differs per
   * purpose, and reveals nothing about the master key.
   */
  deriveSecret(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), Buffer.from(`smartalex/${purpose}`, 'utf8'), KEY_BYTES));
  }

  async unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    return unwrapKey(this.key, wrapped, aad, `master key ${this.keyId}`);
  }
}

/** SMARTALEX_MASTER_KEY when set, else the key file in `dataDir` (created if missing). */
export async function loadMasterKey(opts: { dataDir: string; env?: NodeJS.ProcessEnv }): Promise<LocalMasterKey> {
  return LocalMasterKey.fromEnv(opts.env ?? process.env) ?? (await LocalMasterKey.fromFile(opts.dataDir));
}

// ---------------------------------------------------------------- tenant key storage

/**
 * One version of a tenant key, as stored. Maps onto
 * `tenant_keys(tenant_id, key_id, version, wrapped_key bytea, master_key_id, created_at, destroyed_at)`.
 */
export interface StoredTenantKey {
  tenantId: string;
  keyId: string;
  version: number;
  /** Tenant key wrapped by the master key; empty once destroyed. */
  wrapped: Buffer;
  masterKeyId: string;
  createdAt: Date;
  destroyedAt: Date | null;
}

/** How far a store got in removing destroyed key bytes from its own media. */
export interface KeyErasure {
  /** True when no file the store controls still holds the destroyed wrapped bytes. */
  complete: boolean;
  /** Why not, one line each, for the operator (empty when complete). */
  caveats: string[];
}

export interface TenantKeyStore {
  /** The current (highest-version) key of a tenant, destroyed or not; null if the tenant never had one. */
  get(tenantId: string): Promise<StoredTenantKey | null>;
  /** A specific version by key id (headers name the version that wrapped their data key). */
  getByKeyId(tenantId: string, keyId: string): Promise<StoredTenantKey | null>;
  /** Every stored key that is not destroyed (master-key rotation walks these). */
  listLive(): Promise<StoredTenantKey[]>;
  /** Every version of one tenant's key, destroyed or not, oldest first. */
  versions(tenantId: string): Promise<StoredTenantKey[]>;
  /** Inserts, or replaces the row with the same (tenantId, keyId). */
  put(key: StoredTenantKey): Promise<void>;
  /**
   * Crypto-shredding: erase the wrapped material of every version of the
   * tenant's key (set it empty) and set destroyedAt, keeping the rows as
   * tombstones so later reads say "destroyed", not "never existed".
   */
  delete(tenantId: string): Promise<KeyErasure>;
  /** Destroys the listed versions of one tenant's key the same way (tombstones; the bytes erased). */
  destroyVersions(tenantId: string, keyIds: readonly string[]): Promise<KeyErasure>;
  /**
   * Master-key rotation, all or nothing: every live version of every tenant's
   * key that `toMasterKeyId` does not wrap yet gets the bytes `rewrap` returns
   * and that master key id, in one transaction; a throw from `rewrap` leaves
   * every row as it was. Destroyed versions (tombstones) hold no bytes and are
   * left alone. `record` is committed with the re-wrap (the audit trail).
   */
  rewrapAll(toMasterKeyId: string, rewrap: (row: StoredTenantKey) => Promise<Buffer>, record: MasterKeyRotationRecord): Promise<{ rewrapped: number; tenants: number }>;
}

/** What a master-key rotation leaves in the audit trail: who, and the key ids (never key bytes). */
export interface MasterKeyRotationRecord {
  actor: string;
  fromMasterKeyId: string;
  toMasterKeyId: string;
}

export class MemoryTenantKeyStore implements TenantKeyStore {
  private readonly rows = new Map<string, StoredTenantKey[]>();

  async get(tenantId: string): Promise<StoredTenantKey | null> {
    const versions = this.rows.get(tenantId);
    if (!versions?.length) return null;
    return clone(versions.reduce((a, b) => (b.version > a.version ? b : a)));
  }

  async getByKeyId(tenantId: string, keyId: string): Promise<StoredTenantKey | null> {
    const row = this.rows.get(tenantId)?.find((r) => r.keyId === keyId);
    return row ? clone(row) : null;
  }

  async listLive(): Promise<StoredTenantKey[]> {
    return [...this.rows.values()].flat().filter((r) => !r.destroyedAt).map(clone);
  }

  async versions(tenantId: string): Promise<StoredTenantKey[]> {
    return (this.rows.get(tenantId) ?? []).map(clone).sort((a, b) => a.version - b.version);
  }

  async put(key: StoredTenantKey): Promise<void> {
    const versions = this.rows.get(key.tenantId) ?? [];
    const at = versions.findIndex((r) => r.keyId === key.keyId);
    if (at >= 0) versions[at] = clone(key);
    else versions.push(clone(key));
    this.rows.set(key.tenantId, versions);
  }

  async delete(tenantId: string): Promise<KeyErasure> {
    return this.destroyVersions(tenantId, (this.rows.get(tenantId) ?? []).map((r) => r.keyId));
  }

  async destroyVersions(tenantId: string, keyIds: readonly string[]): Promise<KeyErasure> {
    const now = new Date();
    for (const row of this.rows.get(tenantId) ?? []) {
      if (!keyIds.includes(row.keyId)) continue;
      row.wrapped.fill(0);
      row.wrapped = Buffer.alloc(0);
      row.destroyedAt ??= now;
    }
    return { complete: true, caveats: [] };
  }

  /** Every replacement computed first, then applied, so a throw changes nothing (the in-memory "transaction"). */
  async rewrapAll(toMasterKeyId: string, rewrap: (row: StoredTenantKey) => Promise<Buffer>): Promise<{ rewrapped: number; tenants: number }> {
    const todo = [...this.rows.values()].flat().filter((r) => !r.destroyedAt && r.masterKeyId !== toMasterKeyId);
    const replacements = new Map<StoredTenantKey, Buffer>();
    for (const row of todo) replacements.set(row, await rewrap(clone(row)));
    for (const [row, wrapped] of replacements) {
      row.wrapped = wrapped;
      row.masterKeyId = toMasterKeyId;
    }
    return { rewrapped: todo.length, tenants: new Set(todo.map((r) => r.tenantId)).size };
  }
}

function clone(row: StoredTenantKey): StoredTenantKey {
  return { ...row, wrapped: Buffer.from(row.wrapped) };
}

// ---------------------------------------------------------------- key ring

export interface TenantKeyInfo {
  tenantId: string;
  keyId: string;
  version: number;
  masterKeyId: string;
}

export interface NewDataKey {
  /** The plain data key: hand it to a RecordingWriter, which wipes its copy; wipe this one too. */
  plainKey: Buffer;
  /** The data key wrapped by the tenant key, for the recording header. */
  wrapped: Buffer;
  /** The tenant key version that wrapped it. */
  keyId: string;
}

/** A recording's header key block, as tenant-key rotation needs it (RecordingVault.keySlot provides one). */
export interface RecordingKeySlot {
  readHeader(): Promise<RecordingHeader>;
  /** Rewrites the key block in place (the rest of the recording is untouched). */
  writeKeyBlock(keyId: string, wrappedKey: Buffer): Promise<void>;
}

function tenantKeyAad(tenantId: string, keyId: string): Buffer {
  return encodeParts('smartalex/tenant-key/v1', tenantId, keyId);
}

function dataKeyAad(tenantId: string, recordingId: string): Buffer {
  return encodeParts('smartalex/data-key/v1', tenantId, recordingId);
}

function tenantSecretAad(tenantId: string, label: string): Buffer {
  return encodeParts('smartalex/tenant-secret/v1', tenantId, label);
}

function newKeyId(version: number): string {
  return `tk${version}-${randomBytes(6).toString('hex')}`;
}

export interface KeyRingOptions {
  master: MasterKeyProvider;
  store: TenantKeyStore;
  /** Older masters still accepted for unwrapping (until rotateMasterKey has re-wrapped everything). */
  previousMasters?: MasterKeyProvider[];
}

export interface MasterKeyRotation {
  fromMasterKeyId: string;
  toMasterKeyId: string;
  /** Tenant key versions re-wrapped. */
  rewrapped: number;
  /** Tenants that had a version re-wrapped. */
  tenants: number;
}

export class KeyRing implements DataKeyUnwrapper {
  private master: MasterKeyProvider;
  private readonly store: TenantKeyStore;
  private readonly masters = new Map<string, MasterKeyProvider>();
  /** Serialises key creation and rotation per tenant within this process. */
  private readonly tenantLocks = new Map<string, Promise<unknown>>();
  /** A master-key rotation in progress: new tenant keys wait for it, so none is wrapped by the master it replaces. */
  private masterRotation: Promise<unknown> | null = null;
  /** Tenant keys being created: a master-key rotation waits for them before it walks the store. */
  private readonly creating = new Set<Promise<unknown>>();

  constructor(opts: KeyRingOptions) {
    this.master = opts.master;
    this.store = opts.store;
    for (const m of opts.previousMasters ?? []) this.masters.set(m.keyId, m);
    this.masters.set(opts.master.keyId, opts.master);
  }

  get masterKeyId(): string { return this.master.keyId; }

  private locked<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    const before = this.tenantLocks.get(tenantId) ?? Promise.resolve();
    const run = before.then(work, work);
    const tail = run.catch(() => undefined);
    this.tenantLocks.set(tenantId, tail);
    void tail.then(() => { if (this.tenantLocks.get(tenantId) === tail) this.tenantLocks.delete(tenantId); });
    return run;
  }

  /** The tenant's current key, created on first use. KeyDestroyedError for a shredded tenant. */
  async getOrCreateTenantKey(tenantId: string): Promise<TenantKeyInfo> {
    return info(await this.currentTenantKey(tenantId));
  }

  private currentTenantKey(tenantId: string): Promise<StoredTenantKey> {
    assertSafeId('tenant id', tenantId);
    return this.locked(tenantId, async () => {
      const current = await this.store.get(tenantId);
      if (current) return this.assertLive(current);
      return this.createVersion(tenantId, 1);
    });
  }

  private assertLive(row: StoredTenantKey): StoredTenantKey {
    if (row.destroyedAt) throw new KeyDestroyedError(`keys of tenant ${row.tenantId} were destroyed; its recordings cannot be decrypted`);
    return row;
  }

  /** KeyDestroyedError naming why: the tenant was erased, or this version was retired by a rotation. */
  private async assertVersionLive(row: StoredTenantKey): Promise<StoredTenantKey> {
    if (!row.destroyedAt) return row;
    const current = await this.store.get(row.tenantId);
    if (current && !current.destroyedAt) {
      throw new KeyDestroyedError(`tenant key ${row.keyId} (version ${row.version}) of tenant ${row.tenantId} was retired by key rotation and destroyed on ${row.destroyedAt.toISOString()}; `
        + `anything still wrapped by it (such as a copy of a recording made before the rotation) cannot be decrypted, the re-wrapped original can`);
    }
    return this.assertLive(row);
  }

  private async createVersion(tenantId: string, version: number): Promise<StoredTenantKey> {
    while (this.masterRotation) await this.masterRotation.catch(() => undefined);
    // Registered in the same turn as the check above, so a rotation starting now waits for it.
    const work = this.createVersionUnder(this.master, tenantId, version);
    this.creating.add(work);
    try {
      return await work;
    } finally {
      this.creating.delete(work);
    }
  }

  private async createVersionUnder(master: MasterKeyProvider, tenantId: string, version: number): Promise<StoredTenantKey> {
    const keyId = newKeyId(version);
    const plain = randomBytes(KEY_BYTES);
    try {
      const row: StoredTenantKey = {
        tenantId,
        keyId,
        version,
        wrapped: await master.wrap(plain, tenantKeyAad(tenantId, keyId)),
        masterKeyId: master.keyId,
        createdAt: new Date(),
        destroyedAt: null,
      };
      await this.store.put(row);
      return row;
    } finally {
      plain.fill(0);
    }
  }

  private masterFor(row: StoredTenantKey): MasterKeyProvider {
    const master = this.masters.get(row.masterKeyId);
    if (!master) throw new KeyNotFoundError(`tenant key ${row.tenantId}/${row.keyId} is wrapped by master key ${row.masterKeyId}, which this key ring does not hold`);
    return master;
  }

  private async plainTenantKey(row: StoredTenantKey): Promise<Buffer> {
    this.assertLive(row);
    return this.masterFor(row).unwrap(row.wrapped, tenantKeyAad(row.tenantId, row.keyId));
  }

  private async tenantKeyById(tenantId: string, keyId: string): Promise<StoredTenantKey> {
    const row = await this.store.getByKeyId(tenantId, keyId);
    if (row) return this.assertVersionLive(row);
    const current = await this.store.get(tenantId);
    if (current?.destroyedAt) this.assertLive(current);
    throw new KeyNotFoundError(`tenant ${tenantId} has no key ${keyId}`);
  }

  /** A fresh data key for one recording, wrapped by the tenant's current key. */
  async newDataKey(tenantId: string, recordingId: string): Promise<NewDataKey> {
    assertSafeId('recording id', recordingId);
    // The current row itself (one read): it is live, or getOrCreate would have thrown.
    const row = await this.currentTenantKey(tenantId);
    const keyId = row.keyId;
    const tenantKey = await this.plainTenantKey(row);
    try {
      const plainKey = randomBytes(KEY_BYTES);
      return { plainKey, wrapped: wrapKey(tenantKey, plainKey, dataKeyAad(tenantId, recordingId)), keyId };
    } finally {
      tenantKey.fill(0);
    }
  }

  /**
   * Seals a small tenant secret (a provider API key) with the tenant's current
   * key: AES-256-GCM, AAD binding tenant id and `label`. Returns the sealed
   * bytes and the tenant key version that sealed them.
   */
  async sealTenantSecret(tenantId: string, label: string, plain: Buffer): Promise<{ sealed: Buffer; keyId: string }> {
    const { keyId } = await this.getOrCreateTenantKey(tenantId);
    const row = await this.tenantKeyById(tenantId, keyId);
    const tenantKey = await this.plainTenantKey(row);
    try {
      return { sealed: wrapKey(tenantKey, plain, tenantSecretAad(tenantId, label)), keyId };
    } finally {
      tenantKey.fill(0);
    }
  }

  /** Inverse of sealTenantSecret; KeyDestroyedError after crypto-shredding, WrongKeyError on any mismatch. */
  async unsealTenantSecret(tenantId: string, label: string, keyId: string, sealed: Buffer): Promise<Buffer> {
    assertSafeId('tenant id', tenantId);
    const row = await this.tenantKeyById(tenantId, keyId);
    const tenantKey = await this.plainTenantKey(row);
    try {
      return unwrapKey(tenantKey, sealed, tenantSecretAad(tenantId, label), `tenant secret ${tenantId}/${label}`);
    } finally {
      tenantKey.fill(0);
    }
  }

  /** The data key of a recording, from its header. KeyDestroyedError after crypto-shredding. */
  async unwrapDataKey(header: Pick<RecordingHeader, 'tenantId' | 'recordingId' | 'keyId' | 'wrappedKey'>): Promise<Buffer> {
    const row = await this.tenantKeyById(header.tenantId, header.keyId);
    const tenantKey = await this.plainTenantKey(row);
    try {
      return unwrapKey(tenantKey, header.wrappedKey, dataKeyAad(header.tenantId, header.recordingId), `data key of ${header.tenantId}/${header.recordingId}`);
    } finally {
      tenantKey.fill(0);
    }
  }

  /**
   * Re-wraps every live tenant key version under `newMaster` in one
   * transaction (TenantKeyStore.rewrapAll), audio and sealed secrets untouched
   * (the tenant keys they hang from do not change), then makes it the master
   * that wraps new tenant keys. The old master stays in this ring for
   * unwrapping, so a running server carries on; a process started with only
   * the new key reads everything. Refused, with nothing changed, when
   * `newMaster` is the current key, when a rotation is already running, or
   * when a version is wrapped by a master this ring does not hold
   * (KeyNotFoundError). Tenant keys created meanwhile wait for it.
   */
  async rotateMasterKey(newMaster: MasterKeyProvider, opts: { actor?: string } = {}): Promise<MasterKeyRotation> {
    const from = this.master.keyId;
    if (newMaster.keyId === from) throw new MasterKeyError(`the new master key is the current one (${from}); nothing changed`);
    if (this.masterRotation) throw new MasterKeyError('a master-key rotation is already running; nothing changed');
    const run = (async (): Promise<MasterKeyRotation> => {
      await Promise.allSettled([...this.creating]);
      const done = await this.store.rewrapAll(newMaster.keyId, async (row) => {
        const aad = tenantKeyAad(row.tenantId, row.keyId);
        const plain = await this.masterFor(row).unwrap(row.wrapped, aad);
        try {
          return await newMaster.wrap(plain, aad);
        } finally {
          plain.fill(0);
        }
      }, { actor: opts.actor ?? 'system', fromMasterKeyId: from, toMasterKeyId: newMaster.keyId });
      this.masters.set(newMaster.keyId, newMaster);
      this.master = newMaster;
      return { fromMasterKeyId: from, toMasterKeyId: newMaster.keyId, ...done };
    })();
    this.masterRotation = run;
    try {
      return await run;
    } finally {
      this.masterRotation = null;
    }
  }

  /**
   * Creates the next version of the tenant key (new recordings use it) and
   * re-wraps the data keys of the given recordings under it, rewriting only
   * their header key blocks. Older versions stay until retireOlderTenantKeys
   * destroys them, once nothing they wrap is left.
   */
  async rotateTenantKey(tenantId: string, recordings: Iterable<RecordingKeySlot> = []): Promise<TenantKeyInfo & { rewrapped: number }> {
    assertSafeId('tenant id', tenantId);
    const next = await this.locked(tenantId, async () => {
      const current = await this.store.get(tenantId);
      if (current) this.assertLive(current);
      return this.createVersion(tenantId, (current?.version ?? 0) + 1);
    });
    let rewrapped = 0;
    for (const slot of recordings) if (await this.rewrapDataKey(tenantId, slot, next.keyId)) rewrapped++;
    return { ...info(next), rewrapped };
  }

  /**
   * Re-wraps one recording's data key under the tenant key `keyId` (normally
   * the current version), rewriting only its header key block. False when it
   * already names that version.
   */
  async rewrapDataKey(tenantId: string, slot: RecordingKeySlot, keyId: string): Promise<boolean> {
    const header = await slot.readHeader();
    if (header.tenantId !== tenantId) throw new RecordingFormatError(`recording ${header.recordingId} belongs to another tenant`);
    if (header.keyId === keyId) return false;
    const target = await this.tenantKeyById(tenantId, keyId);
    const dataKey = await this.unwrapDataKey(header);
    try {
      const newKey = await this.plainTenantKey(target);
      try {
        await slot.writeKeyBlock(keyId, wrapKey(newKey, dataKey, dataKeyAad(tenantId, header.recordingId)));
      } finally {
        newKey.fill(0);
      }
      return true;
    } finally {
      dataKey.fill(0);
    }
  }

  /** The tenant's versions that are not destroyed, oldest first. */
  async liveTenantKeys(tenantId: string): Promise<TenantKeyInfo[]> {
    assertSafeId('tenant id', tenantId);
    return (await this.store.versions(tenantId)).filter((r) => !r.destroyedAt).map(info);
  }

  /**
   * After a rotation has re-wrapped everything the older versions wrapped:
   * destroys every live version but `currentKeyId` (which must be the
   * tenant's current one), so a compromised older version is cut off. Data
   * still naming a retired version fails with KeyDestroyedError from then on.
   */
  async retireOlderTenantKeys(tenantId: string, currentKeyId: string): Promise<{ retired: TenantKeyInfo[]; erasure: KeyErasure }> {
    assertSafeId('tenant id', tenantId);
    return this.locked(tenantId, async () => {
      const current = await this.store.get(tenantId);
      if (!current || current.keyId !== currentKeyId) throw new KeyNotFoundError(`tenant key ${currentKeyId} is not the current key of tenant ${tenantId}; nothing retired`);
      this.assertLive(current);
      const older = (await this.store.versions(tenantId)).filter((r) => !r.destroyedAt && r.keyId !== currentKeyId);
      if (older.length === 0) return { retired: [], erasure: { complete: true, caveats: [] } };
      const erasure = await this.store.destroyVersions(tenantId, older.map((r) => r.keyId));
      return { retired: older.map(info), erasure };
    });
  }

  /** Crypto-shredding: every recording of the tenant fails with KeyDestroyedError from now on. */
  async destroyTenantKey(tenantId: string): Promise<KeyErasure> {
    assertSafeId('tenant id', tenantId);
    return this.locked(tenantId, () => this.store.delete(tenantId));
  }
}

function info(row: StoredTenantKey): TenantKeyInfo {
  return { tenantId: row.tenantId, keyId: row.keyId, version: row.version, masterKeyId: row.masterKeyId };
}
