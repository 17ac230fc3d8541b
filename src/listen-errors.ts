/**
 * A listener that cannot bind at start-up is a configuration error like any
 * other: one line naming the setting to change and the port, not a stack
 * trace. Maps the socket error codes an operator can fix; anything else is
 * left to the caller.
 */
import { ConfigError } from './config.ts';

/** The ConfigError for a failed bind of `port` on `host`, or undefined when the error is not one of those. */
export function listenConfigError(error: unknown, setting: string, hostSetting: string, host: string, port: number, what: string): ConfigError | undefined {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'EADDRINUSE':
      return new ConfigError(`${setting}: ${what} port ${port} on ${host} is already in use`);
    case 'EACCES':
      return new ConfigError(`${setting}: no permission to listen on ${what} port ${port} on ${host} (ports below 1024 need CAP_NET_BIND_SERVICE)`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`${hostSetting}: ${host} is not an address of this machine (listening for ${what} on port ${port})`);
    default:
      return undefined;
  }
}
