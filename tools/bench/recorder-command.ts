/**
 * `smartalex bench-recorder`: what recording one call costs the server, apart
 * from the calls themselves. Runs the recording encryption (tools/bench/vault.ts)
 * and the PCI audio redaction (tools/bench/vault-redaction.ts: hold window,
 * silenced spans, re-sealed chunks) for a number of rounds and prints the
 * median and p99 of each cost per call-second, the memory the hold window
 * keeps per call, and the machine it ran on. `--json` writes the same.
 */
import { summarize, type Summary } from './stats.ts';
import { machineInfo } from './report.ts';
import { benchVault } from './vault.ts';
import { benchAudioRedaction } from './vault-redaction.ts';

export interface RecorderBenchReport {
  rounds: number;
  secondsPerRound: number;
  holdMs: number;
  redactionsPerMinute: number;
  machine: ReturnType<typeof machineInfo>;
  /** µs of CPU per call-second. */
  encryptCpuUs: Summary;
  decryptCpuUs: Summary;
  recorderCpuUs: Summary;
  redactingRecorderCpuUs: Summary;
  redactionAddedCpuUs: Summary;
  /** Bytes the hold window keeps per call (fixed, allocated once per call). */
  heldBytesPerCall: number;
  resealedPerRound: number;
}

export async function benchRecorder(opts: { rounds: number; seconds: number; holdMs: number; redactionsPerMinute: number }): Promise<RecorderBenchReport> {
  const encrypt: number[] = [];
  const decrypt: number[] = [];
  const added: number[] = [];
  const plain: number[] = [];
  const redacting: number[] = [];
  let heldBytes = 0;
  let resealed = 0;
  for (let round = 0; round < opts.rounds; round++) {
    const vault = await benchVault({ seconds: opts.seconds });
    encrypt.push(vault.encryptCpuUsPerCallSecond);
    decrypt.push(vault.decryptCpuUsPerCallSecond);
    const redaction = await benchAudioRedaction({ seconds: opts.seconds, holdMs: opts.holdMs, redactionsPerMinute: opts.redactionsPerMinute });
    added.push(redaction.addedCpuUsPerCallSecond);
    plain.push(redaction.baselineCpuUsPerCallSecond);
    redacting.push(redaction.redactingCpuUsPerCallSecond);
    heldBytes = redaction.heldBytes;
    resealed = redaction.resealed;
  }
  const summary = (values: number[]): Summary => summarize(values)!;
  return {
    rounds: opts.rounds,
    secondsPerRound: opts.seconds,
    holdMs: opts.holdMs,
    redactionsPerMinute: opts.redactionsPerMinute,
    machine: machineInfo(),
    encryptCpuUs: summary(encrypt),
    decryptCpuUs: summary(decrypt),
    recorderCpuUs: summary(plain),
    redactingRecorderCpuUs: summary(redacting),
    redactionAddedCpuUs: summary(added),
    heldBytesPerCall: heldBytes,
    resealedPerRound: resealed,
  };
}

export function formatRecorderReport(r: RecorderBenchReport): string {
  const row = (name: string, s: Summary): string => `${name.padEnd(44)} ${s.p50.toFixed(1).padStart(9)} ${s.p99.toFixed(1).padStart(9)}`;
  const m = r.machine;
  return [
    `recorder cost per call-second (${r.rounds} rounds of ${r.secondsPerRound} s; hold window ${r.holdMs} ms, ${r.redactionsPerMinute} redactions/min)`,
    `${'µs CPU per call-second'.padEnd(44)} ${'median'.padStart(9)} ${'p99'.padStart(9)}`,
    row('encrypt (AES-256-GCM container)', r.encryptCpuUs),
    row('decrypt and verify', r.decryptCpuUs),
    row('recorder (tap + encrypt to file), no redaction', r.recorderCpuUs),
    row('recorder with PCI audio redaction', r.redactingRecorderCpuUs),
    row('PCI audio redaction, added (paired difference)', r.redactionAddedCpuUs),
    `hold window memory per call: ${(r.heldBytesPerCall / 1024).toFixed(0)} KiB; chunks re-sealed per round: ${r.resealedPerRound}`,
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.totalMemMB} MB, Node ${m.nodeVersion}, load ${m.loadAverage.join(' ')}`,
  ].join('\n');
}
