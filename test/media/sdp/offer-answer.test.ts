import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sdpTransform from 'sdp-transform';
import { answerOffer, chooseCodec, createOffer, readAnswer, readRemoteAudio } from '../../../media/sdp/offer-answer.ts';

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';

// A typical carrier offer: PCMU first, G.729, telephone-event on 101, ptime 20.
const carrierOffer = crlf([
  'v=0',
  'o=Sonus_UAC 245236 186289 IN IP4 203.0.113.10',
  's=SIP Media Capabilities',
  'c=IN IP4 203.0.113.20',
  't=0 0',
  'm=audio 21018 RTP/AVP 0 18 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=ptime:20',
  'a=maxptime:30',
]);

// A European carrier: PCMA first, telephone-event on 96, no rtpmap for static types, a=rtcp.
const pcmaFirst = crlf([
  'v=0',
  'o=- 3912345 3912345 IN IP4 198.51.100.7',
  's=-',
  't=0 0',
  'm=audio 40000 RTP/AVP 8 0 96',
  'c=IN IP4 198.51.100.8',
  'a=rtpmap:96 telephone-event/8000',
  'a=fmtp:96 0-16',
  'a=rtcp:40011',
  'a=ptime:20',
]);

const local = { address: '192.0.2.1', port: 30000, sessionId: '42', sessionVersion: 1 };

test('reads a carrier offer', () => {
  const r = readRemoteAudio(carrierOffer);
  if (!r.ok) throw new Error(r.reason);
  const a = r.audio;
  assert.is(a.address, '203.0.113.20');
  assert.is(a.port, 21018);
  assert.is(a.rtcpPort, 21019);
  assert.equal(a.formats.map((f) => f.payloadType), [0, 18, 8, 101]);
  assert.equal(a.telephoneEvent, { payloadType: 101, clockRate: 8000, fmtp: '0-15' });
  assert.is(a.ptime, 20);
  assert.is(a.direction, 'sendrecv');
  assert.is(a.onHold, false);
  const b = readRemoteAudio(pcmaFirst);
  if (!b.ok) throw new Error(b.reason);
  assert.is(b.audio.address, '198.51.100.8');
  assert.is(b.audio.rtcpPort, 40011);
  assert.equal(b.audio.formats.map((f) => f.name), ['PCMA', 'PCMU', 'telephone-event']);
});

test('answers with the offerer\'s preferred codec and its telephone-event PT', () => {
  const r = answerOffer(carrierOffer, local);
  if (!r.ok) throw new Error(r.reason);
  assert.is(r.codec.name, 'PCMU');
  assert.is(r.codec.payloadType, 0);
  assert.equal(r.telephoneEvent, { payloadType: 101, clockRate: 8000 });
  assert.ok(r.send && r.receive);
  const parsed = sdpTransform.parse(r.sdp);
  assert.is(parsed.connection?.ip, '192.0.2.1');
  assert.is(parsed.origin.address, '192.0.2.1');
  const m = parsed.media[0]!;
  assert.is(m.port, 30000);
  assert.is(m.protocol, 'RTP/AVP');
  assert.is(String(m.payloads), '0 101');
  assert.equal(m.rtp.map((x) => `${x.payload} ${x.codec}/${x.rate}`), ['0 PCMU/8000', '101 telephone-event/8000']);
  assert.equal(m.fmtp, [{ payload: 101, config: '0-15' }]);
  assert.is(m.direction, 'sendrecv');
  assert.is(m.ptime, 20);
  assert.ok(r.sdp.startsWith('v=0\r\n'));
});

test('PCMA-first offer gets PCMA and the dynamic PT 96', () => {
  const r = answerOffer(pcmaFirst, local);
  if (!r.ok) throw new Error(r.reason);
  assert.is(r.codec.name, 'PCMA');
  assert.is(r.codec.payloadType, 8);
  assert.is(r.telephoneEvent?.payloadType, 96);
  assert.match(r.sdp, /m=audio 30000 RTP\/AVP 8 96/);
  assert.match(r.sdp, /a=rtpmap:96 telephone-event\/8000/);
  // If we only accept PCMU, we take the offerer's second choice.
  const onlyMu = answerOffer(pcmaFirst, { ...local, codecs: ['PCMU'] });
  assert.ok(onlyMu.ok && onlyMu.codec.name === 'PCMU');
});

test('comfort noise (RFC 3389) offered is answered, and only then', () => {
  // baresip-style offer: PCMU, PCMA, CN on its static type 13, telephone-event.
  const withCn = crlf([
    'v=0', 'o=- 1 1 IN IP4 198.51.100.9', 's=-', 'c=IN IP4 198.51.100.9', 't=0 0',
    'm=audio 4000 RTP/AVP 0 8 13 101', 'a=rtpmap:13 CN/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15',
  ]);
  const r = answerOffer(withCn, local);
  if (!r.ok) throw new Error(r.reason);
  assert.equal(r.comfortNoise, { payloadType: 13 });
  const m = sdpTransform.parse(r.sdp).media[0]!;
  assert.is(String(m.payloads), '0 13 101');
  assert.equal(m.rtp.map((x) => `${x.payload} ${x.codec}/${x.rate}`), ['0 PCMU/8000', '13 CN/8000', '101 telephone-event/8000']);
  // A CN at another clock rate (wideband) is not ours to send; without CN in the offer there is none in the answer.
  const wideCn = withCn.replace('m=audio 4000 RTP/AVP 0 8 13 101', 'm=audio 4000 RTP/AVP 0 98 101').replace('a=rtpmap:13 CN/8000', 'a=rtpmap:98 CN/16000');
  const w = answerOffer(wideCn, local);
  assert.ok(w.ok && w.comfortNoise === undefined && !/CN\//.test(w.sdp));
  const plain = answerOffer(carrierOffer, local);
  assert.ok(plain.ok && plain.comfortNoise === undefined && !/CN\//.test(plain.sdp));
});

test('no common codec gives a clear 488 result', () => {
  const g729Only = crlf(['v=0', 'o=- 1 1 IN IP4 203.0.113.1', 's=-', 'c=IN IP4 203.0.113.1', 't=0 0', 'm=audio 5000 RTP/AVP 18 101', 'a=rtpmap:18 G729/8000', 'a=rtpmap:101 telephone-event/8000']);
  assert.equal(answerOffer(g729Only, local), { ok: false, reason: 'no-common-codec', status: 488 });
  const video = crlf(['v=0', 'o=- 1 1 IN IP4 203.0.113.1', 's=-', 'c=IN IP4 203.0.113.1', 't=0 0', 'm=video 5000 RTP/AVP 96', 'a=rtpmap:96 H264/90000']);
  assert.equal(answerOffer(video, local), { ok: false, reason: 'no-audio', status: 488 });
  const srtp = carrierOffer.replace('RTP/AVP', 'RTP/SAVP');
  assert.equal(answerOffer(srtp, local), { ok: false, reason: 'unsupported-transport', status: 488 });
  assert.is(answerOffer('this is not sdp', local).ok, false);
  // A wideband-only "PCMU/16000" is not PCMU.
  assert.is(chooseCodec([{ payloadType: 97, name: 'PCMU', clockRate: 16000 }], ['PCMU']), undefined);
});

test('hold: a=sendonly is answered recvonly, a=inactive inactive, c=0.0.0.0 stops our sending', () => {
  const sendonly = answerOffer(carrierOffer.replace('a=sendrecv', 'a=sendonly'), local);
  assert.ok(sendonly.ok);
  if (sendonly.ok) {
    assert.is(sendonly.direction, 'recvonly');
    assert.is(sendonly.remote.onHold, true);
    assert.is(sendonly.send, false);
    assert.is(sendonly.receive, true);
    assert.match(sendonly.sdp, /a=recvonly/);
  }
  const inactive = answerOffer(carrierOffer.replace('a=sendrecv', 'a=inactive'), local);
  assert.ok(inactive.ok && inactive.direction === 'inactive' && !inactive.send && !inactive.receive);
  const recvonly = answerOffer(carrierOffer.replace('a=sendrecv', 'a=recvonly'), local);
  assert.ok(recvonly.ok && recvonly.direction === 'sendonly' && recvonly.send && !recvonly.receive);
  const nullHold = answerOffer(carrierOffer.replace('c=IN IP4 203.0.113.20', 'c=IN IP4 0.0.0.0'), local);
  assert.ok(nullHold.ok);
  if (nullHold.ok) {
    assert.is(nullHold.remote.onHold, true);
    assert.is(nullHold.send, false);
    assert.is(nullHold.direction, 'recvonly');
  }
  // We put the remote on hold ourselves.
  const ours = answerOffer(carrierOffer, { ...local, direction: 'sendonly' });
  assert.ok(ours.ok && ours.direction === 'sendonly');
});

test('extra m-lines are declined with port 0, in order', () => {
  const withVideo = carrierOffer + crlf(['m=video 21020 RTP/AVP 96', 'a=rtpmap:96 H264/90000']);
  const r = answerOffer(withVideo, local);
  if (!r.ok) throw new Error(r.reason);
  const parsed = sdpTransform.parse(r.sdp);
  assert.is(parsed.media.length, 2);
  assert.is(parsed.media[0]!.type, 'audio');
  assert.is(parsed.media[1]!.type, 'video');
  assert.is(parsed.media[1]!.port, 0);
});

test('our offer, and reading the answer to it', () => {
  const offer = createOffer({ ...local, codecs: ['PCMA', 'PCMU'], telephoneEventPayloadType: 101 });
  const parsed = readRemoteAudio(offer);
  if (!parsed.ok) throw new Error(parsed.reason);
  assert.equal(parsed.audio.formats.map((f) => `${f.payloadType}:${f.name}`), ['8:PCMA', '0:PCMU', '101:telephone-event']);
  assert.is(parsed.audio.port, 30000);
  // The peer answers PCMU with telephone-event 101.
  const ans = answerOffer(offer, { address: '203.0.113.9', port: 7000, codecs: ['PCMU'] });
  if (!ans.ok) throw new Error(ans.reason);
  const back = readAnswer(ans.sdp, { ...local, codecs: ['PCMA', 'PCMU'] });
  if (!back.ok) throw new Error(back.reason);
  assert.is(back.codec.name, 'PCMU');
  assert.is(back.remote.address, '203.0.113.9');
  assert.is(back.remote.port, 7000);
  assert.is(back.telephoneEvent?.payloadType, 101);
  assert.ok(back.send && back.receive);
  const heldAnswer = readAnswer(ans.sdp.replace('a=sendrecv', 'a=sendonly'), local);
  assert.ok(heldAnswer.ok && heldAnswer.direction === 'recvonly' && !heldAnswer.send);
  const ipv6 = createOffer({ address: '2001:db8::1', port: 4000 });
  assert.match(ipv6, /c=IN IP6 2001:db8::1/);
});

test('an offer of PCMU alone (m=audio ... RTP/AVP 0) is answered with PCMU, not 488', () => {
  const offer = crlf(['v=0', 'o=sipp 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 6000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000']);
  const a = answerOffer(offer, local);
  assert.ok(a.ok);
  if (a.ok) assert.is(a.codec.name, 'PCMU');
  const bare = crlf(['v=0', 'o=x 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 6000 RTP/AVP 0']);
  const b = answerOffer(bare, local);
  assert.ok(b.ok, 'a static PCMU payload type needs no rtpmap');
});

test('G.722 is chosen whenever the offer has it (wideband first), with the RFC 3551 rtpmap G722/8000', () => {
  const offer = (payloads: string, extra: string[]): string => crlf([
    'v=0', 'o=- 1 1 IN IP4 192.0.2.5', 's=-', 'c=IN IP4 192.0.2.5', 't=0 0', `m=audio 4000 RTP/AVP ${payloads}`, ...extra,
  ]);
  const local = { address: '192.0.2.1', port: 6000 };
  for (const sdp of [
    offer('0 8 9 101', ['a=rtpmap:9 G722/8000', 'a=rtpmap:101 telephone-event/8000']),
    offer('9 0', []), // static payload type 9 without an rtpmap
    offer('0 9', ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:9 G722/8000']),
  ]) {
    const a = answerOffer(sdp, local);
    assert.ok(a.ok);
    if (!a.ok) continue;
    assert.is(a.codec.name, 'G722');
    assert.is(a.codec.payloadType, 9);
    assert.is(a.codec.clockRate, 8000);
    assert.is(a.codec.sampleRate, 16000);
    assert.match(a.sdp, /m=audio 6000 RTP\/AVP 9/);
    assert.match(a.sdp, /a=rtpmap:9 G722\/8000/);
  }
  // A G722/16000 rtpmap is not RFC 3551's G.722: not chosen.
  const wrong = answerOffer(offer('9 0', ['a=rtpmap:9 G722/16000', 'a=rtpmap:0 PCMU/8000']), local);
  assert.ok(wrong.ok && wrong.codec.name === 'PCMU');
  // A G.722-only offer is answered (it was a 488 before G.722 existed).
  const only = answerOffer(offer('9', []), local);
  assert.ok(only.ok && only.codec.name === 'G722');
});

test('a re-INVITE keeps the call\'s codec when the re-offer still has it (preferred)', () => {
  const reoffer = crlf(['v=0', 'o=- 1 2 IN IP4 192.0.2.5', 's=-', 'c=IN IP4 192.0.2.5', 't=0 0', 'm=audio 4000 RTP/AVP 9 0', 'a=rtpmap:9 G722/8000']);
  const kept = answerOffer(reoffer, { address: '192.0.2.1', port: 6000, preferred: ['PCMU'] });
  assert.ok(kept.ok && kept.codec.name === 'PCMU');
});

test('our own offers list G.722, then PCMU, PCMA and telephone-event by default; the answer\'s pick is read back', () => {
  const offer = createOffer({ address: '192.0.2.1', port: 6000 });
  assert.match(offer, /m=audio 6000 RTP\/AVP 9 0 8 101/);
  assert.match(offer, /a=rtpmap:9 G722\/8000/);
  const narrow = createOffer({ address: '192.0.2.1', port: 6000, codecs: ['PCMU'] });
  assert.match(narrow, /m=audio 6000 RTP\/AVP 0 101/);
  assert.not.match(narrow, /G722/);
  const answer = (pts: string, maps: string[]): string => crlf(['v=0', 'o=- 1 1 IN IP4 192.0.2.5', 's=-', 'c=IN IP4 192.0.2.5', 't=0 0', `m=audio 4000 RTP/AVP ${pts}`, ...maps]);
  const wide = readAnswer(answer('9 101', ['a=rtpmap:9 G722/8000', 'a=rtpmap:101 telephone-event/8000']), { address: '192.0.2.1', port: 6000 });
  assert.ok(wide.ok && wide.codec.name === 'G722' && wide.codec.sampleRate === 16000 && wide.telephoneEvent?.payloadType === 101);
  const g711 = readAnswer(answer('8', ['a=rtpmap:8 PCMA/8000']), { address: '192.0.2.1', port: 6000 });
  assert.ok(g711.ok && g711.codec.name === 'PCMA' && g711.codec.sampleRate === 8000);
});

const savpOffer = (crypto: string[], protocol = 'RTP/SAVP'): string => crlf([
  'v=0', 'o=- 1 1 IN IP4 192.0.2.5', 's=-', 'c=IN IP4 192.0.2.5', 't=0 0', `m=audio 4000 ${protocol} 0 101`,
  'a=rtpmap:101 telephone-event/8000', ...crypto,
]);
const KEY_30 = Buffer.alloc(30, 1).toString('base64');
const KEY_44 = Buffer.alloc(44, 2).toString('base64');

test('SDES: an RTP/SAVP offer is answered with our own key when SRTP is allowed; AEAD preferred; keys returned, not reused', () => {
  const offer = savpOffer([`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_30}|2^31`, `a=crypto:2 AEAD_AES_256_GCM inline:${KEY_44}`]);
  const a = answerOffer(offer, { address: '192.0.2.1', port: 6000, srtp: 'allowed' });
  assert.ok(a.ok);
  if (!a.ok) return;
  assert.match(a.sdp, /m=audio 6000 RTP\/SAVP 0 101/);
  const line = /a=crypto:2 AEAD_AES_256_GCM inline:([A-Za-z0-9+/=]+)\r\n/.exec(a.sdp);
  assert.ok(line, 'the answer keeps the chosen line\'s tag and suite');
  assert.is(Buffer.from(line![1]!, 'base64').length, 44);
  assert.equal(a.srtp, { suite: 'AEAD_AES_256_GCM', sendKey: line![1]!, receiveKey: KEY_44 });
  assert.is.not(a.srtp!.sendKey, KEY_44, 'our key is our own');
  const again = answerOffer(offer, { address: '192.0.2.1', port: 6000, srtp: 'allowed' });
  assert.ok(again.ok && again.srtp!.sendKey !== a.srtp!.sendKey, 'a fresh key per answer');
  const cm = answerOffer(savpOffer([`a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:${KEY_30}`]), { address: '192.0.2.1', port: 6000, srtp: 'required' });
  assert.ok(cm.ok && cm.srtp?.suite === 'AES_CM_128_HMAC_SHA1_80' && /a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:/.test(cm.sdp));
});

test('SDES: refusals (SRTP not allowed, required but plain, no usable line), each with its 488 reason', () => {
  const good = savpOffer([`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_30}`]);
  assert.equal(answerOffer(good, { address: '192.0.2.1', port: 6000 }), { ok: false, reason: 'unsupported-transport', status: 488 });
  const plain = savpOffer([], 'RTP/AVP');
  assert.equal(answerOffer(plain, { address: '192.0.2.1', port: 6000, srtp: 'required' }), { ok: false, reason: 'srtp-required', status: 488 });
  assert.ok(answerOffer(plain, { address: '192.0.2.1', port: 6000, srtp: 'allowed' }).ok, 'allowed is not required');
  for (const bad of [
    [],
    [`a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:${KEY_30}`], // a suite we do not offer
    [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_44}`], // wrong key length
    [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_30}|2^20`], // a lifetime shorter than a call may need
    [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_30}|2^31|1:4`], // an MKI
    [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_30} UNENCRYPTED_SRTP`], // session parameters
  ]) {
    assert.equal(answerOffer(savpOffer(bad), { address: '192.0.2.1', port: 6000, srtp: 'allowed' }), { ok: false, reason: 'no-usable-crypto', status: 488 }, bad.join());
  }
});

test.run();
