/**
 * The media thread's side (entry module of the worker that media-thread.ts
 * starts): ordinary RtpSessions on this thread's own shared 20 ms pacer, with
 * the sockets and the port allocators living here. See media-thread.ts for
 * the design and media-protocol.ts for the wire.
 *
 * Per pacer tick everything the sessions produced (caller audio frames, the
 * agent frames that left for sessions whose owner asked for them, DTMF,
 * talkspurt starts, inactivity, errors) plus one state row per session (queue
 * size, samples taken, clears applied, counters) goes to the main thread in
 * ONE message, flushed in a microtask after the pacer's handlers have run (so
 * a catch-up run of several ticks is one message too). Events between ticks
 * (a DTMF digit arriving) wait for the next tick's message. Times are put on
 * the main thread's clock here: t + (our timeOrigin - main's timeOrigin).
 *
 * A session's failure stays that session's: commands, socket handlers and
 * pacer ticks are each guarded, and an error becomes an 'error' event.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { getPriority, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { RtpSession } from './session.ts';
import { sharedPacer } from './pacer.ts';
import { ephemeralPorts, PortAllocator } from './port-allocator.ts';
import type { PortRange } from './port-allocator.ts';
import {
  AUDIO_INDEX_STRIDE, LEG_CALLER, LEG_SENT, MEDIA_WORKER_MARK, OP_CLEAR, OP_CTL, OP_SEND, OP_STRIDE, ST_CLEAR_ACK, ST_ID, ST_LAST_CLEARED_MS,
  ST_LAST_PACKET_AT, ST_LATCHED, ST_QUEUED, ST_RECEIVED, ST_STATS, STATE_STRIDE, toWireError,
} from './media-protocol.ts';
import type { BatchMessage, Control, FromWorker, ThreadedRtpSessionOptions, WireEvent, WorkerStartData } from './media-protocol.ts';

interface Entry {
  id: number;
  session: RtpSession;
  /** Samples taken from OP_SENDs. */
  received: number;
  clearAck: number;
  lastClearedMs: number;
  closing: boolean;
}

/** Sets this thread's nice value (Linux: pid 0 is the calling thread); returns what happened, for the owner's log. */
function applyNiceness(niceness: number | undefined): string {
  if (niceness === undefined) return '';
  try {
    setPriority(niceness);
    return `media thread priority set to nice ${getPriority()}`;
  } catch (err) {
    return `media thread priority left at nice ${getPriority()} (could not set ${niceness}: ${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
}

function runMediaWorker(port: MessagePort, start: WorkerStartData): void {
  const priorityNote = applyNiceness(start.niceness);
  /** Add to this thread's performance.now() to get the main thread's. */
  const toMain = performance.timeOrigin - start.mainTimeOrigin;
  const pacer = sharedPacer();
  const entries = new Map<number, Entry>();
  const allocators = new Map<string, PortAllocator>();

  // What the current tick produced (reused; emptied by each flush).
  const frameIds: number[] = [];
  const frameTimes: number[] = [];
  const frameLegs: number[] = [];
  const framePcm: Int16Array[] = [];
  let events: WireEvent[] = [];
  let flushScheduled = false;
  let removeFlushTick: (() => void) | undefined;

  const post = (msg: FromWorker, transfer?: ArrayBuffer[]): void => {
    if (transfer) port.postMessage(msg, transfer);
    else port.postMessage(msg);
  };

  const writeState = (e: Entry, out: Float64Array, o: number): void => {
    const s = e.session;
    out[o + ST_ID] = e.id;
    out[o + ST_RECEIVED] = e.received;
    out[o + ST_QUEUED] = s.queuedSamples;
    out[o + ST_CLEAR_ACK] = e.clearAck;
    out[o + ST_LAST_PACKET_AT] = s.lastPacketAt + toMain;
    out[o + ST_LATCHED] = s.isLatched ? 1 : 0;
    out[o + ST_LAST_CLEARED_MS] = e.lastClearedMs;
    s.statsInto(out, o + ST_STATS);
  };

  const stateRow = (e: Entry): Float64Array => {
    const row = new Float64Array(STATE_STRIDE);
    writeState(e, row, 0);
    return row;
  };

  const flush = (): void => {
    flushScheduled = false;
    const sessions = entries.size;
    const frames = framePcm.length;
    if (sessions === 0 && frames === 0 && events.length === 0) return;
    const f64Length = sessions * STATE_STRIDE + frames * AUDIO_INDEX_STRIDE;
    let samples = 0;
    for (let k = 0; k < frames; k++) samples += framePcm[k]!.length;
    const buf = new ArrayBuffer(f64Length * 8 + samples * 2);
    const f64 = new Float64Array(buf, 0, f64Length);
    let o = 0;
    for (const e of entries.values()) {
      writeState(e, f64, o);
      o += STATE_STRIDE;
    }
    const pcm = new Int16Array(buf, f64Length * 8, samples);
    let at = 0;
    for (let k = 0; k < frames; k++) {
      const frame = framePcm[k]!;
      f64[o++] = frameIds[k]!;
      f64[o++] = frameTimes[k]!;
      f64[o++] = frameLegs[k]!;
      f64[o++] = frame.length;
      pcm.set(frame, at);
      at += frame.length;
    }
    const tickEvents = events.length > 0 ? events : null;
    if (tickEvents) events = [];
    frameIds.length = 0;
    frameTimes.length = 0;
    frameLegs.length = 0;
    framePcm.length = 0;
    post({ t: 'tick', buf, sessions, frames, events: tickEvents }, [buf]);
  };

  const onPacerTick = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    queueMicrotask(flush);
  };

  const allocatorFor = (range: PortRange | undefined): PortAllocator => {
    if (!range) return ephemeralPorts();
    const key = `${range.minPort}-${range.maxPort}`;
    let a = allocators.get(key);
    if (!a) {
      a = new PortAllocator(range);
      allocators.set(key, a);
    }
    return a;
  };

  const listen = (id: number, s: RtpSession): void => {
    s.on('audio', (f) => {
      frameIds.push(id);
      frameTimes.push(f.timeMs + toMain);
      frameLegs.push(LEG_CALLER);
      framePcm.push(f.pcm);
    });
    s.on('dtmf', (d) => {
      events.push({ id, at: framePcm.length, e: 'dtmf', digit: d.digit, durationMs: d.durationMs, timeMs: d.timeMs + toMain });
    });
    s.on('talkspurt', (t) => events.push({ id, at: framePcm.length, e: 'talkspurt', timeMs: t.timeMs + toMain }));
    s.on('inactive', (i) => events.push({ id, at: framePcm.length, e: 'inactive', idleMs: i.idleMs }));
    s.on('latched', (l) => events.push({ id, at: framePcm.length, e: 'latched', address: l.address, port: l.port }));
    s.on('rtcp', (packets) => events.push({ id, at: framePcm.length, e: 'rtcp', packets }));
    s.on('bye', (b) => {
      const ev: WireEvent = { id, at: framePcm.length, e: 'bye' };
      if (b.reason !== undefined) ev.reason = b.reason;
      events.push(ev);
    });
    s.on('error', (err) => events.push({ id, at: framePcm.length, e: 'error', error: toWireError(err) }));
  };

  const open = (id: number, req: number, options: ThreadedRtpSessionOptions): void => {
    const { portRange, ...rest } = options;
    let ports: PortAllocator;
    try {
      ports = allocatorFor(portRange);
    } catch (err) {
      post({ t: 'open-failed', req, id, error: toWireError(err) });
      return;
    }
    RtpSession.open({ ...rest, ports }).then((session) => {
      const e: Entry = { id, session, received: 0, clearAck: 0, lastClearedMs: 0, closing: false };
      listen(id, session);
      if (entries.size === 0) removeFlushTick = pacer.add(onPacerTick);
      entries.set(id, e);
      post({ t: 'opened', req, id, localPort: session.localPort, localAddress: session.localAddress, ssrc: session.ssrc, state: stateRow(e) });
    }, (err: unknown) => post({ t: 'open-failed', req, id, error: toWireError(err) }));
  };

  const close = (id: number, req: number, reason: string | undefined): void => {
    const e = entries.get(id);
    if (!e || e.closing) {
      post({ t: 'closed', req, id, state: null });
      return;
    }
    e.closing = true;
    e.session.close(reason).catch(() => undefined).then(() => {
      entries.delete(id);
      if (entries.size === 0) {
        removeFlushTick?.();
        removeFlushTick = undefined;
      }
      const state = stateRow(e);
      e.session.removeAllListeners();
      post({ t: 'closed', req, id, state });
    }, () => undefined);
  };

  const control = (id: number, c: Control): void => {
    if (c.c === 'open') return open(id, c.req, c.options);
    if (c.c === 'close') return close(id, c.req, c.reason);
    if (c.c === 'crash') {
      setTimeout(() => {
        throw new Error('media thread crash requested');
      }, 0);
      return;
    }
    if (c.c === 'hang') {
      const until = performance.now() + c.ms;
      while (performance.now() < until) { /* stuck, as a bug might be */ }
      return;
    }
    const e = entries.get(id);
    if (!e || e.closing) return;
    const s = e.session;
    switch (c.c) {
      case 'dtmf': s.sendDtmf(c.digit, c.ms); break;
      case 'codec': s.setCodec(c.codec, c.te, c.cn, c.adoptRate ? { adoptRate: true } : {}); break;
      case 'remote': s.setRemote(c.remote); break;
      case 'direction': s.setDirection({ send: c.send, receive: c.receive }); break;
      case 'report-sent':
        if (s.listenerCount('sent') === 0) {
          s.on('sent', (f) => {
            frameIds.push(id);
            frameTimes.push(f.timeMs + toMain);
            frameLegs.push(LEG_SENT);
            framePcm.push(f.pcm);
          });
        }
        break;
    }
  };

  const applyBatch = (msg: BatchMessage): void => {
    const { ops, pcm, ctl } = msg;
    for (let i = 0; i + OP_STRIDE <= ops.length; i += OP_STRIDE) {
      const op = ops[i]!;
      const id = ops[i + 1]!;
      const a = ops[i + 2]!;
      const b = ops[i + 3]!;
      try {
        if (op === OP_CTL) {
          const c = ctl[a];
          if (c) control(id, c);
          continue;
        }
        const e = entries.get(id);
        if (!e || e.closing) continue;
        if (op === OP_SEND) {
          if (pcm) e.session.sendFrame(pcm.subarray(a, a + b));
          e.received += b;
        } else if (op === OP_CLEAR) {
          e.lastClearedMs = e.session.clearOutgoing();
          e.clearAck = a;
        }
      } catch (err) {
        // One session's bad command must not stop the others'.
        events.push({ id, at: framePcm.length, e: 'error', error: toWireError(err) });
      }
    }
  };

  port.on('message', (msg: BatchMessage) => {
    if (msg && msg.t === 'batch') applyBatch(msg);
  });
  post({ t: 'ready', priorityNote });
}

if (!isMainThread && parentPort && (workerData as { mark?: string } | null)?.mark === MEDIA_WORKER_MARK) {
  runMediaWorker(parentPort, workerData as WorkerStartData);
}
