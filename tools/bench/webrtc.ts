/**
 * `smartalex bench-webrtc`: the server's CPU per WebRTC call. This process
 * plays the server (one media/webrtc/audio-peer.ts answerer per call: ICE,
 * DTLS-SRTP and SRTP in libdatachannel's threads, Opus decode 48 kHz ->
 * 16 kHz frames, and every frame played straight back: 16 -> 48 kHz, Opus
 * encode, paced out on the shared 20 ms clock); the callers run in a child
 * process (tools/bench/webrtc-callers.ts) so their cost is not counted.
 * CPU is process.cpuUsage() (every thread of this process, native ones
 * included) over the speaking window, per call and per call-second. The
 * conversation (VAD, providers) is not in it: that cost is the same on every
 * transport and `smartalex bench` measures it.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebRtcAudioPeer } from '../../media/webrtc/audio-peer.ts';
import { machineInfo } from './report.ts';
import type { CallerCommand, CallerMessage } from './webrtc-callers.ts';

export interface WebRtcBenchReport {
  calls: number;
  seconds: number;
  /** CPU of the server side (this process), µs per call-second: 10 000 is 1 % of one core per call. */
  cpuUsPerCallSecond: number;
  /** The same as a share of one core per call, in %. */
  corePercentPerCall: number;
  packetsSent: number;
  /** Agent packets the callers heard (the echo), out of what they sent. */
  packetsHeard: number;
  machine: ReturnType<typeof machineInfo>;
}

const cpuUs = (): number => { const u = process.cpuUsage(); return u.user + u.system; };

export async function benchWebRtc(opts: { calls: number; seconds: number }): Promise<WebRtcBenchReport> {
  const child = fork(fileURLToPath(new URL('./webrtc-callers.ts', import.meta.url)), [String(opts.calls)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Bounded waits: a call that never connects fails the bench with a reason instead of hanging it.
  const next = (type: CallerMessage['type'], timeoutMs: number): Promise<CallerMessage> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`the callers did not report "${type}" within ${timeoutMs / 1000} s`)); }, timeoutMs);
    const onMessage = (m: CallerMessage): void => {
      if (m.type === 'failed') { cleanup(); reject(new Error(`the callers failed: ${m.message}`)); }
      if (m.type === type) { cleanup(); resolve(m); }
    };
    const onExit = (code: number | null): void => { cleanup(); reject(new Error(`the callers exited (${code}) before "${type}"`)); };
    const cleanup = (): void => { clearTimeout(timer); child.off('message', onMessage); child.off('exit', onExit); };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
  const command = (c: CallerCommand): void => { child.send(c); };
  const peers: WebRtcAudioPeer[] = [];
  const latestAttempt: number[] = [];
  // Each offer (a caller may start over: tools/bench/webrtc-callers.ts) gets a fresh answerer; one for an offer
  // since replaced is closed, never kept.
  const answering: Promise<void>[] = [];
  let answerFailure: unknown;
  child.on('message', (m: CallerMessage) => {
    if (m.type !== 'offer') return;
    latestAttempt[m.index] = m.attempt;
    answering.push((async () => {
      const { peer, answer } = await WebRtcAudioPeer.answer(m.sdp, { bindAddress: '127.0.0.1' });
      if (latestAttempt[m.index] !== m.attempt) { peer.close('caller-restarted'); return; }
      peers[m.index]?.close('caller-restarted');
      peer.on('audio', (frame) => peer.play(frame.pcm)); // the agent says back what it hears: both directions coded
      peers[m.index] = peer;
      command({ type: 'answer', index: m.index, attempt: m.attempt, sdp: answer });
    })().catch((error: unknown) => {
      answerFailure ??= error;
      child.kill(); // the wait for 'open' ends with it
    }));
  });
  try {
    // Each call may take three attempts, each bounded by the answerer's 15 s connect timeout.
    await next('open', 60_000).catch((error: unknown) => { throw answerFailure ?? error; });
    await Promise.all(answering);
    const before = cpuUs();
    const startedAt = performance.now();
    command({ type: 'speak', seconds: opts.seconds });
    const done = await next('done', (opts.seconds + 60) * 1000); // speaking, then at most 20 s of listening
    const cpu = cpuUs() - before;
    const elapsedS = (performance.now() - startedAt) / 1000;
    if (done.type !== 'done') throw new Error('the callers did not finish');
    const perCallSecond = cpu / (opts.calls * elapsedS);
    return {
      calls: opts.calls, seconds: opts.seconds, cpuUsPerCallSecond: Math.round(perCallSecond), corePercentPerCall: Math.round(perCallSecond / 100) / 100,
      packetsSent: done.sent, packetsHeard: done.heard, machine: machineInfo(),
    };
  } finally {
    for (const p of peers) p.close('bench-over');
    child.kill();
  }
}

export function formatWebRtcReport(r: WebRtcBenchReport): string {
  const m = r.machine;
  return [
    `WebRTC media path, server side: ${r.calls} call(s) x ${r.seconds} s (Opus 48 kHz in and out, DTLS-SRTP, 16 kHz frames, echoed)`,
    `CPU per call: ${r.cpuUsPerCallSecond} µs per call-second = ${r.corePercentPerCall.toFixed(2)} % of one core`,
    `packets: ${r.packetsSent} sent by the callers, ${r.packetsHeard} heard back`,
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.totalMemMB} MB, Node ${m.nodeVersion}, load ${m.loadAverage.join(' ')}`,
  ].join('\n');
}
