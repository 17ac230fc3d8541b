/**
 * What the console's browser tests share: the empty network namespace (the
 * test file re-executes itself under `unshare -n` with only loopback up, so
 * neither the server nor the browser can reach anything else), Debian
 * chromium through playwright-core (resolving no name), and the per-page
 * check: a screenshot under test-output/console/ and an axe-core pass whose
 * serious and critical violations are collected.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hasCommand, needExternal } from '../../support/external.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = fileURLToPath(new URL('../../../test-output/console/', import.meta.url));
const AXE = fileURLToPath(new URL('../../../node_modules/axe-core/axe.min.js', import.meta.url));
const AXE_SOURCE = `${readFileSync(AXE, 'utf8')}\n;void 0;`;

const canIsolate = (): boolean => hasCommand('unshare') && spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' }).status === 0;

/**
 * True when this test file should run its tests here. Outside the namespace (and able to make one) it
 * re-runs `testFile` inside a new one and exits with that run's outcome, so it never returns there.
 */
export function runInEmptyNetwork(testFile: string, needs: { sipp?: boolean }, what: string): boolean {
  const inNamespace = process.env.SMARTALEX_CONSOLE_NETNS === '1';
  const run = needExternal(hasCommand(CHROMIUM) && (!needs.sipp || hasCommand('sipp')) && hasCommand('ip') && (inNamespace || canIsolate()),
    `chromium${needs.sipp ? ', sipp' : ''} and an empty network namespace (unshare -n, as root)`, what);
  if (run && !inNamespace) {
    const child = spawnSync('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$0" --import tsx "$1"', process.execPath, fileURLToPath(testFile)], {
      stdio: 'inherit', env: { ...process.env, SMARTALEX_CONSOLE_NETNS: '1' }, timeout: 400_000, killSignal: 'SIGKILL',
    });
    // A run killed at its bound says so (uvu's own summary cannot): if that summary is complete, something kept
    // the process alive after its tests.
    if (child.error || child.signal) process.stderr.write(`\n[console-browser] the test process in the namespace was stopped: ${child.error?.message ?? `killed by ${child.signal}`}\n`);
    process.exit(child.status ?? 1);
  }
  return run;
}

/** Chromium resolving no name; `extraArgs` add to its flags (a fake microphone: test/e2e/support/fake-microphone.ts). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM, timeout: 60_000,
    args: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--autoplay-policy=no-user-gesture-required', '--disable-dev-shm-usage', ...extraArgs],
  });
}

/**
 * Screenshots `page` as `name` (under `shots`, default test-output/console/), runs axe-core on it (open shadow
 * roots included) and appends its serious and critical violations to `found`.
 */
export async function checkPage(page: Page, name: string, found: string[], shots = SHOTS): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}${name}.png`, fullPage: true });
  // Evaluated over the DevTools protocol: addScriptTag would add an inline script, which the console's CSP refuses (as it should).
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run(document);
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}) at ${JSON.stringify(v.nodes.map((n) => n.target)).slice(0, 300)}`);
  });
  for (const v of violations) found.push(`${name}: ${v}`);
}
