/**
 * /v1/agents: prompt, greeting, voice, providers, VAD and turn-taking,
 * barge-in, recording on/off and retention, PCI audio redaction, transfer
 * target. Shapes are strict here; the value ranges are the call path's own
 * (src/resources/agents.ts checks with the same validators a call reads
 * them with). There is no disclosure field: the AI disclosure cannot be
 * turned off, and every agent shows the greeting callers actually hear.
 */
import { z } from 'zod';
import { listAgentsPage, type AgentRow } from '../../../storage/index.ts';
import { createAgent, deleteAgent, describeAgent, getAgent, updateAgent, type AgentFields, type AgentSettingKey } from '../../resources/agents.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, nonEmpty, served, who } from './resource-support.ts';

const ms = z.number().int();
const stage = z.strictObject({
  provider: z.string().optional(), model: z.string().optional(), voice: z.string().optional(), language: z.string().optional(), temperature: z.number().optional(),
});
/** Each replaces its part of the agent's settings whole; null puts that part back to the defaults. */
const settingsBody = z.strictObject({
  stt: stage.nullable().optional(),
  llm: stage.nullable().optional(),
  tts: stage.nullable().optional(),
  vad: z.strictObject({ threshold: z.number().optional(), minSpeechMs: ms.optional(), minSilenceMs: ms.optional() }).nullable().optional(),
  turn: z.strictObject({ hangoverMs: ms.optional(), sttFinalTimeoutMs: ms.optional() }).nullable().optional(),
  bargeIn: z.strictObject({
    enabled: z.boolean().optional(), minSpeechMs: ms.optional(), minWords: z.number().int().optional(), maxUnrecognizedMs: ms.optional(), minVoicedMs: ms.optional(),
  }).nullable().optional(),
  call: z.strictObject({ repromptAfterS: z.number().optional(), maxReprompts: z.number().int().optional(), maxDurationS: z.number().optional() }).nullable().optional(),
  keypad: z.strictObject({ interDigitTimeoutMs: ms.optional(), terminator: z.enum(['#', '*', '']).optional(), maxKeys: z.number().int().optional() }).nullable().optional(),
  piiAudioRedaction: z.union([z.boolean(), z.strictObject({ enabled: z.boolean().optional(), holdMs: ms.optional(), padMs: ms.optional() })]).nullable().optional()
    .describe('PCI-safe recordings: silence spoken card numbers and other PII in the stored audio (default on)'),
});

const fields = {
  mode: z.enum(['conversation', 'echo', 'greeting']).optional(),
  prompt: z.string().max(20_000).optional(),
  greeting: z.string().max(2_000).optional().describe('Spoken after the AI disclosure, which is always played first'),
  voice: z.string().min(1).max(100).optional(),
  recording: z.boolean().optional().describe('Record this agent\'s calls'),
  retentionDays: z.number().int().min(1).max(365).nullable().optional().describe('Overrides the tenant\'s retention, at most the plan\'s maximum; null: the tenant\'s'),
  transferTarget: z.string().min(1).max(256).nullable().optional().describe('sip:, sips: or tel: URI or phone number transfer_call sends the caller to'),
  settings: settingsBody.optional(),
};
const createBody = z.strictObject({ name: z.string().min(1).max(100), ...fields });
const updateBody = z.strictObject({ name: z.string().min(1).max(100).optional(), ...fields });

const agentSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  mode: z.enum(['conversation', 'echo', 'greeting']),
  prompt: z.string(),
  greeting: z.string(),
  voice: z.string(),
  recording: z.boolean(),
  retentionDays: z.number().int().nullable(),
  transferTarget: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()),
  piiAudioRedaction: z.object({ enabled: z.boolean(), holdMs: z.number().int(), padMs: z.number().int() }),
  disclosure: z.object({
    text: z.string().describe('The AI disclosure callers hear first'),
    spokenGreeting: z.string().describe('The whole greeting as spoken: disclosure, then the configured greeting'),
    alwaysOn: z.literal(true).describe('The disclosure cannot be turned off'),
  }),
  createdAt: z.string(),
}).meta({ id: 'Agent' });

/** API setting names -> provider_settings keys (the stored form the call path reads). */
const SETTING_KEY: Record<string, AgentSettingKey> = {
  stt: 'stt', llm: 'llm', tts: 'tts', vad: 'vad', turn: 'turn', bargeIn: 'bargeIn', call: 'call', keypad: 'keypad', piiAudioRedaction: 'pii_audio_redaction',
};

function toFields(body: z.output<typeof updateBody>): AgentFields {
  const settings = body.settings === undefined ? undefined
    : Object.fromEntries(Object.entries(body.settings).filter(([, v]) => v !== undefined).map(([k, v]) => [SETTING_KEY[k]!, v]));
  return {
    name: body.name, mode: body.mode, prompt: body.prompt, greeting: body.greeting, voice: body.voice, recordingEnabled: body.recording,
    retentionDays: body.retentionDays, transferTarget: body.transferTarget, settings,
  };
}

function view(row: AgentRow) {
  const d = describeAgent(row);
  const stored = (typeof row.providerSettings === 'object' && row.providerSettings !== null ? row.providerSettings : {}) as Record<string, unknown>;
  const settings = Object.fromEntries(Object.entries(stored).map(([k, v]) => [k === 'pii_audio_redaction' ? 'piiAudioRedaction' : k, v]));
  return {
    id: row.id, name: row.name, mode: row.mode, prompt: row.prompt, greeting: row.greeting, voice: row.voice, recording: row.recordingEnabled,
    retentionDays: row.retentionDays, transferTarget: row.transferTarget, settings, piiAudioRedaction: d.piiAudioRedaction,
    disclosure: { text: d.disclosure, spokenGreeting: d.spokenGreeting, alwaysOn: true as const }, createdAt: row.createdAt.toISOString(),
  };
}

const params = idParam('agentId');

export const agentRoutes = [
  defineRoute({
    method: 'GET', url: '/agents', tag: 'agents', summary: 'List agents (oldest first)', permission: 'agents:read',
    query: pageQuery,
    response: pageSchema(agentSchema),
    handler: async ({ ctx, query }) => apiPage(await served(() => listAgentsPage(ctx.db, ctx.tenantId, query)), view),
  }),
  defineRoute({
    method: 'POST', url: '/agents', tag: 'agents', summary: 'Create an agent', permission: 'agents:write', status: 201,
    body: createBody,
    response: agentSchema,
    handler: async ({ ctx, body }) => view(await served(() => createAgent(ctx.db, ctx.tenantId, { ...toFields(body), name: body.name }, who(ctx)))),
  }),
  defineRoute({
    method: 'GET', url: '/agents/:agentId', tag: 'agents', summary: 'One agent', permission: 'agents:read',
    params, response: agentSchema,
    handler: async ({ ctx, params: p }) => view(await served(() => getAgent(ctx.db, ctx.tenantId, p.agentId))),
  }),
  defineRoute({
    method: 'PATCH', url: '/agents/:agentId', tag: 'agents', summary: 'Change an agent', permission: 'agents:write',
    params, body: updateBody, response: agentSchema,
    handler: async ({ ctx, params: p, body }) => {
      nonEmpty(body);
      return view(await served(() => updateAgent(ctx.db, ctx.tenantId, p.agentId, toFields(body), who(ctx))));
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/agents/:agentId', tag: 'agents', summary: 'Delete an agent no number routes to (409 otherwise)', permission: 'agents:write', status: 204,
    params, response: z.null(),
    handler: async ({ ctx, params: p }) => {
      await served(() => deleteAgent(ctx.db, ctx.tenantId, p.agentId, who(ctx)));
      return null;
    },
  }),
];
