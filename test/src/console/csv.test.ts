/** The contacts import's CSV reader: quoting, line endings, and a per-line error for every row it cannot use. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { contactLines, parseCsv } from '../../../src/console/app/csv.ts';

test('parseCsv reads quoted fields, doubled quotes, commas and newlines inside quotes, CRLF', () => {
  assert.equal(parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\nline",z'), [['a', 'b'], ['x, y', 'say "hi"'], ['multi\nline', 'z']]);
  assert.equal(parseCsv('a\n'), [['a']]);
  assert.equal(parseCsv(''), []);
});

test('contactLines names each bad row by its line number and keeps the good ones', () => {
  const { lines, errors } = contactLines('\uFEFFName,Phone,Email\nAda,+14153234567,ada@example.com\n\nBob,,bob@example.com\nCy,+14152000000\n"<script>x</script>",555-0100,\n');
  assert.equal(lines, [
    { line: 2, name: 'Ada', phone: '+14153234567', email: 'ada@example.com' },
    { line: 6, name: '<script>x</script>', phone: '555-0100', email: null },
  ]);
  assert.equal(errors, [{ line: 4, message: 'phone is empty' }, { line: 5, message: 'expected 3 fields, found 2' }]);
  assert.equal(contactLines('name,email\nA,a@b.c').errors, [{ line: 1, message: 'the header has no "phone" column' }]);
});

test.run();
