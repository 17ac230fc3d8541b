/**
 * s3rver (an S3 API over the local filesystem, from npm) on loopback for tests of the S3 object store: no
 * real S3 server installs here. One bucket, files in a temp directory, an ephemeral port; the client
 * settings that reach it (path-style, s3rver's fixed S3RVER/S3RVER keys).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export interface TestS3 {
  bucket: string;
  client: S3ClientConfig;
  close(): Promise<void>;
}

export async function startTestS3(bucket = 'recordings'): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'smartalex-s3rver-'));
  const server = new (S3rver as new (options: Record<string, unknown>) => S3rverInstance)({
    address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    bucket,
    client: {
      endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
