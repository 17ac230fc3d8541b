/**
 * The two clocks of one TCP/TLS connection (slowloris defence):
 * - idle: the connection is closed when no complete message (or keep-alive)
 *   arrived for `idleMs`; stray bytes do not count as activity;
 * - message: once the first byte of a message has arrived, the whole message
 *   must follow within `messageMs`, however slowly the bytes trickle in.
 */

export interface StreamDeadlineOptions {
  idleMs: number;
  messageMs: number;
  /** Called once when either clock runs out. */
  onExpired: (which: 'idle' | 'message') => void;
}

export class StreamDeadlines {
  private idleTimer: NodeJS.Timeout | undefined;
  private messageTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StreamDeadlineOptions) {
    this.activity();
  }

  /** A complete message or keep-alive arrived, or we sent something: restart the idle clock. */
  activity(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.expire('idle'), this.options.idleMs);
    this.idleTimer.unref();
  }

  /**
   * After each chunk: `pending` says whether part of a message is buffered,
   * `completed` whether a message ended in this chunk (so any pending bytes
   * began a new message and its clock starts now).
   */
  progress(pending: boolean, completed: boolean): void {
    if (completed || !pending) this.stopMessageClock();
    if (pending && !this.messageTimer) {
      this.messageTimer = setTimeout(() => this.expire('message'), this.options.messageMs);
      this.messageTimer.unref();
    }
  }

  stop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.stopMessageClock();
    this.idleTimer = undefined;
  }

  private stopMessageClock(): void {
    if (this.messageTimer) clearTimeout(this.messageTimer);
    this.messageTimer = undefined;
  }

  private expire(which: 'idle' | 'message'): void {
    this.stop();
    this.options.onExpired(which);
  }
}
