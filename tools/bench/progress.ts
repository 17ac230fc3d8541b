/**
 * A one-line live progress bar on stderr, redrawn at most every 100 ms, and
 * silent when stderr is not a terminal (CI logs stay clean). Hand-written:
 * it is twenty lines, and the maintained packages (cli-progress, progress)
 * bring multi-bar layouts and format languages this does not need.
 */
export interface ProgressSink {
  write(text: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly out: ProgressSink = process.stderr, private readonly total: number, private readonly label = 'turns') {}

  get enabled(): boolean {
    return Boolean(this.out.isTTY);
  }

  update(done: number, detail = '', force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const ratio = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const filled = Math.round(ratio * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${this.label} ${detail}`;
    const columns = this.out.columns ?? 100;
    this.out.write(`\r${line.slice(0, columns - 1).padEnd(Math.min(columns - 1, line.length))}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the line so the summary starts on a clean one. */
  done(): void {
    if (this.enabled && this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
