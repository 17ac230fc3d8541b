/**
 * Keeps ONNX Runtime's own telemetry off in every process that runs the VAD.
 *
 * Why: onnxruntime-node 1.29 and later ship Microsoft's 1DS telemetry on
 * Linux and macOS, on by default. Each process that loads the runtime writes
 * a persistent device identifier and an offline event cache under
 * $XDG_CACHE_HOME (or ~/.cache)/Microsoft/DeveloperTools/.onnxruntime, a
 * `mat-debug-<pid>.log` and `.ses` file in $TMPDIR, and uploads process,
 * session, model (`silero_vad.onnx`), run-count and error events to
 * mobile.events.data.microsoft.com. A media server promises outbound
 * traffic only to what the platform requires, and Microsoft's collector is
 * none of its subprocessors. `ORT_DISABLE_TELEMETRY=1`, set before the
 * runtime initialises, is the runtime's full opt-out: no uploader, events,
 * device identifier or cache (checked: none of those files appear with it).
 *
 * The runtime reads the variable with getenv(), so it has to be in the
 * process's real environment: on the main thread, writing `process.env` sets
 * it; a worker thread's `process.env` is a private copy the runtime never
 * sees. The VAD thread is always started from the main thread
 * (pipeline/vad/silero.ts), which calls this first.
 */
import { isMainThread } from 'node:worker_threads';

export const ORT_TELEMETRY_OPT_OUT = 'ORT_DISABLE_TELEMETRY';

/** Sets the opt-out (always '1': there is no setting to turn the telemetry on). */
export function keepOnnxRuntimeTelemetryOff(): void {
  if (!isMainThread && process.env[ORT_TELEMETRY_OPT_OUT] !== '1') {
    // Refuse rather than start a runtime that would phone home: only the main thread can set the real environment.
    throw new Error(`the Silero VAD thread must be started from the main thread (or with ${ORT_TELEMETRY_OPT_OUT}=1 in the environment) so that ONNX Runtime's telemetry stays off`);
  }
  process.env[ORT_TELEMETRY_OPT_OUT] = '1';
}
