/**
 * The attempts of `smartalex bench-webrtc`'s callers (tools/bench/webrtc-callers.ts).
 * libdatachannel as the offerer now and then fails its own set-up on a busy
 * machine, while or just after it applies the answer (its DTLS race:
 * tools/bench/caller-leg.ts); that call starts over with a fresh peer, at
 * most `maxAttempts` in all.
 *
 * One failed attempt can be reported twice (its answer is refused, "without
 * ICE transport", and its peer's state turns "failed"), and a fresh peer takes
 * a while to gather its offer. So every attempt has its number from the moment
 * it begins, a report about any attempt but the current one is stale (ignored),
 * and an attempt replaced while it gathered closes its peer and never sends its
 * offer. (Before this, a loaded run started a call over twice for one failure:
 * two offers went out as the same attempt, and the second answer met a peer
 * already answered: "Unexpected remote answer description in signaling state
 * stable".)
 */

export interface AttemptPeer {
  /** Resolves when media is up. */
  readonly opened: Promise<void>;
  /** Resolves when the peer's connection failed. */
  readonly failed: Promise<void>;
  close(): void;
}

export interface CallAttemptsOptions<P extends AttemptPeer> {
  maxAttempts: number;
  /** A fresh peer and its complete (non-trickle) offer. */
  newPeer: () => Promise<{ peer: P; offer: string }>;
  sendOffer: (index: number, attempt: number, offer: string) => void;
  /** Call `index` starts over as `attempt` (for the log). */
  restarting: (index: number, attempt: number, reason: string) => void;
  /** A call is out of attempts, or a fresh peer could not be made: the run cannot go on. */
  giveUp: (error: unknown) => void;
}

export class CallAttempts<P extends AttemptPeer> {
  private readonly attempt: number[] = [];
  private readonly peer: Array<P | undefined> = [];

  constructor(private readonly options: CallAttemptsOptions<P>) {}

  /** Begins call `index`'s next attempt: the previous peer closed, a fresh one's offer sent unless a later attempt began meanwhile. */
  async dial(index: number): Promise<void> {
    this.peer[index]?.close();
    this.peer[index] = undefined;
    const attempt = (this.attempt[index] ?? 0) + 1;
    this.attempt[index] = attempt;
    const { peer, offer } = await this.options.newPeer();
    if (this.attempt[index] !== attempt) { peer.close(); return; }
    this.peer[index] = peer;
    let open = false;
    void peer.opened.then(() => { open = true; });
    // A connection that fails once media is up is not a failed connect: the call's own reporting covers it.
    void peer.failed.then(() => (open ? undefined : this.failed(index, attempt, 'its connection failed'))).catch(this.options.giveUp);
    this.options.sendOffer(index, attempt, offer);
  }

  /** The peer of call `index` if `attempt` is its current attempt and its offer went out; undefined for a stale attempt. */
  current(index: number, attempt: number): P | undefined {
    return this.attempt[index] === attempt ? this.peer[index] : undefined;
  }

  /** The current peer of every call that has one. */
  peers(): P[] {
    return this.peer.filter((p): p is P => p !== undefined);
  }

  /**
   * Attempt `attempt` of call `index` failed: the call starts over, once however many times that attempt's failure
   * is reported; a report about an attempt already replaced does nothing. Rejects when the call is out of attempts.
   */
  async failed(index: number, attempt: number, reason: string): Promise<void> {
    if (this.attempt[index] !== attempt) return;
    if (attempt >= this.options.maxAttempts) throw new Error(`call ${index} failed to connect ${this.options.maxAttempts} times (the last: ${reason})`);
    this.options.restarting(index, attempt + 1, reason);
    await this.dial(index);
  }

  closeAll(): void {
    for (const p of this.peers()) p.close();
  }
}
