export * from './campaign-runner.ts';
export * from './campaigns.ts';
export * from './dialer.ts';
