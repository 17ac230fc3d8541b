/**
 * Stream connections per source address: the transport asks before it adopts
 * an accepted TCP/TLS connection and gives the slot back when it closes, so
 * one address cannot hold more than `maxPerSource` of them (a slowloris from
 * one host fills its own quota, not the server's).
 */

export class ConnectionLimits {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerSource: number) {}

  /** Takes a slot for `address`; false when it already holds `maxPerSource`. */
  acquire(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (n >= this.maxPerSource) return false;
    this.open.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.open.get(address) ?? 0) - 1;
    if (n > 0) this.open.set(address, n);
    else this.open.delete(address);
  }

  /** Connections `address` holds now. */
  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}
