/**
 * What both streaming TTS adapters share: make the request, then stream the
 * response body as PCM16. An abort ends the stream quietly; any other failure
 * becomes a ProviderError with the secrets scrubbed from its message.
 */
import { readPcm16Stream } from './pcm-bytes.ts';
import { isAbortError, toProviderError } from './provider-error.ts';
import { ProviderError } from './types.ts';

export async function* streamSpeech(
  provider: string,
  label: string,
  request: () => Promise<ReadableStream<Uint8Array> | null | undefined>,
  signal: AbortSignal,
  secrets: readonly string[],
): AsyncGenerator<Int16Array> {
  let body: ReadableStream<Uint8Array> | null | undefined;
  try {
    body = await request();
  } catch (err) {
    if (isAbortError(err, signal)) return;
    throw toProviderError(provider, `${label} request`, err, secrets);
  }
  if (!body) throw new ProviderError(provider, `${label} response had no body`);
  try {
    yield* readPcm16Stream(body, signal);
  } catch (err) {
    if (isAbortError(err, signal)) return;
    throw toProviderError(provider, `${label} stream`, err, secrets);
  }
}
