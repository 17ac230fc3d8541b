export * from './csv.ts';
export * from './data-subject.ts';
export * from './erase.ts';
export * from './export.ts';
export * from './zip-writer.ts';
export * from './export-jobs.ts';
export * from './export-links.ts';
export * from './export-cleanup.ts';
