/**
 * A cluster for end-to-end tests: a scratch database on the Postgres server under test (created fresh,
 * dropped afterwards), seeded with one tenant whose echo agent answers 2000 from 127.0.0.1, and media
 * nodes as real `smartalex serve` processes sharing it (and one master key).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { addNumber, createAgent, createTenant, migrate, openDatabase, rows, type Database } from '../../../storage/index.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

export interface TestCluster {
  url: string;
  /** The owner's connection (reads the cluster tables, which the runtime role cannot). */
  db: Database;
  tenantId: string;
  masterKey: string;
  startNode(nodeId: string, env?: Record<string, string>): Promise<ServerProcess>;
  leases(nodeId: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * `maxCallsPerTenant`: the nodes' ceiling (SMARTALEX_MAX_CALLS_PER_TENANT); `tenantMaxConcurrentCalls`: the
 * seeded tenant's own limit, by default high enough that the ceiling is what holds.
 */
export async function startTestCluster(adminUrl: string, options: { maxCallsPerTenant?: number; tenantMaxConcurrentCalls?: number } = {}): Promise<TestCluster> {
  const name = `smartalex_cluster_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ url: url.toString(), dataDir: '', appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'cluster', maxConcurrentCalls: options.tenantMaxConcurrentCalls ?? 10_000 });
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: '2000', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  const masterKey = randomBytes(32).toString('hex');
  const nodes: Array<{ node: ServerProcess; dir: string }> = [];
  return {
    url: url.toString(), db, tenantId: tenant.id, masterKey,
    async startNode(nodeId, env = {}) {
      const dir = mkdtempSync(join(tmpdir(), `smartalex-${nodeId}-`));
      const node = await startServerProcess({
        DATABASE_URL: url.toString(), SMARTALEX_MASTER_KEY: masterKey, SMARTALEX_DATA_DIR: dir, SMARTALEX_NODE_ID: nodeId,
        SMARTALEX_NODE_HEARTBEAT_S: '1', SMARTALEX_NODE_TIMEOUT_S: '3', SMARTALEX_RTP_TIMEOUT_S: '120',
        // Kamailio on 127.0.0.1 forwards every call: trusted by the flood guard, as the README's deployment says.
        SMARTALEX_SIP_TRUSTED_SOURCES: '127.0.0.1',
        ...(options.maxCallsPerTenant ? { SMARTALEX_MAX_CALLS_PER_TENANT: String(options.maxCallsPerTenant) } : {}), ...env,
      });
      nodes.push({ node, dir });
      return node;
    },
    async leases(nodeId) {
      return rows<{ n: number }>(await db.owner.execute(sql`select count(*)::int as n from call_leases where node_id = ${nodeId}`))[0]!.n;
    },
    async close() {
      for (const { node, dir } of nodes.splice(0)) {
        await node.stop('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
      await db.close();
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
