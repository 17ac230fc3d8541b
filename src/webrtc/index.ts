/**
 * Browser calls over WebRTC: call tokens (call-token.ts), the /v1/webrtc
 * signalling socket (signalling.ts), the transport (webrtc-call-transport.ts)
 * and its way into the shared call entry (webrtc-calls.ts). `serve` wires
 * them with `webRtcSignalling`.
 */
import { claimCallTokenId, rateLimitHit, type Database } from '../../storage/index.ts';
import type { CallManager } from '../calls/call-manager.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { WebRtcSignalling } from './signalling.ts';
import { webRtcCallStarter } from './webrtc-calls.ts';

export { CALL_TOKEN_TTL_MS, checkCallToken, mintCallToken } from './call-token.ts';
export { WEBRTC_SIGNALLING_PATH, WebRtcSignalling, type Caption } from './signalling.ts';
export { WebRtcCallTransport } from './webrtc-call-transport.ts';

/** The ICE address: the configured one, else the public address, else the HTTP bind address (a wildcard: every interface). */
export function webRtcAddress(config: Pick<Config, 'SMARTALEX_WEBRTC_ADDRESS' | 'SMARTALEX_PUBLIC_ADDRESS' | 'SMARTALEX_HTTP_HOST'>): string {
  const host = config.SMARTALEX_WEBRTC_ADDRESS ?? config.SMARTALEX_PUBLIC_ADDRESS ?? config.SMARTALEX_HTTP_HOST;
  return host === '::' ? '0.0.0.0' : host;
}

export function webRtcSignalling(options: { config: Config; db: Database; calls: CallManager; secret: Buffer; logger: Logger }): WebRtcSignalling {
  const { config, db } = options;
  return new WebRtcSignalling({
    secret: options.secret,
    logger: options.logger,
    peer: {
      bindAddress: webRtcAddress(config),
      ...(config.SMARTALEX_WEBRTC_PORT_MIN !== undefined ? { portRangeBegin: config.SMARTALEX_WEBRTC_PORT_MIN } : {}),
      ...(config.SMARTALEX_WEBRTC_PORT_MAX !== undefined ? { portRangeEnd: config.SMARTALEX_WEBRTC_PORT_MAX } : {}),
    },
    startCall: webRtcCallStarter(options.calls),
    admit: async (source) => (await rateLimitHit(db, `webrtc:${source}`, 60_000)).hits <= config.SMARTALEX_WEBRTC_CONNECTIONS_PER_MINUTE,
    claim: (claims) => claimCallTokenId(db, claims.jti, new Date(claims.expiresAtMs)),
  });
}
