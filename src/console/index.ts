/** The operators' web console (/console): its routes and the live calls feed behind its live page. */
export { registerConsole, type ConsoleOptions } from './routes.ts';
export { LiveCallFeed, type LiveCallFeedOptions } from './live-calls.ts';
export { maskParty, type LiveCall } from './live-call.ts';
export { OtherNodesCalls, type OtherNodesCallSource } from './other-nodes-calls.ts';
export { CONSOLE_CSP } from './page.ts';
export { buildConsoleBundle, consoleBundle } from './bundle.ts';
