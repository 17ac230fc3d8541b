/**
 * First start on an empty database: a demo tenant with an echo-free, talking
 * demo agent reachable at number 1000 from 127.0.0.1, so a newcomer can call
 * it at once. The owner API key is shown once: printed when stdout is a
 * terminal, and written to a 0600 file in the data directory either way; it
 * never goes through the logger.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addNumber, createAgent, createTenant, issueApiKey, listTenantIds, audit, type Database } from '../storage/index.ts';

export const DEMO_NUMBER = '1000';

export interface DemoProvisioning {
  tenantId: string;
  agentId: string;
  number: string;
  apiKey: string;
  credentialsFile: string;
}

export async function provisionDemoIfEmpty(db: Database, dataDir: string): Promise<DemoProvisioning | undefined> {
  if ((await listTenantIds(db)).length > 0) return undefined;
  const tenant = await createTenant(db, { name: 'Demo' });
  const agent = await createAgent(db, tenant.id, {
    name: 'demo',
    mode: 'conversation',
    greeting: 'Thanks for calling the SmartAlex demo. How can I help you today?',
    prompt: 'You are a friendly demo receptionist. Keep answers short.',
  });
  const number = await addNumber(db, tenant.id, { number: DEMO_NUMBER, agentId: agent.id, allowedCidrs: ['127.0.0.1/32', '::1/128'] });
  const key = await issueApiKey(db, tenant.id, { name: 'demo owner', role: 'owner' });
  await audit(db, tenant.id, { actor: 'system:provision', action: 'demo.provisioned', target: number.number });
  const credentialsFile = join(dataDir, 'demo-credentials.txt');
  // The data directory may not exist yet with a Postgres server; a leftover file keeps its old mode unless fixed.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(credentialsFile, `tenant ${tenant.id}\nowner API key ${key.key}\n`, { mode: 0o600 });
  chmodSync(credentialsFile, 0o600);
  return { tenantId: tenant.id, agentId: agent.id, number: number.number, apiKey: key.key, credentialsFile };
}

export function describeDemo(demo: DemoProvisioning, sipPort: number, showSecret: boolean): string {
  return [
    '',
    'First start: created a demo tenant.',
    `  tenant   ${demo.tenantId}`,
    `  agent    demo (${demo.agentId})`,
    `  call it  sip:${demo.number}@127.0.0.1:${sipPort} (allowed from 127.0.0.1)`,
    showSecret
      ? `  owner API key (shown once, also saved with mode 0600 in ${demo.credentialsFile}):\n    ${demo.apiKey}`
      : `  owner API key saved with mode 0600 in ${demo.credentialsFile} (not printed: output is not a terminal)`,
    '',
  ].join('\n');
}
