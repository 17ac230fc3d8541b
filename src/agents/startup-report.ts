/**
 * The start-up report: for each conversation agent, which STT/LLM/TTS its
 * calls will use and what is missing (no secrets, no prompts). Printed once
 * by `smartalex serve`; capped so a large deployment does not flood stdout.
 */
import { listAgents, listProviderKeys, listTenantIds, type Database } from '../../storage/index.ts';
import { describeOfflineProviders, detectOfflineProviders, type OfflineAvailability } from '../../pipeline/index.ts';
import { chooseProviders, describeProviders, type ProviderConfig, type TenantProviderKeys } from './provider-choice.ts';

const MAX_AGENT_LINES = 20;

export interface ProviderReport {
  lines: string[];
  offline: OfflineAvailability;
  /** Some conversation agent speaks with the WebAssembly eSpeak NG: worth starting its process ahead of the first call. */
  usesEspeakWasm: boolean;
}

export async function providerReport(db: Database, config: ProviderConfig, offline?: OfflineAvailability): Promise<ProviderReport> {
  const available = offline ?? (await detectOfflineProviders());
  const lines = describeOfflineProviders(available);
  let usesEspeakWasm = false;
  let shown = 0;
  let total = 0;
  for (const tenantId of await listTenantIds(db)) {
    // Which tenant keys exist (not their values): enough to say which providers the tenant's calls get.
    const tenantKeys: TenantProviderKeys = {};
    for (const { provider } of await listProviderKeys(db, tenantId)) {
      if (provider === 'deepgram') tenantKeys.deepgramApiKey = 'tenant key';
      else tenantKeys.openaiApiKey = 'tenant key';
    }
    for (const agent of await listAgents(db, tenantId)) {
      if (agent.mode !== 'conversation') continue;
      total += 1;
      const env = { config, offline: available, tenantKeys };
      try {
        if (chooseProviders(agent, env).tts.kind === 'espeak-wasm') usesEspeakWasm = true;
      } catch {
        // invalid settings: describeProviders says so
      }
      if (shown < MAX_AGENT_LINES) {
        lines.push(describeProviders(agent, env));
        shown += 1;
      }
    }
  }
  if (total > shown) lines.push(`... and ${total - shown} more conversation agents`);
  if (total === 0) lines.push('no conversation agents yet');
  return { lines, offline: available, usesEspeakWasm };
}
