/**
 * The caller side of `smartalex bench-webrtc`, in its own process so its CPU
 * (the callers' Opus encoding, their DTLS-SRTP) is not counted as the
 * server's. Over IPC: it sends one offer per call, takes the answers, then
 * speaks fixture speech (16 kHz, resampled to 48 kHz, Opus, one packet per
 * 20 ms) on every call for the given time, counting the agent packets it
 * hears back (listening on until they stop coming), and reports.
 */
import { readFileSync } from 'node:fs';
import nodeDataChannel from 'node-datachannel';
import { exitAfterNativePeers } from '../../media/webrtc/native-exit.ts';
import { OpusEncoder, OPUS_FRAME_SAMPLES } from '../../media/audio/opus.ts';
import { Resampler } from '../../media/audio/resample.ts';
import { parseWav, pcm16Samples } from '../../media/audio/wav.ts';
import { looksLikeRtcp, serializeRtp } from '../../media/rtp/packet.ts';
import { CallAttempts, type AttemptPeer } from './call-attempts.ts';

export type CallerMessage = { type: 'offer'; index: number; attempt: number; sdp: string } | { type: 'open' } | { type: 'done'; sent: number; heard: number } | { type: 'failed'; message: string };
export type CallerCommand = { type: 'answer'; index: number; attempt: number; sdp: string } | { type: 'speak'; seconds: number };

const send = (m: CallerMessage): void => { process.send?.(m); };

interface Caller extends AttemptPeer { pc: nodeDataChannel.PeerConnection; track: nodeDataChannel.Track; heard: number }

async function caller(): Promise<{ peer: Caller; offer: string }> {
  const pc = new nodeDataChannel.PeerConnection('caller', { iceServers: [], bindAddress: '127.0.0.1' });
  const failed = new Promise<void>((resolve) => pc.onStateChange((state) => { if (state === 'failed') resolve(); }));
  const audio = new nodeDataChannel.Audio('0', 'SendRecv');
  audio.addOpusCodec(111);
  audio.addSSRC(Math.floor(Math.random() * 2 ** 31) + 1, 'caller', 'c', 'mic');
  const track = pc.addTrack(audio);
  const c: Caller = { pc, track, heard: 0, opened: new Promise((resolve) => track.onOpen(resolve)), failed, close: () => pc.close() };
  track.onMessage((m) => { if (!looksLikeRtcp(m)) c.heard++; });
  const offer = await new Promise<string>((resolve) => {
    pc.onGatheringStateChange((state) => { if (state === 'complete') resolve(pc.localDescription()!.sdp); });
    pc.setLocalDescription();
  });
  return { peer: c, offer };
}

/** The fixture speech as 48 kHz Opus packets, encoded once and replayed by every call. */
function speechPackets(): Buffer[] {
  const speech = pcm16Samples(parseWav(readFileSync(new URL('../../fixtures/audio/what-time-open-16k.wav', import.meta.url))));
  const up = new Resampler(16_000, 48_000).process(speech);
  const encoder = new OpusEncoder();
  const packets: Buffer[] = [];
  for (let i = 0; i + OPUS_FRAME_SAMPLES <= up.length; i += OPUS_FRAME_SAMPLES) packets.push(encoder.encode(up.subarray(i, i + OPUS_FRAME_SAMPLES)));
  encoder.close();
  return packets;
}

const calls = Number(process.argv[2] ?? 1);
const fail = (error: unknown): void => { send({ type: 'failed', message: String(error) }); process.exit(1); };
// The bench process gone (killed, crashed): so is the reason to be here. libdatachannel's threads would keep this one alive.
process.on('disconnect', () => process.exit(1));
// libdatachannel as the offerer fails its own set-up now and then on a busy machine, while or just after it
// applies the answer (its DTLS race: tools/bench/caller-leg.ts): that call starts over (a fresh peer, a fresh
// answerer), at most three attempts in all.
const attempts = new CallAttempts<Caller>({
  maxAttempts: 3,
  newPeer: caller,
  sendOffer: (index, attempt, sdp) => send({ type: 'offer', index, attempt, sdp }),
  restarting: (index, attempt, reason) => process.stderr.write(`bench-webrtc: call ${index} failed to connect (${reason}); starting it over (attempt ${attempt} of 3)\n`),
  giveUp: fail,
});
await Promise.all(Array.from({ length: calls }, (_, i) => attempts.dial(i)));
const packets = speechPackets();
let opened = 0;
process.on('message', (command: CallerCommand) => {
  void (async () => {
    if (command.type === 'answer') {
      // An answer to an offer this call has since replaced: the newer one's answer follows.
      const c = attempts.current(command.index, command.attempt);
      if (!c) return;
      try {
        c.pc.setRemoteDescription(command.sdp, 'answer');
      } catch (error) {
        // The offerer's race struck while the answer was applied ("Got a remote candidate without ICE
        // transport"): that call starts over.
        if (!/without ICE transport/.test(String(error))) throw error;
        await attempts.failed(command.index, command.attempt, 'its answer was refused: no ICE transport');
        return;
      }
      await c.opened;
      if (++opened === calls) send({ type: 'open' });
      return;
    }
    const live = attempts.peers();
    let sent = 0;
    const started = performance.now();
    const total = command.seconds * 50;
    for (let n = 0; n < total; n++) {
      for (const c of live) {
        const payload = packets[n % packets.length]!;
        c.track.sendMessageBinary(serializeRtp({ marker: n === 0, payloadType: 111, sequenceNumber: n & 0xffff, timestamp: (n * OPUS_FRAME_SAMPLES) >>> 0, ssrc: 1, payload }));
        sent++;
      }
      const wait = started + (n + 1) * 20 - performance.now(); // paced on the clock, not by timers alone
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    // The agent's audio trails the caller's by the round trip and its queue: listen until it stops coming
    // (nothing new for a second) or all of it is back, at most 20 s.
    const heard = (): number => live.reduce((s, c) => s + c.heard, 0);
    const drainUntil = performance.now() + 20_000;
    for (let last = -1, quietSince = performance.now(); heard() < sent && performance.now() < drainUntil;) {
      const now = heard();
      if (now !== last) { last = now; quietSince = performance.now(); }
      else if (performance.now() - quietSince > 1000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    send({ type: 'done', sent, heard: heard() });
    attempts.closeAll();
    exitAfterNativePeers({ code: 0 });
  })().catch(fail);
});
