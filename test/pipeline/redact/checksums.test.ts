import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ibanCheckDigits, ibanValid, luhnCheckDigit, luhnValid } from '../../../pipeline/redact/checksums.ts';

test('Luhn', () => {
  for (const ok of ['4111111111111111', '5500000000000004', '378282246310005', '6011111111111117', '79927398713']) assert.ok(luhnValid(ok), ok);
  for (const bad of ['4111111111111112', '1234567890123456', '', '4111a11111111111']) assert.not.ok(luhnValid(bad), bad);
  assert.is(luhnCheckDigit('411111111111111'), 1);
});

test('IBAN mod 97', () => {
  for (const ok of ['GB82WEST12345698765432', 'DE89370400440532013000', 'FR1420041010050500013M02606', 'NL91ABNA0417164300']) assert.ok(ibanValid(ok), ok);
  assert.not.ok(ibanValid('GB82WEST12345698765433'));
  assert.not.ok(ibanValid('GB82'));
  assert.is(ibanCheckDigits('GB', 'WEST12345698765432'), '82');
});

test.run();
