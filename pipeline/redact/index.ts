/**
 * PII redaction of transcripts: the public face of pipeline/redact.
 *
 *   redact(text)            -> { text, entities: [{ type, start, end }] }  (offsets into the redacted text)
 *   findPii(text)           -> spans in the ORIGINAL text (for evaluation and tracing; never holds text)
 *   new TurnRedactor()      -> add(final STT segment) ... finish() redacts the joined turn
 *   redactKeypad(keys)      -> one run of DTMF keys, redacted by how many digits it holds
 *   runRedactCli(in, out)   -> `smartalex redact` (JSON Lines, one object per input line)
 *   benchRedactor()         -> lines per second over the labelled corpus
 *   generateCorpus(), evaluate(), formatReport() -> recall / precision per entity type
 */
export { redact, applyRedaction } from './redact.ts';
export { findPii } from './detect.ts';
export { TurnRedactor, TurnRedactorError, type TurnRedactorOptions, type TurnRedaction } from './turn-redactor.ts';
export { redactKeypad, KEYPAD_CLEAR_DIGITS } from './keypad.ts';
export { runRedactCli } from './cli.ts';
export { ENTITY_TYPES, tagFor, type EntityType, type RedactedType, type PiiSpan, type RedactedEntity, type RedactionResult } from './types.ts';
