import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findPii, redact } from '../../../pipeline/redact/index.ts';

const out = (text: string): string => redact(text).text;
const types = (text: string): string[] => findPii(text).map((s) => s.type);
/** The original words a detected span covers. */
const spans = (text: string): string[] => findPii(text).map((s) => `${s.type}:${text.slice(s.start, s.end)}`);

test('card numbers: digits, grouped, spoken, paired, doubles, fillers', () => {
  assert.is(out('my card is 4111111111111111'), 'my card is [CARD]');
  assert.is(out('card 4111 1111 1111 1111 thanks'), 'card [CARD] thanks');
  assert.is(out('it is 5500-0000-0000-0004'), 'it is [CARD]');
  assert.is(out('amex 3782 822463 10005'), 'amex [CARD]');
  assert.is(out('four one one one one one one one one one one one one one one one'), '[CARD]');
  assert.is(out('forty one eleven, eleven eleven, eleven eleven, eleven eleven ok'), '[CARD] ok');
  assert.is(out('four triple one double one double one, one one one one, one one one one'), '[CARD]');
  assert.is(out('my card is four one one one uh one one one one um one one one one one one one one'), 'my card is [CARD]');
  assert.is(out('five five oh oh, oh oh oh oh, oh oh oh oh, oh oh oh four'), '[CARD]');
});

test('a 16-digit number that fails Luhn is a card after card context (misheard digits), and nothing without it', () => {
  assert.is(out('my card number is 4111 1111 1111 1112'), 'my card number is [CARD]');
  assert.is(out('my card number is four one one one one one one one one one one one one one one two'), 'my card number is [CARD]');
  assert.is(out('card four one one one one one one one one one one one one one one two'), 'card [CARD]');
  assert.is(out('my card is 4111 1111 1111 1112 expires 04/27'), 'my card is [CARD] expires [CARD_EXPIRY]');
  assert.equal(types('tracking number 1234 5678 9012 3456'), []);
  assert.equal(types('the serial number is 4111 1111 1111 1112'), []);
});

test('a card in two pieces: the start right after "my card number is", and the rest after a few words', () => {
  assert.is(out('my card number is 4111 1111'), 'my card number is [CARD]');
  assert.is(out('4111 1111 1111 and the rest is 1111'), '[CARD] and the rest is [CARD]');
  assert.is(out('four one one one one one one one one one one one, and the last group is one one one one'), '[CARD], and the last group is [CARD]');
  // a non-Luhn pair without card context is two ordinary numbers
  assert.equal(types('4111 1111 1111 and the rest is 1112'), []);
  assert.equal(types('the last four digits of the card are 1234'), []);
  assert.equal(types('I have 12345 points on my card'), []);
});

test('cards typed with "/", "_", zero-width spaces or full-width digits; offsets stay in the original text', () => {
  for (const card of ['4111/1111/1111/1111', '4111_1111_1111_1111', '4111\u200b1111\u200b1111\u200b1111', '4111\u20601111\ufeff1111\u200c1111',
    '\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11', '\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11']) {
    const text = `pay with ${card} please`;
    assert.is(out(text), 'pay with [CARD] please', JSON.stringify(card));
    assert.equal(spans(text), [`CARD:${card}`]);
  }
  assert.is(out('call \uff15\uff15\uff15-\uff12\uff13\uff14-\uff15\uff16\uff17\uff18 ok'), 'call [PHONE] ok');
  assert.is(out('ssn 123\u200b-45-6789'), 'ssn [SSN]');
  // fractions and file names keep their slashes and underscores
  assert.equal(types('we got 7/12 right and the file is report_2024_final'), []);
});

test('expiry and CVV: by context, and said in one breath after the card', () => {
  assert.is(out('it expires oh four twenty seven and the security code is one two three'), 'it expires [CARD_EXPIRY] and the security code is [CVV]');
  assert.is(out('exp 04/27 cvv 123'), 'exp [CARD_EXPIRY] cvv [CVV]');
  assert.is(out('valid thru april twenty twenty seven'), 'valid thru [CARD_EXPIRY]');
  assert.is(out('expiration date 11/2029'), 'expiration date [CARD_EXPIRY]');
  assert.is(out('the three digit code on the back is four five six'), 'the three digit code on the back is [CVV]');
  assert.is(out('card is four one one one one one one one one one one one one one one one oh four two seven one two three'), 'card is [CARD] [CARD_EXPIRY] [CVV]');
  assert.is(out('4111 1111 1111 1111 1229 987'), '[CARD] [CARD_EXPIRY] [CVV]');
  // "oh one thirty, one two one" said without a pause reads as 01/31 + 21: the code is still redacted
  assert.is(out('card four one one one one one one one one one one one one one one one oh one thirty one two one'), 'card [CARD] [CARD_EXPIRY] [CVV]');
});

test('CVV context does not swallow other numbers', () => {
  assert.equal(types('my passport expired last year'), []);
  assert.equal(types('the last four digits of the card are 1234'), []);
  assert.equal(types('my pin is 1234'), []);
  assert.equal(spans('social security number 123-45-6789'), ['SSN:123-45-6789']);
});

test('social security numbers: formatted, bare, spoken, grouped with pauses', () => {
  assert.is(out('ssn 123-45-6789'), 'ssn [SSN]');
  assert.is(out('yes it is 123-45-6789'), 'yes it is [SSN]');
  assert.is(out('my social is 123 45 6789'), 'my social is [SSN]');
  assert.is(out('my social is one two three, four five, six seven eight nine'), 'my social is [SSN]');
  assert.is(out('social security number oh double one two two three three three three'), 'social security number [SSN]');
  assert.is(out('social three two six, thirty three, sixty seven eighty nine'), 'social [SSN]');
});

test('phone numbers: North American, E.164, international and spoken', () => {
  for (const p of ['(555) 234-5678', '555-234-5678', '555.234.5678', '+1 555 234 5678', '1-800-555-0199', '5552345678',
    '+44 20 7946 0958', '+33 1 23 45 67 89', '+49 30 12345678', '020 7946 0958', '0044 20 7946 0958']) {
    assert.is(out(`call me on ${p} thanks`), 'call me on [PHONE] thanks', p);
  }
  assert.is(out('my number is five five five, two three four, five six seven eight'), 'my number is [PHONE]');
  assert.is(out('one eight hundred five five five double one two two'), '[PHONE]');
  assert.is(out('plus four four seven seven oh oh nine oh oh one two three'), '[PHONE]');
  assert.is(out('call 555-1234 now'), 'call [PHONE] now');
});

test('email addresses: written and spoken', () => {
  assert.is(out('my email is john.smith@gmail.com.'), 'my email is [EMAIL].');
  assert.is(out('j_doe84@yahoo.co.uk is mine'), '[EMAIL] is mine');
  assert.is(out('my email is john dot smith at gmail dot com'), 'my email is [EMAIL]');
  assert.is(out('send it to jane underscore doe at outlook dot co dot uk please'), 'send it to [EMAIL] please');
  assert.is(out('it is mike eighty four at yahoo dot com'), 'it is [EMAIL]');
  assert.is(out('my email is j smith at example dot org'), 'my email is [EMAIL]');
  assert.is(out('email me at john smith at gmail dot com'), 'email me at [EMAIL]');
  assert.equal(types('I will be at home at five, call me at noon'), []);
});

test('IBANs: compact, grouped, spelled out; a bad checksum is not an IBAN', () => {
  assert.is(out('my IBAN is GB82WEST12345698765432'), 'my IBAN is [IBAN]');
  assert.is(out('IBAN GB82 WEST 1234 5698 7654 32 thanks'), 'IBAN [IBAN] thanks');
  assert.is(out('DE89 3704 0044 0532 0130 00'), '[IBAN]');
  assert.is(out('g b eight two, w e s t, one two three four, five six nine eight, seven six five four, three two'), '[IBAN]');
  assert.not.ok(types('IBAN GB82 WEST 1234 5698 7654 33').includes('IBAN'));
  assert.is(out('my iban is gb82 west 1234 5698 7654 32'), 'my iban is [IBAN]');
  assert.is(out('de89 3704 0044 0532 0130 00 is the account'), '[IBAN] is the account');
  assert.not.ok(types('my iban is gb82 west 1234 5698 7654 33').includes('IBAN'));
});

test('dates of birth in context; other dates stay', () => {
  for (const d of ['03/14/1984', '3/14/84', '1984-03-14', 'March 14th, 1984', '14 March 1984',
    'march fourteenth nineteen eighty four', 'oh three fourteen eighty four', 'march the fourteenth, nineteen eighty four']) {
    assert.is(out(`I was born on ${d}`), 'I was born on [DOB]', d);
  }
  assert.is(out('date of birth: 07/04/1976, thanks'), 'date of birth: [DOB], thanks');
  assert.is(out('DOB the fourth of july nineteen seventy six'), 'DOB the [DOB]');
  assert.is(out('my birthday is May 5th'), 'my birthday is [DOB]');
  assert.is(out('my date of birth is two thousand five oh one oh one'), 'my date of birth is [DOB]');
  assert.equal(types('the meeting is on March 3rd at ten thirty'), []);
});

test('street addresses: written and spoken, with units; quantities stay', () => {
  assert.is(out('I live at 123 Main Street'), 'I live at [ADDRESS]');
  assert.is(out('ship to 4500 North Oak Ave., Apt 4B please'), 'ship to [ADDRESS] please');
  assert.is(out('one two three maple lane apartment five'), '[ADDRESS]');
  assert.is(out('twelve thirty four elm drive'), '[ADDRESS]');
  assert.is(out('350 5th Avenue'), '[ADDRESS]');
  assert.is(out('1364 South Martin Luther King Court'), '[ADDRESS]');
  assert.equal(types('I walked 3 blocks down the road'), []);
  assert.equal(types('there are two lanes on the highway'), []);
});

test('abbreviated directions, P.O. boxes and ZIP codes', () => {
  assert.is(out('I live at 123 N. Main St.'), 'I live at [ADDRESS]');
  assert.is(out('I live at 123 N. Main St. since May'), 'I live at [ADDRESS] since May');
  assert.is(out('send it to P.O. Box 4521'), 'send it to [ADDRESS]');
  assert.is(out('PO Box 77 please'), '[ADDRESS] please');
  assert.is(out('p o box four five two one'), '[ADDRESS]');
  assert.is(out('post office box nine nine'), '[ADDRESS]');
  assert.is(out('my zip code is 62704'), 'my zip code is [ADDRESS]');
  assert.is(out('the zip is nine oh two one oh'), 'the zip is [ADDRESS]');
  assert.is(out('zip 62704-1234'), 'zip [ADDRESS]');
  assert.is(out('123 Main St, Springfield, IL 62704'), '[ADDRESS], Springfield, [ADDRESS]');
  assert.is(out('I moved to New York 10001 last year'), 'I moved to [ADDRESS] last year');
  assert.equal(types('turn north on main street after 2 blocks'), []);
  assert.equal(types('the zip file is 12 megabytes'), []);
  assert.equal(types('in 12345 ways'), []);
});

test('a phone number spoken in groups with its area code after it', () => {
  assert.is(out('my number is five five five, one two three four, area code two one two'), 'my number is [PHONE]');
  assert.is(out('555-1234, area code 212'), '[PHONE]');
  assert.is(out('reach me at 555 1234 and the area code is 212 after six'), 'reach me at [PHONE] after six');
});

test('ordinary numbers stay as they are', () => {
  for (const s of ['I need two tickets', 'order 12 has not arrived', "I'm forty two", 'room 101 please', 'call me at five pm',
    'we meet at 10:30', 'it costs $1,249.99', 'that is forty nine ninety nine', 'my order number is 4829173650',
    'reference number seven seven three one nine oh two', 'flight 2417', 'we lived there between 1990 and two thousand five',
    'oh I see, one at a time', 'the line is open twenty four seven']) {
    assert.is(out(s), s, s);
  }
});

test('offsets: tags sit at entities[].start..end of the redacted text, spans cover the original words', () => {
  const text = 'card four one one one one one one one one one one one one one one one, call 555-234-5678 or mail a.b@c.io';
  const r = redact(text);
  assert.is(r.text, 'card [CARD], call [PHONE] or mail [EMAIL]');
  assert.equal(r.entities.map((e) => e.type), ['CARD', 'PHONE', 'EMAIL']);
  for (const e of r.entities) assert.is(r.text.slice(e.start, e.end), `[${e.type}]`);
  assert.equal(spans(text), [
    'CARD:four one one one one one one one one one one one one one one one',
    'PHONE:555-234-5678',
    'EMAIL:a.b@c.io',
  ]);
  const leading = '  \u00a0(555) 234-5678';
  assert.equal(spans(leading), ['PHONE:(555) 234-5678']);
  assert.is(redact('no pii here').entities.length, 0);
  assert.is(redact('').text, '');
});

test('context reads through contractions, abbreviations and "area code"', () => {
  assert.is(out("it's 4111-1111-1111-1111, exp. 12/26"), "it's [CARD], exp. [CARD_EXPIRY]");
  assert.is(out("my birthday's on the 3rd of June"), "my birthday's on the [DOB]");
  assert.is(out('area code five five five, then two three four, five six seven eight'), 'area code [PHONE]');
  assert.is(out('my employee number is 123456789'), 'my employee number is 123456789');
});

test('redact rejects non-strings without echoing them', () => {
  assert.throws(() => redact(4111111111111111 as unknown as string), (e: unknown) => e instanceof TypeError && !String(e).includes('4111'));
});

test.run();
