/**
 * Agents, as the operator (CLI) and the API change them: every field checked
 * by the same rules the call path reads them with (provider choice, VAD and
 * turn-taking, PCI audio redaction), the retention override kept within the
 * tenant plan's maximum, and every change audited.
 *
 * The AI disclosure is not a setting: no field here reaches it.
 * pipeline/conversation/disclosure.ts puts it in front of whatever greeting is
 * configured, and `describeAgent` shows the greeting callers will actually hear.
 */
import { parseUri } from '../../media/sip/uri.ts';
import {
  AgentInUseError, audit, createAgent as insertAgent, deleteAgent as removeAgent, getAgentById, getTenant, planRetentionDays, updateAgent as changeAgent,
  type AgentMode, type AgentRow, type Database,
} from '../../storage/index.ts';
// The settings' own modules, not the pipeline's index: the operator commands load this file, and the index brings the providers' SDKs.
import { composeGreeting } from '../../pipeline/conversation/disclosure.ts';
import { conversationSettingsFrom, ConversationSettingsError } from '../../pipeline/conversation/settings.ts';
import { parseProviderSettings, ProviderSettingsError } from '../agents/provider-choice.ts';
import { audioRedactionFrom, AudioRedactionSettingsError, type AudioRedactionSettings } from '../recordings/audio-redaction.ts';
import { normalisePhone } from '../compliance/phone.ts';
import { auditBy, conflict, invalid, isUniqueViolation, notFound, type Actor } from './errors.ts';

/** The keys of an agent's provider_settings this layer sets, each replaced whole (null: back to the defaults). */
export const AGENT_SETTING_KEYS = ['stt', 'llm', 'tts', 'vad', 'turn', 'bargeIn', 'call', 'keypad', 'pii_audio_redaction'] as const;
export type AgentSettingKey = (typeof AGENT_SETTING_KEYS)[number];

export interface AgentFields {
  name?: string | undefined;
  mode?: AgentMode | undefined;
  prompt?: string | undefined;
  greeting?: string | undefined;
  voice?: string | undefined;
  recordingEnabled?: boolean | undefined;
  /** Overrides the tenant's retention (at most the plan's maximum); null: the tenant's. */
  retentionDays?: number | null | undefined;
  /** SIP/SIPS/tel URI or phone number transfer_call sends the caller to; null: no transfers. */
  transferTarget?: string | null | undefined;
  /** provider_settings keys to replace; null removes one (its defaults apply). */
  settings?: Partial<Record<AgentSettingKey, unknown>> | undefined;
}

export interface AgentView {
  agent: AgentRow;
  /** What the caller hears first: the disclosure, then the configured greeting (always on). */
  spokenGreeting: string;
  disclosure: string;
  piiAudioRedaction: AudioRedactionSettings;
}

export function describeAgent(agent: AgentRow): AgentView {
  const greeting = composeGreeting(agent.greeting);
  return { agent, spokenGreeting: greeting.text, disclosure: greeting.disclosure, piiAudioRedaction: audioRedactionFrom(agent.providerSettings) };
}

const NAME = /^[^\u0000-\u001f\u007f]{1,100}$/;

/** Checks a complete provider_settings object the way a call will read it. */
export function checkAgentSettings(settings: Record<string, unknown>): void {
  try {
    parseProviderSettings(settings);
    conversationSettingsFrom(settings);
    audioRedactionFrom(settings);
  } catch (error) {
    if (error instanceof ProviderSettingsError || error instanceof ConversationSettingsError || error instanceof AudioRedactionSettingsError) {
      throw invalid(error.message.replace(/^provider_settings\./, 'settings.'), 'settings');
    }
    throw error;
  }
}

/** A transfer target a call can dial: a sip:/sips:/tel: URI or a phone number. */
export function checkTransferTarget(target: string): string {
  const text = target.trim();
  if (text.length > 256 || !(parseUri(text) || normalisePhone(text))) {
    throw invalid('transferTarget must be a sip:, sips: or tel: URI or a phone number', 'transferTarget');
  }
  return text;
}

async function maxRetentionDays(db: Database, tenantId: string): Promise<number> {
  const tenant = await getTenant(db, tenantId);
  if (!tenant) throw notFound('tenant');
  return planRetentionDays(tenant.plan) ?? tenant.retentionDays;
}

async function checkFields(db: Database, tenantId: string, fields: AgentFields): Promise<void> {
  if (fields.name !== undefined && !NAME.test(fields.name.trim())) throw invalid('name must be 1-100 printable characters', 'name');
  if (fields.retentionDays !== undefined && fields.retentionDays !== null) {
    const max = await maxRetentionDays(db, tenantId);
    if (!Number.isInteger(fields.retentionDays) || fields.retentionDays < 1 || fields.retentionDays > max) {
      throw invalid(`retentionDays must be a whole number of days from 1 to ${max} (the plan's maximum)`, 'retentionDays');
    }
  }
}

function mergedSettings(current: unknown, changes: AgentFields['settings']): Record<string, unknown> {
  const next: Record<string, unknown> = { ...(typeof current === 'object' && current !== null ? current as Record<string, unknown> : {}) };
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (!(AGENT_SETTING_KEYS as readonly string[]).includes(key)) throw invalid(`unknown agent setting "${key.slice(0, 40)}"`, 'settings');
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  checkAgentSettings(next);
  return next;
}

/** The fields that changed, for the audit log (names only: prompts and greetings are the customer's content). */
function changedFields(fields: AgentFields): string[] {
  const names = Object.entries(fields).filter(([k, v]) => v !== undefined && k !== 'settings').map(([k]) => k);
  return [...names, ...Object.keys(fields.settings ?? {}).map((k) => `settings.${k}`)];
}

export async function createAgent(db: Database, tenantId: string, fields: AgentFields & { name: string }, who: Actor): Promise<AgentRow> {
  await checkFields(db, tenantId, fields);
  const providerSettings = mergedSettings({}, fields.settings);
  let row: AgentRow;
  try {
    row = await insertAgent(db, tenantId, {
      name: fields.name.trim(),
      ...(fields.mode !== undefined ? { mode: fields.mode } : {}),
      ...(fields.prompt !== undefined ? { prompt: fields.prompt } : {}),
      ...(fields.greeting !== undefined ? { greeting: fields.greeting } : {}),
      ...(fields.voice !== undefined ? { voice: fields.voice } : {}),
      ...(fields.recordingEnabled !== undefined ? { recordingEnabled: fields.recordingEnabled } : {}),
      retentionDays: fields.retentionDays ?? null,
      transferTarget: fields.transferTarget ? checkTransferTarget(fields.transferTarget) : null,
      providerSettings,
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('an agent with that name already exists');
    throw error;
  }
  await audit(db, tenantId, { ...auditBy(who), action: 'agent.created', target: row.id });
  return row;
}

export async function getAgent(db: Database, tenantId: string, id: string): Promise<AgentRow> {
  const row = await getAgentById(db, tenantId, id);
  if (!row) throw notFound('agent');
  return row;
}

export async function updateAgent(db: Database, tenantId: string, id: string, fields: AgentFields, who: Actor): Promise<AgentRow> {
  const current = await getAgent(db, tenantId, id);
  await checkFields(db, tenantId, fields);
  const providerSettings = fields.settings === undefined ? undefined : mergedSettings(current.providerSettings, fields.settings);
  let row: AgentRow | undefined;
  try {
    row = await changeAgent(db, tenantId, id, {
      name: fields.name?.trim(), mode: fields.mode, prompt: fields.prompt, greeting: fields.greeting, voice: fields.voice,
      recordingEnabled: fields.recordingEnabled, retentionDays: fields.retentionDays,
      transferTarget: fields.transferTarget === undefined ? undefined : fields.transferTarget === null ? null : checkTransferTarget(fields.transferTarget),
      ...(providerSettings ? { providerSettings } : {}),
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('an agent with that name already exists');
    throw error;
  }
  if (!row) throw notFound('agent');
  await audit(db, tenantId, { ...auditBy(who), action: 'agent.updated', target: id, detail: { fields: changedFields(fields) } });
  return row;
}

export async function deleteAgent(db: Database, tenantId: string, id: string, who: Actor): Promise<void> {
  let deleted: boolean;
  try {
    deleted = await removeAgent(db, tenantId, id);
  } catch (error) {
    if (error instanceof AgentInUseError) throw conflict(error.message);
    throw error;
  }
  if (!deleted) throw notFound('agent');
  await audit(db, tenantId, { ...auditBy(who), action: 'agent.deleted', target: id });
}
