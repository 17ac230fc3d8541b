/**
 * The session signing key ring. Time is cut into rotation periods; period n's
 * key is HKDF(session secret, "session-signing/<n>"), and its key id `s<n>`
 * goes in the token header. Nothing is stored, so every node derives the same
 * ring and no key is ever written anywhere (the root secret is itself derived
 * from the master key: src/recordings/vault-setup.ts). Tokens are signed with
 * the current period's key; a key is accepted while a token it signed can
 * still be unexpired: until its period's end plus the session lifetime.
 */
import { hkdfSync } from 'node:crypto';

export interface SigningKey { kid: string; key: Uint8Array }

export class SigningKeyRing {
  private readonly cache = new Map<number, Uint8Array>();

  constructor(private readonly secret: Buffer, private readonly rotationMs: number, private readonly maxTokenLifetimeMs: number) {
    if (secret.length < 32) throw new Error('the session secret must be at least 32 bytes');
    if (!(rotationMs > 0)) throw new Error('the signing key rotation period must be positive');
  }

  period(at: Date): number {
    return Math.floor(at.getTime() / this.rotationMs);
  }

  /** The key new tokens are signed with at `now`. */
  current(now: Date): SigningKey {
    const n = this.period(now);
    return { kid: `s${n}`, key: this.derive(n) };
  }

  /** The key named by `kid` when it is still accepted at `now`; undefined for unknown, future or retired keys. */
  accepted(kid: string, now: Date): Uint8Array | undefined {
    const match = /^s(\d{1,15})$/.exec(kid);
    if (!match) return undefined;
    const n = Number(match[1]);
    if (n > this.period(now)) return undefined;
    const retiredAt = (n + 1) * this.rotationMs + this.maxTokenLifetimeMs;
    if (now.getTime() >= retiredAt) return undefined;
    return this.derive(n);
  }

  private derive(n: number): Uint8Array {
    let key = this.cache.get(n);
    if (!key) {
      key = new Uint8Array(hkdfSync('sha256', this.secret, Buffer.alloc(0), Buffer.from(`smartalex/session-signing/${n}`, 'utf8'), 32));
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(n, key);
    }
    return key;
  }
}
