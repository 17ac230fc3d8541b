import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  digitOfEvent, DtmfReceiver, dtmfPacketSequence, eventOfDigit, parseTelephoneEvent,
} from '../../../media/rtp/dtmf.ts';

test('digit <-> event codes', () => {
  assert.is(eventOfDigit('5'), 5);
  assert.is(eventOfDigit('*'), 10);
  assert.is(eventOfDigit('#'), 11);
  assert.is(eventOfDigit('d'), 15);
  assert.is(eventOfDigit('x'), undefined);
  assert.is(eventOfDigit('12'), undefined);
  assert.is(digitOfEvent(11), '#');
  assert.is(digitOfEvent(16), undefined);
});

test('parses a telephone-event payload', () => {
  assert.equal(parseTelephoneEvent(Uint8Array.from([9, 0x8a, 0x03, 0x20])), { event: 9, end: true, volume: 10, duration: 800 });
  assert.is(parseTelephoneEvent(Uint8Array.from([9, 0])), undefined);
});

test('the sent sequence: marker first, growing durations, three identical ends', () => {
  const plan = dtmfPacketSequence('#', { durationMs: 100 });
  const events = plan.map((p) => parseTelephoneEvent(p.payload)!);
  assert.is(plan[0]!.marker, true);
  assert.ok(plan.slice(1).every((p) => !p.marker));
  assert.equal(events.map((e) => e.duration), [160, 320, 480, 640, 800, 800, 800]);
  assert.equal(events.map((e) => e.end), [false, false, false, false, true, true, true]);
  assert.ok(events.every((e) => e.event === 11 && e.volume === 10));
  assert.throws(() => dtmfPacketSequence('Z'), RangeError);
});

test('receiver reports each digit once despite the three end packets', () => {
  const rx = new DtmfReceiver();
  const got: string[] = [];
  let ts = 1000;
  for (const digit of ['1', '2', '2', '#']) {
    for (const p of dtmfPacketSequence(digit, { durationMs: 120 })) {
      for (const d of rx.push(ts, p.payload)) {
        got.push(d.digit);
        assert.is(d.durationMs, 120);
        assert.is(d.timestamp, ts);
      }
    }
    ts += 2000;
  }
  assert.equal(got, ['1', '2', '2', '#']);
});

test('lost end packets: the next event (or flush) completes the digit', () => {
  const rx = new DtmfReceiver();
  const noEnd = dtmfPacketSequence('7').filter((p) => !parseTelephoneEvent(p.payload)!.end);
  for (const p of noEnd) assert.equal(rx.push(500, p.payload), []);
  assert.ok(rx.inEvent);
  const next = dtmfPacketSequence('8');
  const first = rx.push(3000, next[0]!.payload);
  assert.equal(first.map((d) => d.digit), ['7']);
  for (const p of noEnd) rx.push(500, p.payload); // stragglers of the old event: ignored
  assert.equal(rx.flush().map((d) => d.digit), ['8']);
  assert.equal(rx.flush(), []);
});

test.run();
