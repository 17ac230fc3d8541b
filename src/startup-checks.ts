/**
 * Paths in the configuration checked before the server starts, so a bad one
 * ends start-up with one line naming its setting (a ConfigError, exit 2 from
 * the CLI) instead of a file-system error from deep inside PGlite or TLS:
 * the data directory must be (or become) a directory the server can read and
 * write; a TLS certificate or key given as a file path must be a readable PEM
 * file, and the two must form a usable pair. Messages name the setting and
 * the path, never the file's content.
 */
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError, type Config } from './config.ts';

type PathSettings = Pick<Config, 'SMARTALEX_DATA_DIR' | 'SMARTALEX_SIP_TLS_CERT' | 'SMARTALEX_SIP_TLS_KEY'> & Partial<Pick<Config, 'SMARTALEX_HTTP_TLS_CERT' | 'SMARTALEX_HTTP_TLS_KEY'>>;

const reason = (error: unknown): string => (error as NodeJS.ErrnoException)?.code ?? (error instanceof Error ? error.message : 'unknown error');

export function checkDataDir(dir: string): void {
  let existing;
  try {
    existing = statSync(dir, { throwIfNoEntry: false });
  } catch (error) {
    throw new ConfigError(`SMARTALEX_DATA_DIR: cannot create ${dir} (${reason(error)})`); // e.g. ENOTDIR: a parent is a file
  }
  if (existing && !existing.isDirectory()) throw new ConfigError(`SMARTALEX_DATA_DIR: ${dir} is not a directory`);
  if (!existing) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new ConfigError(`SMARTALEX_DATA_DIR: cannot create ${dir} (${reason(error)})`);
    }
  }
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new ConfigError(`SMARTALEX_DATA_DIR: cannot read and write ${dir} (${reason(error)})`);
  }
}

/** The PEM text of a setting that holds either PEM itself or a path to a PEM file. */
export type TlsSetting = 'SMARTALEX_SIP_TLS_CERT' | 'SMARTALEX_SIP_TLS_KEY' | 'SMARTALEX_HTTP_TLS_CERT' | 'SMARTALEX_HTTP_TLS_KEY';

export function readPemSetting(setting: TlsSetting, value: string): string {
  if (value.includes('-----BEGIN')) return value;
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (error) {
    throw new ConfigError(`${setting}: cannot read ${value} (${reason(error)})`);
  }
  if (!text.includes('-----BEGIN')) throw new ConfigError(`${setting}: ${value} is not a PEM file`);
  return text;
}

export function checkTlsFiles(certValue: string, keyValue: string, names: { cert: TlsSetting; key: TlsSetting } = { cert: 'SMARTALEX_SIP_TLS_CERT', key: 'SMARTALEX_SIP_TLS_KEY' }): void {
  const cert = readPemSetting(names.cert, certValue);
  const key = readPemSetting(names.key, keyValue);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    // OpenSSL's reason only (e.g. "key values mismatch"), never the PEM.
    const detail = error instanceof Error ? error.message.replace(/^error:[0-9A-F]+:/i, '') : 'unusable';
    throw new ConfigError(`${names.cert}: the certificate and ${names.key} do not form a usable pair (${detail})`);
  }
}

/** Throws a ConfigError naming the first bad path setting. */
export function checkStartupPaths(config: PathSettings): void {
  checkDataDir(config.SMARTALEX_DATA_DIR);
  if (config.SMARTALEX_SIP_TLS_CERT && config.SMARTALEX_SIP_TLS_KEY) checkTlsFiles(config.SMARTALEX_SIP_TLS_CERT, config.SMARTALEX_SIP_TLS_KEY);
  if (config.SMARTALEX_HTTP_TLS_CERT && config.SMARTALEX_HTTP_TLS_KEY) {
    checkTlsFiles(config.SMARTALEX_HTTP_TLS_CERT, config.SMARTALEX_HTTP_TLS_KEY, { cert: 'SMARTALEX_HTTP_TLS_CERT', key: 'SMARTALEX_HTTP_TLS_KEY' });
  }
}
