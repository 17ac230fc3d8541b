export * from './address-policy.ts';
export * from './delivery-worker.ts';
export * from './endpoints.ts';
export * from './event-schemas.ts';
export * from './retry-schedule.ts';
export * from './sender.ts';
export * from './signing.ts';
