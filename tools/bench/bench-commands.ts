/**
 * Registers the focused benchmarks with the CLI: `bench-recorder`,
 * `bench-codecs`, `bench-webrtc` and `bench-campaign` (flags and their
 * validation here; each bench's module is loaded only when it runs, so these
 * commands cost nothing to every other `smartalex` command's start-up).
 */
import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { positiveInt } from './cli-args.ts';

async function writeJson(file: string | undefined, report: unknown): Promise<void> {
  if (file) await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}

function rates(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !(n > 0 && n <= 100))) throw new InvalidArgumentError('calls per second above 0 and at most 100, comma-separated (e.g. 5,10,20,50)');
  return list;
}

export function registerRecorderBenchCommand(program: Command): void {
  program
    .command('bench-recorder')
    .description('measure what recording adds per call: encryption, decryption and PCI audio redaction CPU per call-second, hold-window memory (median and p99 over rounds)')
    .option('--rounds <n>', 'rounds', positiveInt, 10)
    .option('--seconds <s>', 'call-seconds per round', positiveInt, 120)
    .option('--hold-ms <ms>', 'hold window', positiveInt, 3000)
    .option('--redactions-per-minute <n>', 'silenced spans per minute of call', positiveInt, 4)
    .option('--json <file>', 'write the report as JSON')
    .action(async (opts: { rounds: number; seconds: number; holdMs: number; redactionsPerMinute: number; json?: string }) => {
      const { benchRecorder, formatRecorderReport } = await import('./recorder-command.ts');
      const report = await benchRecorder(opts);
      process.stdout.write(`${formatRecorderReport(report)}\n`);
      await writeJson(opts.json, report);
    });
}

export function registerCodecBenchCommand(program: Command): void {
  program
    .command('bench-codecs')
    .description('measure each voice codec\'s encode and decode CPU per call-second (G.711 PCMU/PCMA, G.722, Opus; median and p99 over rounds)')
    .option('--rounds <n>', 'rounds', positiveInt, 10)
    .option('--seconds <s>', 'call-seconds per round', positiveInt, 60)
    .option('--json <file>', 'write the report as JSON')
    .action(async (opts: { rounds: number; seconds: number; json?: string }) => {
      const { benchCodecs, formatCodecReport } = await import('./codecs.ts');
      const report = benchCodecs(opts);
      process.stdout.write(`${formatCodecReport(report)}\n`);
      await writeJson(opts.json, report);
    });
}

export function registerWebRtcBenchCommand(program: Command): void {
  program
    .command('bench-webrtc')
    .description('measure the server\'s CPU per WebRTC call (ICE, DTLS-SRTP, Opus both ways, resampling; callers in a separate process)')
    .option('--calls <n>', 'concurrent calls', positiveInt, 4)
    .option('--seconds <s>', 'seconds of speech per call', positiveInt, 20)
    .option('--json <file>', 'write the report as JSON')
    .action(async (opts: { calls: number; seconds: number; json?: string }) => {
      const { benchWebRtc, formatWebRtcReport } = await import('./webrtc.ts');
      const { exitAfterNativePeers } = await import('../../media/webrtc/native-exit.ts');
      const report = await benchWebRtc(opts);
      process.stdout.write(`${formatWebRtcReport(report)}\n`);
      await writeJson(opts.json, report);
      // libdatachannel's threads keep the process alive after its last peer: a finished bench exits.
      exitAfterNativePeers({ code: 0 });
    });
}

export function registerCampaignBenchCommand(program: Command): void {
  program
    .command('bench-campaign')
    .description('measure the campaign dialler\'s pacing (calls per second asked vs achieved) and webhook delivery latency (median and p99)')
    .option('--contacts <n>', 'contacts per campaign', positiveInt, 50)
    .option('--rates <list>', 'asked calls per second, one campaign each', rates, [5, 10, 20, 50])
    .option('--max-concurrent <n>', 'calls in flight at once', positiveInt, 20)
    .option('--hold-ms <ms>', 'how long each stand-in call lasts', positiveInt, 50)
    .option('--json <file>', 'write the report as JSON')
    .action(async (opts: { contacts: number; rates: number[]; maxConcurrent: number; holdMs: number; json?: string }) => {
      const { benchCampaign, formatCampaignReport } = await import('./campaign.ts');
      const report = await benchCampaign(opts);
      process.stdout.write(`${formatCampaignReport(report)}\n`);
      await writeJson(opts.json, report);
    });
}
