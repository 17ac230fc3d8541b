/**
 * What audio redaction adds to recording one call: the same `seconds` of
 * both legs (20 ms frames, as the call tap feeds them) go through a
 * RecordingTap twice, once as before (nothing held, nothing silenced) and
 * once with the hold window and `redactionsPerMinute` silenced spans, half of
 * them decided in the window and half after their audio was sealed (each of
 * those re-seals a chunk). Reports the added CPU per call-second and the
 * memory the window holds. Recordings go to files in a temporary directory
 * (positioned reads and writes, as in production). A measurement for the
 * bench report, not a test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing, LocalMasterKey, MemoryTenantKeyStore } from '../../storage/vault/keys.ts';
import { LocalObjectStore } from '../../storage/vault/object-store.ts';
import { RecordingVault } from '../../storage/vault/vault.ts';

export interface AudioRedactionBenchResult {
  seconds: number;
  holdMs: number;
  redactions: number;
  /** Chunks re-sealed for the late half of the redactions. */
  resealed: number;
  /** CPU (user + system) per call-second, without and with redaction, in µs. */
  baselineCpuUsPerCallSecond: number;
  redactingCpuUsPerCallSecond: number;
  addedCpuUsPerCallSecond: number;
  /** Bytes the hold window keeps per call (fixed ring, allocated once). */
  heldBytes: number;
}

const FRAME_SAMPLES = 160;
/** Each run records under its own id (the warm-up and the measured run may have the same parameters). */
let runCount = 0;

async function run(root: string, seconds: number, holdMs: number, redactionsPerMinute: number): Promise<{ cpuUs: number; resealed: number; redactions: number }> {
  const vault = new RecordingVault({ store: new LocalObjectStore(root), keys: new KeyRing({ master: LocalMasterKey.generate(), store: new MemoryTenantKeyStore() }) });
  const tap = await vault.startTap({ tenantId: 'bench', recordingId: `call-${++runCount}` }, { holdMs });
  const caller = new Int16Array(FRAME_SAMPLES).map((_, i) => Math.round(Math.sin(i / 3) * 8000));
  const agent = new Int16Array(FRAME_SAMPLES).map((_, i) => Math.round(Math.cos(i / 5) * 8000));
  const everyFrames = redactionsPerMinute > 0 ? Math.round((60_000 / redactionsPerMinute) / 20) : 0;
  let redactions = 0;
  const start = process.cpuUsage();
  for (let f = 0; f < seconds * 50; f++) {
    const t = f * 20;
    tap.caller({ pcm: caller, timeMs: t });
    tap.agent({ pcm: agent, timeMs: t });
    if (everyFrames > 0 && f > 0 && f % everyFrames === 0) {
      // A 1.5 s card number: decided 1 s after it ended (in the window) or 6 s after (sealed, re-sealed).
      const late = redactions % 2 === 1;
      const endMs = t - (late ? 6000 : 1000);
      if (endMs > 1500) {
        tap.silence(endMs - 1500, endMs);
        redactions++;
      }
    }
    if (f % 400 === 399) await new Promise((r) => setImmediate(r)); // let the writer's queue run, as the event loop would
  }
  const summary = await tap.finish();
  const used = process.cpuUsage(start);
  return { cpuUs: used.user + used.system, resealed: summary.resealed, redactions };
}

export async function benchAudioRedaction(opts: { seconds?: number; holdMs?: number; redactionsPerMinute?: number } = {}): Promise<AudioRedactionBenchResult> {
  const seconds = opts.seconds ?? 300;
  const holdMs = opts.holdMs ?? 3000;
  const perMinute = opts.redactionsPerMinute ?? 4;
  const root = await mkdtemp(join(tmpdir(), 'smartalex-redaction-bench-'));
  let baseline: Awaited<ReturnType<typeof run>>;
  let redacting: Awaited<ReturnType<typeof run>>;
  try {
    await run(root, Math.min(seconds, 20), holdMs, perMinute); // warm-up
    baseline = await run(root, seconds, 0, 0);
    redacting = await run(root, seconds, holdMs, perMinute);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return {
    seconds,
    holdMs,
    redactions: redacting.redactions,
    resealed: redacting.resealed,
    baselineCpuUsPerCallSecond: baseline.cpuUs / seconds,
    redactingCpuUsPerCallSecond: redacting.cpuUs / seconds,
    addedCpuUsPerCallSecond: (redacting.cpuUs - baseline.cpuUs) / seconds,
    heldBytes: Math.round(holdMs / 20) * FRAME_SAMPLES * 4,
  };
}
