import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as rtp from '../../../media/rtp/index.ts';
import * as sdp from '../../../media/sdp/index.ts';
import * as codecs from '../../../media/audio/index.ts';

test('the public faces load and expose their main pieces', () => {
  for (const name of ['RtpSession', 'PortAllocator', 'Pacer', 'sharedPacer', 'JitterBuffer', 'DtmfReceiver', 'parseRtp', 'parseRtcp', 'ReceptionStats']) {
    assert.ok(name in rtp, name);
  }
  for (const name of ['answerOffer', 'createOffer', 'readAnswer', 'readRemoteAudio']) assert.ok(name in sdp, name);
  for (const name of ['encodeMulaw', 'decodeAlaw', 'Resampler', 'parseWav']) assert.ok(name in codecs, name);
  // an offer we build is one we can answer
  const offer = sdp.createOffer({ address: '127.0.0.1', port: 4000 });
  const answer = sdp.answerOffer(offer, { address: '127.0.0.1', port: 5000 });
  assert.ok(answer.ok && answer.codec.name === 'G722' && answer.telephoneEvent?.payloadType === 101);
});

test.run();
