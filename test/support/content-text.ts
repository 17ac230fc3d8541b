/**
 * The text a record holds as content, for tests that check PII is gone from
 * it: every string in the value (keys and values, nested), but none of the
 * values a machine made. Numbers are left out (a timing such as
 * `"atMs":27691.187465999996` can hold any run of digits), and so are
 * strings that are wholly an identifier (a UUID, a hex token such as a SIP
 * Call-ID or a hash), a clock reading (an ISO 8601 timestamp, whose
 * microseconds are digits too) or a binary blob (a Buffer, or Postgres bytea
 * as text, `\x...`); inside the strings kept, an IP address and its port (a
 * test's ephemeral port, in `sip:2000@127.0.0.1:41117`) read as `<address>`. A check for
 * a card number's digits in `JSON.stringify(record)` failed a loaded run for
 * nothing: a turn's atMs held "4111".
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A hex token of 12 or more characters with at least one letter (a bare run of digits is content), optionally @host. */
const HEX_TOKEN = /^(?=[0-9a-f]*[a-f])[0-9a-f]{12,}(@\S+)?$/i;
const TIMESTAMP = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)?$/;
const BYTEA = /^\\x[0-9a-f]*$/i;
const ADDRESS = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9a-f:.]+\](?::\d+)?/gi;

/** True for a string that is wholly a machine-made value rather than content. */
export function isMachineMade(text: string): boolean {
  return UUID.test(text) || HEX_TOKEN.test(text) || TIMESTAMP.test(text) || BYTEA.test(text);
}

/** Every content string in `value`, one per line (see the header for what is left out). */
export function contentText(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (!isMachineMade(v)) out.push(v.replace(ADDRESS, '<address>'));
    } else if (Array.isArray(v)) {
      for (const item of v) walk(item);
    } else if (v !== null && typeof v === 'object' && !(v instanceof Date) && !ArrayBuffer.isView(v)) {
      for (const [key, item] of Object.entries(v)) {
        out.push(key);
        walk(item);
      }
    }
  };
  walk(value);
  return out.join('\n');
}
