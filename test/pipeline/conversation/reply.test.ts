/** A reply's life: one state machine, one cancel(reason) whatever stops it, and a speculative reply that leaves no trace. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Reply, type ReplyStage } from '../../../pipeline/conversation/reply.ts';
import type { ChatMessage } from '../../../pipeline/providers/types.ts';

interface FakeStage extends ReplyStage {
  history: ChatMessage[];
  queued: number;
  submitted: number;
  stops: number;
  settledAt: number[];
}

function stage(): FakeStage {
  const s: FakeStage = {
    history: [{ role: 'user', content: 'hello' }],
    queued: 0,
    submitted: 0,
    stops: 0,
    settledAt: [],
    stopAudio: () => {
      s.stops += 1;
      const dropped = s.queued;
      s.submitted -= dropped;
      s.queued = 0;
      return dropped;
    },
    queuedMs: () => s.queued,
    playedMs: (queued) => Math.max(0, s.submitted - queued),
    settled: (_reply, atMs) => void s.settledAt.push(atMs),
  };
  return s;
}

/** Two spoken sentences of 1000 ms each on the agent timeline. */
function speak(reply: Reply, s: FakeStage): void {
  reply.addMessage({ role: 'assistant', content: 'One two three four. Five six seven eight.' });
  reply.spans.push({ text: 'One two three four.', startMs: 0, endMs: 1000 }, { text: 'Five six seven eight.', startMs: 1000, endMs: 2000 });
  s.submitted = 2000;
}

test('generating -> draining -> settled: played out, the reply settles once with its history intact', () => {
  const s = stage();
  const reply = new Reply('answer', s);
  assert.is(reply.state, 'generating');
  speak(reply, s);
  reply.doneGenerating(10);
  assert.is(reply.state, 'draining');
  assert.ok(reply.active);
  reply.drained(20);
  reply.drained(30);
  assert.is(reply.state, 'settled');
  assert.equal(s.settledAt, [20]);
  assert.is(reply.interrupted, false);
  assert.is(s.history.at(-1)!.content, 'One two three four. Five six seven eight.');
  assert.is(reply.cancel('barge_in', 40), undefined, 'a settled reply cannot be cancelled');
});

test("cancel('barge_in'): audio cleared, history keeps what was heard, the planned hang-up is called off", () => {
  const s = stage();
  const reply = new Reply('answer', s);
  speak(reply, s);
  reply.addMessage({ role: 'tool', content: 'ok: the call ends after your last words', toolCallId: 't1' });
  reply.after = { kind: 'hangup', reason: 'agent_end_call' };
  s.queued = 1500; // 500 ms heard: half of the first sentence
  let announced: { droppedMs: number; heardMs: number } | undefined;
  const cut = reply.cancel('barge_in', 50, (c) => {
    announced = c;
    assert.equal(s.settledAt, [], 'announced before the reply settles');
  });
  assert.equal(cut, { droppedMs: 1500, heardMs: 500 });
  assert.equal(announced, cut);
  assert.is(s.stops, 1);
  assert.ok(reply.signal.aborted, 'LLM and TTS are aborted');
  assert.ok(reply.interrupted);
  assert.is(reply.after, undefined);
  assert.is(s.history.find((m) => m.role === 'assistant')!.content, 'One two...');
  assert.is(s.history.find((m) => m.role === 'tool')!.content, 'cancelled: the caller spoke before it happened');
  assert.equal(s.settledAt, [50]);
  assert.is(reply.cancel('failure', 60), undefined, 'one cancel only');
  assert.is(s.stops, 1);
});

test("cancel('call_end') leaves the audio alone; a reply already played out is not marked interrupted", () => {
  const s = stage();
  const reply = new Reply('answer', s);
  speak(reply, s);
  reply.doneGenerating(10);
  reply.cancel('call_end', 20);
  assert.is(s.stops, 0, 'the transport is going away: nothing to clear');
  assert.is(reply.interrupted, false);
  assert.is(s.history.at(-1)!.content, 'One two three four. Five six seven eight.');

  const s2 = stage();
  const cut = new Reply('answer', s2);
  speak(cut, s2);
  s2.queued = 1000; // the second sentence was still queued when the call ended
  cut.cancel('call_end', 20);
  assert.is(s2.stops, 0);
  assert.ok(cut.interrupted);
  assert.is(s2.history.at(-1)!.content, 'One two three four.');
});

test('a speculative reply keeps its messages and audio to itself until commit()', async () => {
  const s = stage();
  const reply = new Reply('answer', s, undefined, true);
  assert.is(reply.state, 'speculative');
  assert.ok(reply.generating);
  reply.addMessage({ role: 'assistant', content: 'Sure.' });
  const span = { text: 'Sure.', startMs: 0, endMs: 0 };
  reply.hold(span, new Int16Array([1, 2, 3]));
  assert.is(s.history.length, 1, 'nothing in the history yet');
  reply.doneGenerating(5);
  assert.is(reply.state, 'speculative', 'done thinking, still not live');
  const live = reply.whenLive();
  const held = reply.commit();
  assert.is(await live, true);
  assert.is(held.length, 1);
  assert.is(held[0]!.span, span);
  assert.is(reply.state, 'draining', 'generation had finished: straight to draining');
  assert.is(s.history.at(-1)!.content, 'Sure.');
  assert.equal(reply.commit(), [], 'commit once');
});

test("a speculative reply cancelled ('resumed') disappears: no audio stop, no history, no settle, never live", async () => {
  const s = stage();
  const reply = new Reply('answer', s, undefined, true);
  reply.addMessage({ role: 'assistant', content: 'Sure.' });
  reply.hold({ text: 'Sure.', startMs: 0, endMs: 0 }, new Int16Array([1, 2, 3]));
  const cut = reply.cancel('resumed', 10);
  assert.equal(cut, { droppedMs: 0, heardMs: 0 });
  assert.is(await reply.whenLive(), false);
  assert.ok(reply.signal.aborted);
  assert.is(reply.state, 'settled');
  assert.is(s.stops, 0);
  assert.equal(s.settledAt, [], 'no agent turn for words never said');
  assert.equal(s.history, [{ role: 'user', content: 'hello' }]);
  assert.equal(reply.commit(), [], 'a cancelled speculation cannot be committed');
  assert.is(reply.state, 'settled');
});

test.run();
