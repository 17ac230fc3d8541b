/**
 * SIP message serializer: start line, headers in order, a Content-Length that
 * always matches the body, blank line, body bytes.
 */
import type { SipMessage } from './message.ts';

export function serializeMessage(msg: SipMessage): Buffer {
  let head = msg.kind === 'request'
    ? `${msg.method} ${msg.uri} ${msg.version || 'SIP/2.0'}\r\n`
    : `${msg.version || 'SIP/2.0'} ${msg.status} ${msg.reason}\r\n`;
  for (const h of msg.headers.entries()) {
    if (h.name.toLowerCase() === 'content-length') continue;
    head += `${h.name}: ${h.value}\r\n`;
  }
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  const headBuf = Buffer.from(head, 'utf8');
  return msg.body.length ? Buffer.concat([headBuf, msg.body]) : headBuf;
}
