/**
 * The first run on a fresh machine (issue 19): `smartalex serve` as `npm
 * start` runs it, in its own process, with none of the optional Debian
 * programs (PATH holds only `node`: no espeak-ng, no pocketsphinx) and no
 * provider keys. The start-up report says what to install for speech
 * recognition; a call to the demo number 1000 hears the AI disclosure and the
 * keypad menu spoken by the WebAssembly eSpeak NG; keypad 1 is answered with
 * the opening hours and keypad 3 ends the call. The stored transcript shows
 * each of these.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { openConfiguredDatabase } from '../../src/database-setup.ts';
import { AI_DISCLOSURE } from '../../pipeline/conversation/index.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { keypadMenuText } from '../../pipeline/offline/index.ts';
import { listCalls, listTenantIds, listTranscript } from '../../storage/index.ts';
import { ownCall, type OwnCall } from './support/uac.ts';
import { receivedRms } from './support/energy.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const VOICED = 300;
/** Only bounds a start that hangs (as test/e2e/support/server-process.ts and the CLI's live-server test do). */
const START_WITHIN_MS = 180_000;

/** The server as a user starts it, with a PATH that hides every program but node. */
function startFreshServer(dir: string): { child: ChildProcess; output: () => string } {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const rtpBase = 20000 + 2 * Math.floor(Math.random() * 10000);
  const env: NodeJS.ProcessEnv = {
    HOME: dir, PATH: bin,
    SMARTALEX_DATA_DIR: join(dir, 'data'), SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_HTTP_PORT: '0',
    SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_SIP_PORT: '0',
    SMARTALEX_RTP_PORT_MIN: String(rtpBase), SMARTALEX_RTP_PORT_MAX: String(rtpBase + 39), SMARTALEX_LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, [join(root, 'bin/smartalex.js'), 'serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, output: () => out };
}

const voicedAfter = (call: OwnCall, at: number): number => receivedRms(call.received).filter((p) => p.at > at && p.rms > VOICED).length;
const lastVoicedAt = (call: OwnCall): number => receivedRms(call.received).filter((p) => p.rms > VOICED).at(-1)?.at ?? 0;

/** Sends silence in real time (RTP keeps flowing) until the agent has spoken after `since` and then been quiet for `quietMs`. */
async function untilAgentFinished(call: OwnCall, since: number, quietMs: number, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  const piece = new Int16Array(1600);
  while (performance.now() < deadline && call.dialog.state !== 'terminated') {
    if (voicedAfter(call, since) > 10 && performance.now() - lastVoicedAt(call) > quietMs) return;
    await call.sendPcm(piece);
  }
  throw new Error(`the agent did not finish speaking in time (voiced frames since: ${voicedAfter(call, since)})`);
}

test('fresh machine, no Debian speech programs: the demo number speaks the disclosure and keypad menu and answers keypad choices', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-first-run-'));
  const { child, output } = startFreshServer(dir);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let call: OwnCall | undefined;
  try {
    // A first start creates the embedded database: on a loaded 2-core machine that alone took over a minute.
    const started = await waitForValue('the server to start', () => {
      if (child.exitCode !== null) throw new Error(`server exited early:\n${output()}`);
      const line = output().split('\n').find((l) => l.includes('smartalex media server started'));
      return line ? (JSON.parse(line) as { sipPorts: { udp: number } }) : undefined;
    }, { timeoutMs: START_WITHIN_MS }).catch((error: unknown) => {
      if (child.exitCode !== null) throw error; // its output is in the message already
      throw new Error(`${error instanceof Error ? error.message : String(error)}; it printed:\n${output().slice(-4000)}`);
    });
    const report = output();
    assert.match(report, /call it {2}sip:1000@127\.0\.0\.1:/);
    assert.match(report, /offline TTS eSpeak NG \(WebAssembly, npm\): available/);
    assert.match(report, /offline TTS espeak-ng \(program\): unavailable/);
    assert.match(report, /run: sudo apt-get install pocketsphinx pocketsphinx-en-us/);
    assert.match(report, /agent "demo": STT none, LLM scripted, TTS espeak-wasm/);

    call = await ownCall(started.sipPorts.udp, { number: '1000' });
    const t0 = performance.now();
    await untilAgentFinished(call, t0, 1500, 60_000); // disclosure, greeting, "can't understand speech", the menu
    const greetingVoiced = voicedAfter(call, t0);
    assert.ok(greetingVoiced > 200, `the greeting is several seconds of speech (${greetingVoiced} voiced frames)`);

    const t1 = performance.now();
    await call.sendDigits('1#');
    await untilAgentFinished(call, t1, 1500, 60_000);
    assert.ok(voicedAfter(call, t1) > 50, 'the keypad choice was answered aloud');

    await call.sendDigits('3#');
    await waitFor('the agent to hang up', () => call!.dialog.state === 'terminated', { timeoutMs: 30_000 }); // the farewell, then the agent hangs up
  } finally {
    await call?.close();
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
  try {
    const db = await openConfiguredDatabase(loadConfig({ SMARTALEX_DATA_DIR: join(dir, 'data'), SMARTALEX_DEMO: 'false' }));
    try {
      const [tenantId] = await listTenantIds(db);
      const [row] = await listCalls(db, tenantId!);
      const turns = (await listTranscript(db, tenantId!, row!.id)).map((t) => `${t.speaker}: ${t.redactedText}`);
      const menu = keypadMenuText();
      assert.ok(turns[0]!.startsWith(`agent: ${AI_DISCLOSURE}`), turns.join('\n'));
      assert.ok(turns[0]!.includes("can't understand speech") && turns[0]!.endsWith(menu), turns.join('\n'));
      assert.equal(turns.slice(1), [
        'caller: [keypad] 1#',
        `agent: We are open from noon until ten in the evening, every day. ${menu}`,
        'caller: [keypad] 3#',
        'agent: Thank you for calling. Goodbye!',
      ]);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
