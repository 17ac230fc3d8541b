/**
 * How calls end and what the tools do, against the simulators through the
 * real adapters: end_call, transfer_call (only to the configured target),
 * send_dtmf, an LLM or TTS failure (apology, failure event, clean hang-up),
 * the caller hanging up mid-sentence, silence reprompts and the duration limit.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { APOLOGY, FallbackVoice, REPROMPT, SHUTDOWN_GOODBYE } from '../../../pipeline/conversation/index.ts';
import { assistantTexts, patternTts, startHarness } from './helpers.ts';

test('end_call: the agent says goodbye, the audio plays out, then it hangs up', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    sims: {
      deepgramLive: { transcripts: ['thank you goodbye'] },
      openai: { replies: [{ text: 'Goodbye, have a nice day!', toolCalls: [{ name: 'end_call', arguments: { reason: 'caller_done' } }] }] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('yes-please-8k.wav');
    const end = await h.running;
    assert.equal(end.reason, 'agent_end_call');
    assert.equal(h.transport.hangups, ['agent_end_call']);
    assert.equal(h.transport.hangupQueuedMs, [0], 'goodbye played out before the hang-up');
    assert.equal(h.tts.calls.at(-1)?.text, 'Goodbye, have a nice day!');
    const tools = h.sims.openai.stats.lastChatRequest?.tools?.map((t) => t.function.name);
    assert.equal(tools, ['end_call', 'send_dtmf'], 'no transfer tool without a transfer target');
  } finally {
    await h.close();
  }
});

test('transfer_call goes to the configured target only, whatever the model asks', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.', transferTarget: 'sip:frontdesk@example.com' },
    sims: {
      deepgramLive: { transcripts: ['can i talk to a person'] },
      openai: { replies: [{ text: 'Let me transfer you.', toolCalls: [{ name: 'transfer_call', arguments: { target: '+19005550100' } }] }] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('yes-please-8k.wav');
    const end = await h.running;
    assert.equal(end.reason, 'transferred');
    assert.equal(h.transport.transfers, ['sip:frontdesk@example.com']);
  } finally {
    await h.close();
  }
});

test('send_dtmf sends valid digits and the model continues', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    sims: {
      deepgramLive: { transcripts: ['press one two pound'] },
      openai: { replies: [{ toolCalls: [{ name: 'send_dtmf', arguments: { digits: '12#' } }] }, 'Done, I pressed them.'] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('yes-please-8k.wav');
    await h.transport.waitFor(() => h.llm.calls.length === 2, 10_000, 'the second LLM round');
    await h.waitQuiet();
    assert.equal(h.transport.dtmfSent, ['12#']);
    const tool = h.llm.calls[1]!.messages.find((m) => m.role === 'tool');
    assert.equal(tool?.content, 'ok: digits sent');
    assert.equal(assistantTexts(h.conversation.history).at(-1), 'Done, I pressed them.');
  } finally {
    await h.close();
  }
});

test('LLM failure: failure event, spoken apology, clean hang-up', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    sims: { deepgramLive: { transcripts: ['hello'] }, openai: { fault: { type: 'status', status: 500 } } },
  });
  try {
    await h.waitQuiet();
    const played = h.transport.played.length;
    h.transport.sayFixture('yes-please-8k.wav');
    const end = await h.running;
    assert.equal(h.failures.length, 1);
    assert.equal(h.failures[0]!.stage, 'llm');
    assert.equal(h.failures[0]!.provider, 'openai');
    assert.equal(end.failure, h.failures[0]);
    assert.equal(h.tts.calls.at(-1)?.text, APOLOGY);
    assert.ok(h.transport.played.length > played, 'the apology was played');
    assert.equal(h.transport.hangups, ['llm_failure']);
    assert.equal(h.transport.hangupQueuedMs, [0], 'apology played out before the hang-up');
  } finally {
    await h.close();
  }
});

test('TTS failure: failure event, apology in the fallback voice, clean hang-up', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    fallbackVoice: new FallbackVoice(patternTts),
    sims: { deepgramLive: { transcripts: ['hello'] }, openai: { replies: ['Hi there, how can I help?'] } },
  });
  try {
    await h.waitQuiet();
    h.tts.failWhen = () => true;
    const played = h.transport.sentMs;
    h.transport.sayFixture('yes-please-8k.wav');
    const end = await h.running;
    assert.equal(h.failures.map((f) => `${f.stage}:${f.provider}`), ['tts:deepgram-tts']);
    assert.equal(end.failure?.stage, 'tts');
    assert.ok(h.transport.sentMs - played > 2000, 'the fallback apology was heard');
    assert.equal(h.transport.hangups, ['tts_failure']);
    assert.equal(h.transport.hangupQueuedMs, [0]);
  } finally {
    await h.close();
  }
});

test('the caller hanging up mid-sentence cancels everything cleanly', async () => {
  const h = await startHarness({ agent: { greeting: 'Welcome to Bella Cucina, the best trattoria by the river, open every day of the week.' } });
  try {
    await h.transport.waitFor(() => h.transport.sentMs > 1500, 10_000, 'the greeting to be under way');
    h.transport.callerHangup('caller_bye');
    const end = await h.running;
    assert.equal(end.reason, 'caller_bye');
    assert.equal(h.transport.hangups, [], 'we did not send our own BYE');
    assert.not.ok(h.conversation.agentActive);
    const greeting = h.turns.find((t) => t.role === 'agent');
    assert.ok(greeting?.interrupted, 'the greeting turn is reported as cut off');
    const heard = assistantTexts(h.conversation.history)[0] ?? '';
    assert.ok(heard.length > 0 && heard.length < 100, `history keeps what was heard: "${heard}"`);
    const playedAtEnd = h.transport.played.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.transport.played.length, playedAtEnd, 'nothing is played after the hang-up');
  } finally {
    await h.close();
  }
});

test('silence: reprompt, then goodbye and hang-up', async () => {
  const h = await startHarness({ agent: { greeting: 'Hello.' }, settings: { call: { repromptAfterMs: 300, maxReprompts: 1 } } });
  try {
    const end = await h.running;
    assert.equal(end.reason, 'caller_silent');
    assert.ok(h.tts.calls.some((c) => c.text === REPROMPT));
    assert.equal(h.transport.hangupQueuedMs, [0]);
  } finally {
    await h.close();
  }
});

test('the agent profile can say its own reprompt (the keypad menu when nothing can hear speech)', async () => {
  const h = await startHarness({ agent: { greeting: 'Hello.', reprompt: 'Are you there? Press 1 for our hours.' }, settings: { call: { repromptAfterMs: 300, maxReprompts: 1 } } });
  try {
    const end = await h.running;
    assert.equal(end.reason, 'caller_silent');
    assert.ok(h.tts.calls.some((c) => c.text.includes('Press 1 for our hours.')), h.tts.calls.map((c) => c.text).join(' | '));
    assert.not.ok(h.tts.calls.some((c) => c.text === REPROMPT));
  } finally {
    await h.close();
  }
});

test('maximum call duration ends the call with a goodbye', async () => {
  const h = await startHarness({ agent: { greeting: 'Hello.' }, settings: { call: { maxDurationMs: 1500, repromptAfterMs: 0 } } });
  try {
    const end = await h.running;
    assert.equal(end.reason, 'max_duration');
    assert.ok(h.tts.calls.some((c) => /time limit/.test(c.text)), 'the time-limit goodbye was spoken');
    assert.equal(h.transport.hangups, ['max_duration']);
  } finally {
    await h.close();
  }
});

test('the server shutting down: the agent cuts itself short, says the shutdown goodbye and hangs up', async () => {
  const h = await startHarness({ agent: { greeting: 'Hello, thank you for calling, how can I help you today with your booking?' }, settings: { call: { repromptAfterMs: 0 } } });
  try {
    await h.transport.waitFor(() => h.transport.played.length > 0, 10_000, 'the greeting to start');
    h.transport.wrapUp();
    await h.transport.waitFor(() => h.transport.hangups.length > 0, 20_000, 'the agent to hang up');
    const end = await h.running;
    assert.equal(end.reason, 'node-drain');
    assert.ok(SHUTDOWN_GOODBYE.endsWith(h.tts.calls.at(-1)?.text ?? '-'), 'the shutdown goodbye was the last thing spoken');
    assert.ok(h.tts.calls.some((c) => SHUTDOWN_GOODBYE.startsWith(c.text)), 'the shutdown goodbye was spoken');
    assert.equal(h.transport.hangups, ['node-drain']);
    assert.equal(h.transport.hangupQueuedMs, [0], 'the goodbye played out before the hang-up');
  } finally {
    await h.close();
  }
});

test.run();
