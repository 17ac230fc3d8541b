/**
 * The full `smartalex` command (bin/smartalex.js): the server's commands
 * (src/cli/main.ts) plus the measurement tools that live outside the server's
 * tree, so `src/` stays the process alone and never imports `tools/`.
 */
import { runCli } from '../src/cli/main.ts';
import { registerBenchCommand } from './bench/command.ts';
import { registerCampaignBenchCommand, registerCodecBenchCommand, registerRecorderBenchCommand, registerWebRtcBenchCommand } from './bench/bench-commands.ts';

await runCli([registerBenchCommand, registerRecorderBenchCommand, registerCodecBenchCommand, registerWebRtcBenchCommand, registerCampaignBenchCommand]);
