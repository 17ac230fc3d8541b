/**
 * Campaign management: create (an agent, contacts, window, pacing, retries;
 * validated), start, pause, resume, cancel (audited state changes), progress.
 * Running them is campaign-runner.ts.
 */
import {
  campaignProgress, changeCampaignState, getAgent, insertCampaign, type CampaignProgress, type CampaignRow, type Database, type NewCampaign,
} from '../../storage/index.ts';

export class CampaignInputError extends Error {
  override name = 'CampaignInputError';
  /** The input field at fault, when one is. */
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

export async function createCampaign(db: Database, tenantId: string, input: NewCampaign, actor: string, sourceIp?: string): Promise<CampaignRow> {
  if (!input.name.trim()) throw new CampaignInputError('give the campaign a name', 'name');
  if (!(await getAgent(db, tenantId, input.agentId))) throw new CampaignInputError('no such agent', 'agentId');
  if (input.contactIds.length === 0 && !input.contactFilter) throw new CampaignInputError('give contactIds, a contactFilter or both', 'contactIds');
  if (input.startsAt && input.endsAt && input.startsAt >= input.endsAt) throw new CampaignInputError('the window must start before it ends');
  if (input.maxConcurrent !== undefined && !(Number.isInteger(input.maxConcurrent) && input.maxConcurrent >= 1 && input.maxConcurrent <= 1000)) throw new CampaignInputError('maxConcurrent must be 1 to 1000');
  if (input.callsPerSecond !== undefined && !(input.callsPerSecond > 0 && input.callsPerSecond <= 100)) throw new CampaignInputError('callsPerSecond must be above 0 and at most 100');
  if (input.maxAttempts !== undefined && !(Number.isInteger(input.maxAttempts) && input.maxAttempts >= 1 && input.maxAttempts <= 10)) throw new CampaignInputError('maxAttempts must be 1 to 10');
  if (input.retrySpacingSeconds !== undefined && !(Number.isInteger(input.retrySpacingSeconds) && input.retrySpacingSeconds >= 0)) throw new CampaignInputError('retrySpacingSeconds must be 0 or more');
  const agent = await getAgent(db, tenantId, input.agentId);
  return insertCampaign(db, tenantId, { ...input, agentId: agent!.id }, {
    actor, action: 'campaign.created', detail: { name: input.name, ...(input.contactFilter ? { byFilter: true } : {}) }, ...(sourceIp ? { sourceIp } : {}),
  });
}

export const startCampaign = (db: Database, tenantId: string, id: string, actor: string, sourceIp?: string) => changeCampaignState(db, tenantId, id, 'start', actor, sourceIp);
export const pauseCampaign = (db: Database, tenantId: string, id: string, actor: string, sourceIp?: string) => changeCampaignState(db, tenantId, id, 'pause', actor, sourceIp);
export const resumeCampaign = (db: Database, tenantId: string, id: string, actor: string, sourceIp?: string) => changeCampaignState(db, tenantId, id, 'resume', actor, sourceIp);
export const cancelCampaign = (db: Database, tenantId: string, id: string, actor: string, sourceIp?: string) => changeCampaignState(db, tenantId, id, 'cancel', actor, sourceIp);

export async function getCampaignProgress(db: Database, tenantId: string, id: string): Promise<CampaignProgress | undefined> {
  return campaignProgress(db, tenantId, id);
}
