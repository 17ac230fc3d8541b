/**
 * Registers `smartalex bench` (also `npm run bench`) with the CLI: flags,
 * their validation, and the exit code of the run.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { nonNegative, nonNegativeInt, number, positiveInt } from './cli-args.ts';
import { DEFAULT_VOICE_THRESHOLD_DBFS } from './voice.ts';
import type { BenchOptions } from './run.ts';


function niceValue(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -20 || n > 19) throw new InvalidArgumentError('expected a nice value, an integer from -20 to 19');
  return n;
}




function postgresUrl(value: string): string {
  if (!/^postgres(ql)?:\/\//.test(value)) throw new InvalidArgumentError('expected a postgres:// URL, e.g. postgres://postgres:postgres@127.0.0.1:5432/postgres');
  return value;
}

function sipTarget(value: string): string {
  if (!/^sip:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(value)) throw new InvalidArgumentError('expected sip:host:port, e.g. sip:127.0.0.1:5060');
  return value;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('latency benchmark: N concurrent calls over SIP/RTP, WebRTC or a carrier media stream, K turns each (in-process server with simulators unless --target)')
    .addOption(new Option('--transport <way>', 'the way in: sip (SIP/RTP, PCMU), webrtc (a Node WebRTC peer: Opus, DTLS-SRTP, /v1/webrtc signalling) or ws (a Twilio Media Streams client: base64 mu-law 8 kHz); webrtc and ws need the in-process server').choices(['sip', 'webrtc', 'ws']).default('sip'))
    .option('--target <uri>', 'a running server, sip:host:port (default: start one in-process with the provider simulators)', sipTarget)
    .option('--number <number>', 'number to call', '1000')
    .option('--calls <n>', 'concurrent calls', positiveInt, 10)
    .option('--turns <k>', 'caller turns per call', nonNegativeInt, 3)
    .option('--barge-in', 'interrupt the agent\'s reply in each call\'s last turn and time how fast it stops', false)
    .addOption(new Option('--profile <name>', 'simulator latency profile (in-process)').choices(['instant', 'typical']).default('instant'))
    .option('--stt-ms <ms>', 'simulated STT final delay (overrides the profile)', nonNegative)
    .option('--llm-ttft-ms <ms>', 'simulated LLM time to first token', nonNegative)
    .option('--tts-ttfb-ms <ms>', 'simulated TTS time to first byte', nonNegative)
    .addOption(new Option('--agent-mode <mode>', 'in-process: call the conversation agent, or an echo agent on its own number (media path only; the ramp then allows no loss)').choices(['conversation', 'echo']).default('conversation'))
    .option('--database-url <url>', 'in-process: run the server on a fresh database created on this Postgres server (dropped afterwards) instead of embedded PGlite', postgresUrl)
    .option('--voice-threshold <dBFS>', 'agent audio above this RMS level counts as voice', number, DEFAULT_VOICE_THRESHOLD_DBFS)
    .option('--turn-timeout <ms>', 'give up waiting for a reply after this long', positiveInt, 10_000)
    .option('--bind <address>', 'local address for the benchmark\'s SIP and RTP', '127.0.0.1')
    .option('--json <file>', 'write the JSON report (schema: docs/bench-report.md)')
    .option('--html <file>', 'write a self-contained HTML report with histograms and CDFs')
    .option('--pcap <file>', 'capture loopback UDP to this file with tcpdump during the measured calls and report the server\'s own send jitter from kernel timestamps (needs tcpdump and root or CAP_NET_RAW)')
    .option('--baseline <file>', 'compare with an earlier --json report; exit 3 on a regression')
    .option('--threshold <percent>', 'regression threshold for --baseline', nonNegative, 10)
    .option('--ramp', 'add calls step by step until pacing jitter, loss or overhead go over their limits', false)
    .option('--ramp-step <n>', 'calls added per ramp step (default: --calls)', positiveInt)
    .option('--ramp-max <n>', 'stop the ramp at this many calls', positiveInt, 1000)
    .option('--duration <seconds>', 'soak: keep --calls calls going this long and report the memory slope', positiveInt)
    .option('--caller-nice <n>', 'nice value for the bench driver\'s callers thread, e.g. -10, so the instrument is not the first to wait for a busy core (below 0 needs CAP_SYS_NICE)', niceValue)
    .option('--through-kamailio', 'start Kamailio (deploy/kamailio/kamailio.cfg) and two media nodes on a scratch database of --database-url, and compare call set-up and pacing straight at a node and through Kamailio (echo agent; --calls, --turns, --ramp apply)', false)
    .option('--warmup-calls <n>', 'calls (one turn each) placed and discarded before measuring, so a fresh server is warm (default: min(--calls, 10); 0: none)', nonNegativeInt)
    .action(async (flags: Record<string, unknown>) => {
      if (flags.ramp && flags.duration !== undefined) throw new Error('--ramp and --duration cannot be combined');
      if (flags.throughKamailio) {
        if (flags.target || !flags.databaseUrl) throw new Error('--through-kamailio starts its own nodes on a Postgres server: give --database-url, not --target');
        const { runThroughKamailio } = await import('./through-kamailio.ts');
        const outcome = await runThroughKamailio({
          databaseUrl: flags.databaseUrl as string, calls: flags.calls as number, turns: flags.turns as number, turnTimeoutMs: flags.turnTimeout as number,
          ...(flags.warmupCalls !== undefined ? { warmupCalls: flags.warmupCalls as number } : {}),
          ...(flags.ramp ? { ramp: { step: (flags.rampStep as number | undefined) ?? (flags.calls as number), max: flags.rampMax as number } } : {}),
          ...(flags.json ? { json: flags.json as string } : {}),
        });
        process.exit(outcome.exitCode);
      }
      const options: BenchOptions = {
        transport: flags.transport as NonNullable<BenchOptions['transport']>,
        number: String(flags.number),
        calls: flags.calls as number,
        turns: flags.turns as number,
        bargeIn: Boolean(flags.bargeIn),
        profile: flags.profile as BenchOptions['profile'],
        voiceThresholdDbfs: flags.voiceThreshold as number,
        turnTimeoutMs: flags.turnTimeout as number,
        bindAddress: String(flags.bind),
        thresholdPercent: flags.threshold as number,
        ramp: Boolean(flags.ramp),
        rampMax: flags.rampMax as number,
        agentMode: flags.agentMode as NonNullable<BenchOptions['agentMode']>,
      };
      const optional = ['target', 'sttMs', 'llmTtftMs', 'ttsTtfbMs', 'json', 'html', 'pcap', 'baseline', 'rampStep', 'duration', 'databaseUrl', 'warmupCalls', 'callerNice'] as const;
      for (const key of optional) {
        const value = flags[key];
        if (value === undefined) continue;
        if (key === 'duration') options.durationS = value as number;
        else if (key === 'callerNice') options.callerNiceness = value as number;
        else (options as unknown as Record<string, unknown>)[key] = value;
      }
      // Loaded on use: the benchmark's module graph (server, simulators, workers) would slow every other command.
      const { runBench } = await import('./run.ts');
      const outcome = await runBench(options);
      process.exitCode = outcome.exitCode;
      // Sockets are closed; exit so a stray timer in a dependency cannot keep the process up.
      process.exit(outcome.exitCode);
    });
}
