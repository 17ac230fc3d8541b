/**
 * A browser call through the shared call entry: the connected peer becomes a
 * WebRtcCallTransport and CallManager.acceptTransportCall runs the same
 * set-up as every other way in (tenant call limit, call row, recorder,
 * agent runner, transcript, traces, drain). The call row names the browser's
 * address as `webrtc:<address>` and the agent as `agent:<id>`.
 */
import type { CallManager } from '../calls/call-manager.ts';
import { TransportCallError } from '../calls/call-manager.ts';
import { WebRtcCallRefused, type StartWebRtcCall } from './signalling.ts';
import { WebRtcCallTransport } from './webrtc-call-transport.ts';

/** What the browser is told (no tenant id, nothing internal). */
const REFUSAL = {
  'no-agent': ['not-found', 'no such agent'],
  'call-limit': ['busy', 'all lines are busy: try again later'],
  draining: ['unavailable', 'the server is not taking calls now: try again'],
} as const;

export function webRtcCallStarter(calls: Pick<CallManager, 'acceptTransportCall'>): StartWebRtcCall {
  return async ({ tenantId, agentId, peer, source }) => {
    const transport = new WebRtcCallTransport(peer);
    const session = await calls.acceptTransportCall({
      kind: 'webrtc', transport, tenantId, agent: agentId, from: `webrtc:${source}`, to: `agent:${agentId}`,
    }).catch((error: unknown) => {
      if (error instanceof TransportCallError) {
        const [code, message] = REFUSAL[error.code];
        throw new WebRtcCallRefused(code, message);
      }
      throw error;
    });
    return {
      callId: session.callId,
      onCaption: (listener) => {
        session.on('transcript', listener);
        return () => { session.off('transcript', listener); };
      },
      onEnd: (listener) => {
        void session.untilClosed().then(listener);
        return () => undefined;
      },
      hangup: () => transport.browserHungUp(),
    };
  };
}
