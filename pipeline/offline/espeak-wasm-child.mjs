/**
 * The child process that runs eSpeak NG compiled to JavaScript/WebAssembly
 * (@echogarden/espeak-ng-emscripten, GPL-3.0): forked by espeak-wasm-tts.ts,
 * spoken to over the IPC channel. The GPL engine never loads into the
 * server's own process, and its synchronous synthesis (about 40-60 ms of CPU
 * per second of speech) never blocks the server's event loop.
 *
 * Plain JavaScript (no loader needed). Messages in:
 *   { type: 'synthesize', id, text, voice, wordsPerMinute }   { type: 'cancel', id }
 * Messages out:
 *   { type: 'ready', sampleRate }   { type: 'audio', id, pcm: Int16Array }
 *   { type: 'done', id }            { type: 'error', id?, message }
 * Requests are served one at a time in arrival order; a request cancelled
 * before its turn is dropped. Nothing here logs text or audio.
 */
import EspeakInitializer from '@echogarden/espeak-ng-emscripten';

const VOICE_PATTERN = /^[A-Za-z0-9+_-]{1,64}$/;

const send = (message) => {
  if (process.connected) process.send(message);
};

let engine;
let voiceSet = '';
let rateSet = 0;
const queue = [];
const cancelled = new Set();
let busy = false;

function synthesizeOne({ id, text, voice, wordsPerMinute }) {
  if (!VOICE_PATTERN.test(voice)) throw new Error('invalid voice name');
  if (voice !== voiceSet) {
    // By voice name (en-us), else by language (en-gb), as the espeak-ng program's -v does; 0 is EE_OK.
    if (engine.set_voice(voice) !== 0 && engine.set_voice('', voice) !== 0) throw new Error(`unknown voice ${voice}`);
    voiceSet = voice;
  }
  if (wordsPerMinute !== rateSet) {
    engine.set_rate(wordsPerMinute);
    rateSet = wordsPerMinute;
  }
  // The callback gets each ~100 ms chunk as PCM16 at the engine's rate; returning true would stop synthesis.
  engine.synthesize(text, (pcm) => {
    if (pcm.length > 0) send({ type: 'audio', id, pcm });
    return false;
  });
}

function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const request = queue.shift();
    if (cancelled.delete(request.id)) continue;
    try {
      synthesizeOne(request);
      send({ type: 'done', id: request.id });
    } catch (error) {
      send({ type: 'error', id: request.id, message: error instanceof Error ? error.message : 'synthesis failed' });
    }
  }
  cancelled.clear();
  busy = false;
}

process.on('message', (message) => {
  if (message?.type === 'synthesize') {
    queue.push(message);
    // Let further messages (cancels) arrive before the queue is worked through.
    setImmediate(drain);
  } else if (message?.type === 'cancel') {
    if (queue.some((r) => r.id === message.id)) cancelled.add(message.id);
  }
});
// The server went away: nothing left to do.
process.on('disconnect', () => process.exit(0));

try {
  engine = new (await EspeakInitializer({ print() {}, printErr() {} })).eSpeakNGWorker();
  // A first synthesis compiles the hot paths; without it the first call's greeting would wait ~1.5 s.
  engine.set_voice('en-us');
  voiceSet = 'en-us';
  engine.synthesize('Hello.', () => false);
  send({ type: 'ready', sampleRate: engine.get_samplerate() });
} catch (error) {
  send({ type: 'error', message: `could not load eSpeak NG: ${error instanceof Error ? error.message : String(error)}` });
  process.exit(1);
}
