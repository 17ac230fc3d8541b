/**
 * A streaming ZIP writer (stored entries, no compression): each file's bytes
 * go straight to disk as they come, with its CRC-32 and size in a data
 * descriptor after it, so nothing is held in memory whole. The SHA-256 of
 * each entry is computed on the way for the export's manifest. Entries and the
 * archive stay under 4 GiB (no ZIP64); bigger is refused.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

const LIMIT = 0xffff_ffff;

interface Entry { name: Buffer; crc: number; size: number; offset: number }

export class ZipTooLargeError extends Error {
  override name = 'ZipTooLargeError';
}

export class ZipWriter {
  private offset = 0;
  private readonly entries: Entry[] = [];

  constructor(private readonly file: FileHandle) {}

  private async write(bytes: Buffer): Promise<void> {
    await this.file.write(bytes);
    this.offset += bytes.length;
    if (this.offset > LIMIT) throw new ZipTooLargeError('the archive would exceed 4 GiB');
  }

  /** Adds one file; returns its SHA-256 (hex) and size. */
  async add(name: string, content: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | string): Promise<{ sha256: string; size: number }> {
    const nameBytes = Buffer.from(name, 'utf8');
    const offset = this.offset;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0808, 6); // bit 3: sizes in the data descriptor; bit 11: UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0x00210000, 10); // DOS time/date: 1980-01-01 (stable archives)
    local.writeUInt16LE(nameBytes.length, 26);
    await this.write(Buffer.concat([local, nameBytes]));
    const hash = createHash('sha256');
    let crc = 0;
    let size = 0;
    const chunks = typeof content === 'string' ? [Buffer.from(content, 'utf8')] : content;
    for await (const chunk of chunks) {
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      crc = crc32(bytes, crc);
      hash.update(bytes);
      size += bytes.length;
      if (size > LIMIT) throw new ZipTooLargeError(`${name} would exceed 4 GiB`);
      await this.write(bytes);
    }
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeUInt32LE(size, 8);
    descriptor.writeUInt32LE(size, 12);
    await this.write(descriptor);
    this.entries.push({ name: nameBytes, crc: crc >>> 0, size, offset });
    return { sha256: hash.digest('hex'), size };
  }

  /** Writes the central directory; the archive is complete after this. */
  async finish(): Promise<void> {
    const start = this.offset;
    for (const e of this.entries) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
      h.writeUInt16LE(20, 6);
      h.writeUInt16LE(0x0808, 8);
      h.writeUInt16LE(0, 10);
      h.writeUInt32LE(0x00210000, 12);
      h.writeUInt32LE(e.crc, 16);
      h.writeUInt32LE(e.size, 20);
      h.writeUInt32LE(e.size, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt32LE((0o100600 << 16) >>> 0, 38); // external attributes: a regular file, mode 0600
      h.writeUInt32LE(e.offset, 42);
      await this.write(Buffer.concat([h, e.name]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.entries.length, 8);
    end.writeUInt16LE(this.entries.length, 10);
    end.writeUInt32LE(this.offset - start, 12);
    end.writeUInt32LE(start, 16);
    await this.write(end);
  }
}
