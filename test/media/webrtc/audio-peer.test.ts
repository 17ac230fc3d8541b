import { randomInt } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nodeDataChannel from 'node-datachannel';
import { OpusDecoder, OpusEncoder } from '../../../media/audio/opus.ts';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import { parseRtp, serializeRtp, looksLikeRtcp } from '../../../media/rtp/packet.ts';
import { offeredOpus, WebRtcAudioPeer, WebRtcOfferError, type AudioPeerOptions } from '../../../media/webrtc/audio-peer.ts';
import { waitFor } from '../../support/poll.ts';
import { DIAL_ATTEMPTS } from '../../support/webrtc-stand-in.ts';
import { exitAfterNativePeers } from '../../../media/webrtc/native-exit.ts';

/** A browser stand-in: a node-datachannel peer that offers one Opus track, as Chromium does. */
interface Browser {
  pc: nodeDataChannel.PeerConnection;
  track: nodeDataChannel.Track;
  offer: string;
  /** Its connection states in order, for the failure message of a call that does not come up. */
  states: string[];
  open: boolean;
}

/** A stand-in's offer, its candidates gathered in full (non-trickle, as the server expects). */
async function browserOffer(): Promise<Browser> {
  const pc = new nodeDataChannel.PeerConnection('browser', { iceServers: [], bindAddress: '127.0.0.1' });
  const audio = new nodeDataChannel.Audio('0', 'SendRecv');
  audio.addOpusCodec(111);
  audio.addSSRC(4242, 'browser', 'b', 'mic');
  const browser: Browser = { pc, track: pc.addTrack(audio), offer: '', states: [], open: false };
  pc.onStateChange((state) => browser.states.push(state));
  browser.track.onOpen(() => { browser.open = true; });
  let gathered = false;
  pc.onGatheringStateChange((state) => { if (state === 'complete') gathered = true; });
  pc.setLocalDescription();
  await waitFor('the browser stand-in to gather its candidates', () => gathered, { timeoutMs: 20_000 });
  browser.offer = pc.localDescription()!.sdp;
  return browser;
}

/**
 * A browser stand-in's offer answered by the server, applied back, and the call connected (DTLS up, the
 * track open on both sides). libdatachannel as the offerer has a set-up race of its own that hits a few per
 * cent of set-ups on a busy machine (test/support/webrtc-stand-in.ts says what it is): applying the answer
 * throws "Got a remote candidate without ICE transport", or the stand-in's state turns to failed soon after,
 * and the server's peer, whose handshake the stand-in broke off, may report its end first. Either way that
 * is the stand-in's own set-up, so it starts over (at most DIAL_ATTEMPTS times): a server that answers
 * wrongly fails every attempt. A call that does not connect fails with what each side saw, never hangs:
 * the server gives up after its connect timeout (15 s), the wait after 30 s.
 */
async function connected(options: Partial<AudioPeerOptions> = {}): Promise<{ browser: Browser; peer: WebRtcAudioPeer; answer: string }> {
  for (let attempt = 1; ; attempt++) {
    const browser = await browserOffer();
    const { peer, answer } = await WebRtcAudioPeer.answer(browser.offer, { bindAddress: '127.0.0.1', ...options });
    let serverOpen = false;
    let serverEnd: { reason: string; atMs: number } | undefined;
    peer.once('open', () => { serverOpen = true; });
    peer.once('end', (reason) => { serverEnd = { reason, atMs: Date.now() }; });
    const sides = () => `server ${serverOpen ? 'open' : 'not open'}${serverEnd ? `, ended (${serverEnd.reason})` : ''}; browser ${browser.open ? 'open' : 'not open'}, states ${browser.states.join(' > ') || 'none'}`;
    let standInFailed: string | undefined;
    try {
      browser.pc.setRemoteDescription(answer, 'answer');
      await waitFor('the call to connect', () => {
        if (browser.states.includes('failed') && !browser.states.includes('connected')) standInFailed = `the browser stand-in failed before the call connected (${sides()})`;
        if (standInFailed) return true;
        // The server's peer ended first: give the stand-in's state a moment to show whether it was its own failure.
        if (serverEnd !== undefined && (browser.states.includes('connected') || Date.now() - serverEnd.atMs > 10_000)) throw new Error('the server\'s peer ended before the call connected');
        return serverOpen && browser.open;
      }, { timeoutMs: 30_000 });
    } catch (error) {
      peer.close('test-over');
      browser.pc.close();
      if (attempt < DIAL_ATTEMPTS && /without ICE transport/.test(String(error))) {
        process.stderr.write(`[audio-peer test] attempt ${attempt} starts over: ${String(error)}\n`);
        continue;
      }
      throw new Error(`${error instanceof Error ? error.message : String(error)} (${sides()})`);
    }
    if (standInFailed === undefined) return { browser, peer, answer };
    peer.close('test-over');
    browser.pc.close();
    if (attempt === DIAL_ATTEMPTS) throw new Error(standInFailed);
    process.stderr.write(`[audio-peer test] attempt ${attempt} starts over: ${standInFailed}\n`);
  }
}

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

test('a browser offer is answered over DTLS-SRTP on loopback; Opus flows both ways as 16 kHz frames', async () => {
  const { browser, peer, answer } = await connected();
  try {
    assert.match(answer, /UDP\/TLS\/RTP\/SAVPF 111/);
    assert.match(answer, /a=candidate:.* 127\.0\.0\.1 /);
    assert.match(answer, /a=fingerprint:sha-256 /);

    // Browser -> server: one second of a 440 Hz tone in Opus packets.
    const frames: AudioFrame[] = [];
    peer.on('audio', (f) => frames.push(f));
    const encoder = new OpusEncoder();
    let seq = randomInt(0, 60_000);
    for (let i = 0; i < 50; i++) {
      const pcm = new Int16Array(960).map((_, n) => Math.round(Math.sin(2 * Math.PI * 440 * (i * 960 + n) / 48_000) * 9000));
      browser.track.sendMessageBinary(serializeRtp({ marker: i === 0, payloadType: 111, sequenceNumber: seq++ & 0xffff, timestamp: i * 960, ssrc: 4242, payload: encoder.encode(pcm) }));
    }
    encoder.close();
    await waitFor('the server to decode the browser audio', () => frames.length >= 45);
    assert.ok(frames.every((f) => f.sampleRate === 16_000 && f.pcm.length === 320));
    assert.ok(rms(frames[30]!.pcm) > 2000, `decoded tone energy ${rms(frames[30]!.pcm)}`);

    // Server -> browser: agent audio is paced out as Opus RTP with our SSRC.
    const decoder = new OpusDecoder();
    const heard: number[] = [];
    const markers: boolean[] = [];
    browser.track.onMessage((message) => {
      if (looksLikeRtcp(message)) return;
      const parsed = parseRtp(message);
      if (!parsed.ok) return;
      markers.push(parsed.packet.marker);
      try {
        heard.push(rms(decoder.decode(parsed.packet.payload)));
      } catch {
        heard.push(-1); // a packet the browser could not decode: fails the check below
      }
    });
    const sent: Int16Array[] = [];
    const playouts: number[] = [];
    peer.on('playout', (p) => playouts.push(p.timeMs));
    const tone = (ms: number): Int16Array => new Int16Array(16 * ms).map((_, n) => Math.round(Math.sin(2 * Math.PI * 300 * n / 16_000) * 9000));
    // A second utterance queued the moment the first one's last frame leaves (no silent tick between them, as a
    // reply that follows the greeting at once): it is a new playout and is announced, without a marker bit.
    peer.on('sent', (f) => {
      sent.push(f);
      if (sent.length === 25) peer.play(tone(100));
      if (sent.length === 32) {
        // A barge-in's clear, then a goodbye queued at once: a new playout too.
        peer.clearPlayback();
        peer.play(tone(60));
      }
    });
    peer.play(tone(500));
    await waitFor('the agent audio to arrive', () => heard.length >= 20);
    assert.is(markers[0], true, 'the first packet of a talkspurt has the marker bit');
    assert.ok(heard.slice(5, 20).some((e) => e > 2000), 'the agent tone is heard');
    await waitFor('both utterances to leave', () => sent.length === 30);
    assert.is(peer.queuedMs(), 0);
    assert.is(playouts.length, 2, 'each utterance queued on an empty queue is announced');
    await waitFor('the second utterance to arrive', () => heard.length >= 30);
    assert.not.ok(heard.includes(-1), 'every packet decodes');
    assert.equal(markers.slice(1, 30).filter(Boolean).length, 0, 'RFC 3551: no marker inside contiguous audio');
    peer.play(tone(200));
    await waitFor('two frames of a third utterance, then the goodbye queued after its clear', () => sent.length === 35);
    assert.is(playouts.length, 4, 'the audio queued after the clear is announced');
    decoder.close();
  } finally {
    peer.close('test-over');
    browser.pc.close();
  }
});

test('barge-in clears what is queued; close() ends the peer once', async () => {
  const { browser, peer } = await connected();
  const ends: string[] = [];
  peer.on('end', (reason) => ends.push(reason));
  try {
    peer.play(new Int16Array(16_000 * 2));
    assert.ok(peer.queuedMs() > 1000);
    const dropped = peer.clearPlayback();
    assert.ok(dropped > 1000 && dropped <= 2000, `dropped ${dropped}`);
    assert.is(peer.queuedMs(), 0);
    peer.close('agent-hangup');
    peer.close('again');
    assert.equal(ends, ['agent-hangup']);
    assert.ok(peer.ended);
  } finally {
    peer.close('test-over');
    browser.pc.close();
  }
});

test('with an ICE port range the answer\'s candidates use ports inside it, and media still comes up', async () => {
  const begin = 40_000 + randomInt(0, 20_000);
  const { browser, peer, answer } = await connected({ portRangeBegin: begin, portRangeEnd: begin + 9 });
  try {
    const ports = [...answer.matchAll(/^a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ host/gim)].map((m) => Number(m[1]));
    assert.ok(ports.length > 0, `no host candidate in the answer:\n${answer}`);
    for (const p of ports) assert.ok(p >= begin && p <= begin + 9, `candidate port ${p} outside ${begin}-${begin + 9}`);
  } finally {
    peer.close('test-over');
    browser.pc.close();
  }
});

test('offers that are not one Opus audio over DTLS-SRTP are refused with a reason', () => {
  const base = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0'];
  const cases: Array<[string, RegExp]> = [
    ['not sdp at all', /no audio|not SDP/],
    [[...base, 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=rtpmap:96 VP8/90000'].join('\r\n'), /no audio/],
    [[...base, 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000'].join('\r\n'), /not DTLS-SRTP/],
    [[...base, 'm=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=rtpmap:0 PCMU/8000'].join('\r\n'), /no Opus/],
  ];
  for (const [offer, why] of cases) {
    assert.throws(() => offeredOpus(offer), (e: unknown) => e instanceof WebRtcOfferError && why.test(e.message), offer.slice(0, 30));
  }
  assert.equal(offeredOpus([...base, 'm=audio 9 UDP/TLS/RTP/SAVPF 109 0', 'a=mid:a1', 'a=rtpmap:109 opus/48000/2', 'a=rtpmap:0 PCMU/8000'].join('\r\n')), { mid: 'a1', payloadType: 109 });
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
