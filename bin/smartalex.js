#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (the project ships TypeScript sources).
import { register } from 'tsx/esm/api';

register();
// The embedded database's thread boots while the command's modules load (src/cli/prestart.ts).
const { prestartForCommand } = await import('../src/cli/prestart.ts');
prestartForCommand(process.argv.slice(2));
await import('../tools/cli.ts');
