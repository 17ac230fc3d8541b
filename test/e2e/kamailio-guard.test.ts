/**
 * deploy/kamailio/kamailio.cfg's flood guard at run time (Debian's Kamailio on loopback, no media nodes
 * needed): an untrusted source over PIKE_DENSITY is banned and gets no answer; a carrier listed in
 * TRUSTED_SOURCES (a list of subnets) is never rate-limited, however busy its trunk. Kamailio answers
 * OPTIONS to itself after route[REQINIT], so the answers count what the guard let through.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { hasCommand, needExternal } from '../support/external.ts';
import { waitFor } from '../support/poll.ts';
import { startKamailio, type Kamailio } from './support/kamailio.ts';

const run = needExternal(hasCommand('kamailio'), 'kamailio (apt-get install kamailio)', 'the Kamailio flood guard test');

interface Sender { socket: Socket; address: string; answered: Set<string> }

async function sender(address: string): Promise<Sender> {
  const socket = createSocket('udp4');
  const answered = new Set<string>();
  socket.on('message', (m) => { const id = /Call-ID: (\S+)/i.exec(m.toString())?.[1]; if (id) answered.add(id); });
  await new Promise<void>((r) => socket.bind(0, address, r));
  return { socket, address, answered };
}

function options(from: Sender, kamailio: Kamailio, i: number): void {
  const port = from.socket.address().port;
  from.socket.send(Buffer.from([
    `OPTIONS sip:127.0.0.1:${kamailio.port} SIP/2.0`, `Via: SIP/2.0/UDP ${from.address}:${port};branch=z9hG4bK-guard-${i};rport`,
    'From: <sip:carrier@example.com>;tag=1', `To: <sip:127.0.0.1:${kamailio.port}>`, `Call-ID: guard-${from.address}-${i}`,
    'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
  ].join('\r\n')), kamailio.port, '127.0.0.1');
}

if (run) {
  test('a trusted carrier (TRUSTED_SOURCES) is never banned; an untrusted source over PIKE_DENSITY is', async () => {
    // No node answers here: the dispatcher list only has to exist.
    const kamailio = await startKamailio(['sip:127.0.0.9:5060'], { PIKE_DENSITY: 5, TRUSTED_SOURCES: '"10.0.0.0/8,127.0.0.1/32"' });
    const trusted = await sender('127.0.0.1');
    const untrusted = await sender('127.0.0.4');
    try {
      for (let i = 0; i < 40; i++) {
        options(trusted, kamailio, i);
        if (i % 10 === 9) await waitFor(`${i + 1} answers to the trusted carrier`, () => trusted.answered.size >= i + 1, { timeoutMs: 20_000 });
      }
      assert.is(trusted.answered.size, 40);
      for (let i = 0; i < 40; i++) options(untrusted, kamailio, i);
      // The guard bans within the first few; a later request from the same source proves the ban holds.
      await waitFor('Kamailio to log the ban', () => /pike: banning source 127\.0\.0\.4/.test(kamailio.output()), { timeoutMs: 20_000 });
      options(trusted, kamailio, 1000);
      await waitFor('the trusted carrier still answered', () => trusted.answered.has('guard-127.0.0.1-1000'), { timeoutMs: 20_000 });
      assert.ok(untrusted.answered.size < 40, `the untrusted source got ${untrusted.answered.size} answers of 40`);
    } finally {
      trusted.socket.close();
      untrusted.socket.close();
      await kamailio.stop();
    }
  });
}

test.run();
