/**
 * Which offline providers can run on this machine, for the start-up report:
 * eSpeak NG compiled to WebAssembly (TTS, an npm dependency), the Debian
 * espeak-ng program (TTS) and pocketsphinx with its en-us model (STT). The
 * scripted LLM needs nothing. Program checks run their version/help output
 * asynchronously with a short timeout, found on PATH; nothing here throws.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { POCKETSPHINX_MODEL_DIR } from './pocketsphinx-stt.ts';

export interface ToolStatus {
  available: boolean;
  /** Why not, when not available. */
  reason?: string;
  version?: string;
}

export interface OfflineAvailability {
  /** eSpeak NG in WebAssembly (@echogarden/espeak-ng-emscripten), run in a child process. */
  espeakWasm: ToolStatus;
  /** The espeak-ng program (Debian package espeak-ng). */
  espeakNg: ToolStatus;
  pocketsphinx: ToolStatus & { modelDir: string };
  scriptedLlm: ToolStatus;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const code = (error as NodeJS.ErrnoException | null)?.code;
      resolve({ ok: !error, output, missing: code === 'ENOENT' });
    });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function detectEspeak(command = 'espeak-ng', timeoutMs = 3000): Promise<ToolStatus> {
  const r = await run(command, ['--version'], timeoutMs);
  if (r.missing) return { available: false, reason: `${command} is not installed` };
  if (!r.ok) return { available: false, reason: `${command} --version failed` };
  const version = /text-to-speech:\s*([\d.]+)/.exec(r.output)?.[1];
  return version ? { available: true, version } : { available: true };
}

export async function detectPocketsphinx(
  command = 'pocketsphinx_continuous',
  modelDir = POCKETSPHINX_MODEL_DIR,
  timeoutMs = 3000,
): Promise<ToolStatus & { modelDir: string }> {
  // Without arguments it prints its option table and exits non-zero; ENOENT is what matters.
  const r = await run(command, [], timeoutMs);
  if (r.missing) return { available: false, modelDir, reason: `${command} is not installed (Debian: pocketsphinx)` };
  const files = [`${modelDir}/en-us/mdef`, `${modelDir}/en-us.lm.bin`, `${modelDir}/cmudict-en-us.dict`];
  const present = await Promise.all(files.map(exists));
  const missing = files.filter((_, i) => !present[i]);
  if (missing.length > 0) {
    return { available: false, modelDir, reason: `en-us model missing (${missing.join(', ')}; Debian: pocketsphinx-en-us)` };
  }
  return { available: true, modelDir };
}

/** The command that installs offline speech recognition (Debian/Ubuntu); no npm package ships a model. */
export const POCKETSPHINX_INSTALL = 'apt-get install pocketsphinx pocketsphinx-en-us';

export const ESPEAK_WASM_PACKAGE = '@echogarden/espeak-ng-emscripten';

/** The npm package is installed (a dependency; missing only after `npm install --omit=optional` or a broken install). */
export function detectEspeakWasm(resolve: (specifier: string) => string = (s) => import.meta.resolve(s)): ToolStatus {
  try {
    resolve(ESPEAK_WASM_PACKAGE);
    return { available: true };
  } catch {
    return { available: false, reason: `npm package ${ESPEAK_WASM_PACKAGE} is not installed (run npm install)` };
  }
}

export async function detectOfflineProviders(): Promise<OfflineAvailability> {
  const [espeakNg, pocketsphinx] = await Promise.all([detectEspeak(), detectPocketsphinx()]);
  return { espeakWasm: detectEspeakWasm(), espeakNg, pocketsphinx, scriptedLlm: { available: true } };
}

/** One line per provider, for the start-up report. */
export function describeOfflineProviders(a: OfflineAvailability): string[] {
  const line = (label: string, s: ToolStatus): string =>
    `${label}: ${s.available ? `available${s.version ? ` (${s.version})` : ''}` : `unavailable: ${s.reason ?? 'unknown'}`}`;
  return [
    line('offline TTS eSpeak NG (WebAssembly, npm)', a.espeakWasm),
    line('offline TTS espeak-ng (program)', a.espeakNg),
    line('offline STT pocketsphinx', a.pocketsphinx),
    ...(a.pocketsphinx.available
      ? []
      : [`  to understand callers' speech offline, run: sudo ${POCKETSPHINX_INSTALL} (until then callers get the keypad menu)`]),
    line('offline LLM scripted', a.scriptedLlm),
  ];
}
