/** Conversation settings from an agent's provider_settings: defaults, every override, validation, merging. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  conversationSettingsFrom, ConversationSettingsError, DEFAULT_CONVERSATION_SETTINGS, mergeSettings,
} from '../../../pipeline/conversation/index.ts';

test('no settings, or other keys only, give the defaults (a fresh copy)', () => {
  for (const input of [undefined, null, {}, 'nonsense', 42, { stt: { provider: 'deepgram' }, llm: { model: 'x' } }]) {
    assert.equal(conversationSettingsFrom(input), DEFAULT_CONVERSATION_SETTINGS, JSON.stringify(input));
  }
  const s = conversationSettingsFrom({});
  s.turn.hangoverMs = 1;
  assert.is(DEFAULT_CONVERSATION_SETTINGS.turn.hangoverMs, 200, 'the defaults are not shared');
  assert.is(DEFAULT_CONVERSATION_SETTINGS.turn.hangoverMs, 200, 'default hangover is 200 ms');
});

test('each setting is read; seconds become milliseconds; the rest keep their defaults', () => {
  const s = conversationSettingsFrom({
    vad: { threshold: 0.7, minSpeechMs: 150 },
    turn: { hangoverMs: 350, sttFinalTimeoutMs: 900 },
    bargeIn: { enabled: false, minWords: 3 },
    call: { repromptAfterS: 5.5, maxReprompts: 1, maxDurationS: 120 },
  });
  assert.equal(s.vad, { threshold: 0.7, minSpeechMs: 150 });
  assert.equal(s.turn, { hangoverMs: 350, sttFinalTimeoutMs: 900, finalizeAfterMs: 120 });
  assert.equal(s.bargeIn, { ...DEFAULT_CONVERSATION_SETTINGS.bargeIn, enabled: false, minWords: 3 });
  assert.equal(s.call, { repromptAfterMs: 5500, maxReprompts: 1, maxDurationMs: 120_000, drainTimeoutMs: DEFAULT_CONVERSATION_SETTINGS.call.drainTimeoutMs });
});

test('keypad: inter-digit pause, terminator and run length are read and checked', () => {
  assert.equal(DEFAULT_CONVERSATION_SETTINGS.keypad, { interDigitTimeoutMs: 3000, terminator: '#', maxKeys: 32 });
  assert.equal(conversationSettingsFrom({ keypad: { interDigitTimeoutMs: 5000, terminator: '*' } }).keypad, { interDigitTimeoutMs: 5000, terminator: '*', maxKeys: 32 });
  assert.is(conversationSettingsFrom({ keypad: { terminator: '' } }).keypad.terminator, '', 'no terminator: the pause alone ends a run');
  assert.throws(() => conversationSettingsFrom({ keypad: { interDigitTimeoutMs: 10 } }), (e: unknown) => e instanceof ConversationSettingsError && /^provider_settings\.keypad\.interDigitTimeoutMs: /.test(String((e as Error).message)));
  assert.throws(() => conversationSettingsFrom({ keypad: { terminator: '5' } }), /provider_settings\.keypad\.terminator/);
});

test('vad.minSilenceMs is the hangover unless turn.hangoverMs is given', () => {
  assert.is(conversationSettingsFrom({ vad: { minSilenceMs: 400 } }).turn.hangoverMs, 400);
  assert.is(conversationSettingsFrom({ vad: { minSilenceMs: 400 }, turn: { hangoverMs: 250 } }).turn.hangoverMs, 250);
  assert.is(conversationSettingsFrom({ call: { repromptAfterS: 0 } }).call.repromptAfterMs, 0, 'reprompt can be disabled');
});

test('invalid values are refused with one line naming the setting', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ vad: { threshold: 1.5 } }, /^provider_settings\.vad\.threshold: /],
    [{ vad: { threshold: 0 } }, /^provider_settings\.vad\.threshold: /],
    [{ turn: { hangoverMs: -1 } }, /^provider_settings\.turn\.hangoverMs: /],
    [{ turn: { hangoverMs: 12.5 } }, /^provider_settings\.turn\.hangoverMs: /],
    [{ bargeIn: { enabled: 'yes' } }, /^provider_settings\.bargeIn\.enabled: /],
    [{ bargeIn: { minWords: 0 } }, /^provider_settings\.bargeIn\.minWords: /],
    [{ call: { maxDurationS: 0 } }, /^provider_settings\.call\.maxDurationS: /],
    [{ call: { maxReprompts: 21 } }, /^provider_settings\.call\.maxReprompts: /],
  ];
  for (const [input, message] of cases) {
    try {
      conversationSettingsFrom(input);
      assert.unreachable(JSON.stringify(input));
    } catch (error) {
      assert.instance(error, ConversationSettingsError);
      assert.match((error as Error).message, message);
      assert.not.match((error as Error).message, /\n/);
    }
  }
});

test('mergeSettings overrides only the given fields, ignores undefined, and leaves the base alone', () => {
  const base = conversationSettingsFrom({});
  const merged = mergeSettings(base, { turn: { hangoverMs: 120 }, bargeIn: { minSpeechMs: undefined, minWords: 4 } });
  assert.is(merged.turn.hangoverMs, 120);
  assert.is(merged.turn.sttFinalTimeoutMs, base.turn.sttFinalTimeoutMs);
  assert.is(merged.bargeIn.minSpeechMs, base.bargeIn.minSpeechMs);
  assert.is(merged.bargeIn.minWords, 4);
  assert.equal(merged.vad, base.vad);
  assert.is(base.turn.hangoverMs, 200);
  assert.equal(mergeSettings(base), base);
});

test.run();
