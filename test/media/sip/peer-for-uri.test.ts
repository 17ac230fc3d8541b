/**
 * The one URI-to-peer lookup (transport.ts peerForUri) and the one tag reader
 * (header-values.ts tagOf) that the endpoint, dialogs and transactions share.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSipUri, peerForUri, tagOf } from '../../../media/sip/index.ts';

const peer = (text: string, fallback: 'UDP' | 'TCP' | 'TLS' = 'UDP') => peerForUri(parseSipUri(text)!, fallback);

test('peerForUri: the transport parameter, else TLS for sips, else the fallback; default ports by transport', () => {
  assert.equal(peer('sip:carrier.example'), { transport: 'UDP', address: 'carrier.example', port: 5060 });
  assert.equal(peer('sip:carrier.example', 'TCP'), { transport: 'TCP', address: 'carrier.example', port: 5060 });
  assert.equal(peer('sip:10.0.0.1:5070;transport=tcp'), { transport: 'TCP', address: '10.0.0.1', port: 5070 });
  assert.equal(peer('sip:10.0.0.1;transport=TLS'), { transport: 'TLS', address: '10.0.0.1', port: 5061 });
  assert.equal(peer('sips:agent@carrier.example', 'TCP'), { transport: 'TLS', address: 'carrier.example', port: 5061 });
  assert.equal(peer('sip:[2001:db8::1]:5080', 'TCP'), { transport: 'TCP', address: '2001:db8::1', port: 5080 });
});

test('tagOf reads the tag of a From/To value, undefined without one', () => {
  assert.is(tagOf('"Alice" <sip:alice@example.com>;tag=abc123'), 'abc123');
  assert.is(tagOf('<sip:bob@example.com>'), undefined);
  assert.is(tagOf(undefined), undefined);
  assert.is(tagOf('not a name-addr <'), undefined);
});

test.run();
