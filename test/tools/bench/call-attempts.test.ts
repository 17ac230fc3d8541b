/**
 * The bench-webrtc callers' attempts (tools/bench/call-attempts.ts), on fake
 * peers whose gathering, opening and failing the test controls: one failure
 * reported twice starts a call over once, stale answers and reports are
 * ignored, and a call out of attempts gives up with a reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAttempts, type AttemptPeer } from '../../../tools/bench/call-attempts.ts';
import { waitFor } from '../../support/poll.ts';

interface Deferred { promise: Promise<void>; resolve: () => void }
const deferred = (): Deferred => { let resolve!: () => void; const promise = new Promise<void>((r) => { resolve = r; }); return { promise, resolve }; };

class FakePeer implements AttemptPeer {
  private readonly open = deferred();
  private readonly failure = deferred();
  readonly opened = this.open.promise;
  readonly failed = this.failure.promise;
  closed = false;
  constructor(readonly id: number) {}
  fail(): void { this.failure.resolve(); }
  connect(): void { this.open.resolve(); }
  close(): void { this.closed = true; }
}

/** CallAttempts over fake peers whose offers are gathered only when the test says so. */
function harness(maxAttempts = 3) {
  const made: FakePeer[] = [];
  const gathering: Array<() => void> = [];
  const offers: Array<{ index: number; attempt: number; offer: string }> = [];
  const restarts: string[] = [];
  const givenUp: unknown[] = [];
  const attempts = new CallAttempts<FakePeer>({
    maxAttempts,
    newPeer: () => new Promise((resolve) => {
      const peer = new FakePeer(made.length + 1);
      made.push(peer);
      gathering.push(() => resolve({ peer, offer: `offer of peer ${peer.id}` }));
    }),
    sendOffer: (index, attempt, offer) => offers.push({ index, attempt, offer }),
    restarting: (index, attempt, reason) => restarts.push(`call ${index} attempt ${attempt}: ${reason}`),
    giveUp: (error) => givenUp.push(error),
  });
  /** Lets every peer made so far finish gathering, then waits until `n` offers went out. */
  const gatherAll = async (n: number): Promise<void> => {
    while (gathering.length) gathering.shift()!();
    await waitFor(`${n} offer(s)`, () => offers.length >= n);
  };
  return { attempts, made, offers, restarts, givenUp, gatherAll };
}

test('one failed attempt reported twice (answer refused, then the peer failed) starts the call over once', async () => {
  const h = harness();
  const first = h.attempts.dial(0);
  await h.gatherAll(1);
  await first;
  assert.equal(h.offers, [{ index: 0, attempt: 1, offer: 'offer of peer 1' }]);
  // The answer is refused: attempt 2 begins, and its peer is still gathering when attempt 1's peer reports its failure.
  const restarted = h.attempts.failed(0, 1, 'answer refused');
  h.made[0]!.fail();
  await new Promise((r) => setImmediate(r)); // the failure report's handler has run (it is a then of the failed promise)
  await h.gatherAll(2);
  await restarted;
  assert.is(h.made.length, 2, `peers made: ${h.made.length} (one fresh peer for one failure)`);
  assert.equal(h.offers.map((o) => o.attempt), [1, 2], 'each attempt sends one offer, numbered in order');
  assert.equal(h.restarts, ['call 0 attempt 2: answer refused']);
  assert.ok(h.made[0]!.closed, 'the failed peer is closed');
  assert.not.ok(h.made[1]!.closed);
  assert.equal(h.givenUp, []);
});

test('an answer to a replaced attempt finds no peer; the current one does', async () => {
  const h = harness();
  const first = h.attempts.dial(0);
  await h.gatherAll(1);
  await first;
  const again = h.attempts.failed(0, 1, 'refused');
  await h.gatherAll(2);
  await again;
  assert.is(h.attempts.current(0, 1), undefined, 'attempt 1 is stale');
  assert.is(h.attempts.current(0, 2), h.made[1]);
  // A late report about attempt 1 changes nothing.
  await h.attempts.failed(0, 1, 'late report');
  assert.is(h.made.length, 2);
  assert.is(h.attempts.current(0, 2), h.made[1]);
});

test('an attempt replaced while its peer gathered closes that peer and never sends its offer', async () => {
  const h = harness();
  const first = h.attempts.dial(0);
  const second = h.attempts.dial(0);
  await h.gatherAll(1);
  await Promise.all([first, second]);
  assert.equal(h.offers, [{ index: 0, attempt: 2, offer: 'offer of peer 2' }]);
  assert.ok(h.made[0]!.closed);
  assert.is(h.attempts.current(0, 1), undefined);
  assert.equal(h.attempts.peers(), [h.made[1]!]);
});

test('a peer that fails after media opened does not start its call over', async () => {
  const h = harness();
  const first = h.attempts.dial(0);
  await h.gatherAll(1);
  await first;
  h.made[0]!.connect();
  await h.made[0]!.opened;
  h.made[0]!.fail();
  await h.made[0]!.failed;
  await new Promise((r) => setImmediate(r));
  assert.is(h.made.length, 1);
  assert.equal(h.restarts, []);
});

test('a call out of attempts gives up with the reason, whichever way its last failure is reported', async () => {
  const h = harness(2);
  const first = h.attempts.dial(0);
  await h.gatherAll(1);
  await first;
  const again = h.attempts.failed(0, 1, 'refused');
  await h.gatherAll(2);
  await again;
  // The last attempt's answer refused: the caller is told.
  try {
    await h.attempts.failed(0, 2, 'refused again');
    assert.unreachable('a call out of attempts must not start over');
  } catch (error) {
    assert.match(String(error), /call 0 failed to connect 2 times \(the last: refused again\)/);
  }
  // Its peer's own failure report goes to giveUp.
  h.made[1]!.fail();
  await waitFor('giving up', () => h.givenUp.length === 1);
  assert.match(String(h.givenUp[0]), /call 0 failed to connect 2 times \(the last: its connection failed\)/);
  assert.is(h.made.length, 2, 'no third peer');
});

test('calls are independent: one starting over leaves the other\'s attempt alone', async () => {
  const h = harness();
  const dials = [h.attempts.dial(0), h.attempts.dial(1)];
  await h.gatherAll(2);
  await Promise.all(dials);
  const again = h.attempts.failed(1, 1, 'refused');
  await h.gatherAll(3);
  await again;
  assert.is(h.attempts.current(0, 1), h.made[0]);
  assert.is(h.attempts.current(1, 2), h.made[2]);
  assert.equal(h.offers.map((o) => `${o.index}:${o.attempt}`), ['0:1', '1:1', '1:2']);
});

test.run();
