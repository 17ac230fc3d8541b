/**
 * placeCall: one outbound call for campaigns, the CLI and benchmarks. Uses a
 * running CallManager (the server's) and resolves once the call has ended,
 * with how it ended.
 */
import type { CallManager, PlaceCallOptions } from './call-manager.ts';

export interface PlacedCall {
  callId: string;
  endReason: string;
  answeredAfterMs: number;
}

export async function placeCall(manager: CallManager, options: PlaceCallOptions): Promise<PlacedCall> {
  const started = performance.now();
  const session = await manager.placeCall(options);
  const answeredAfterMs = performance.now() - started;
  const endReason = await session.closed;
  return { callId: session.callId, endReason, answeredAfterMs };
}
