/** The console's copy of the webhook event catalogue is the API's (storage WEBHOOK_EVENT_TYPES). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WEBHOOK_EVENT_TYPES as API_TYPES } from '../../../storage/index.ts';
import { WEBHOOK_EVENT_TYPES as CONSOLE_TYPES } from '../../../src/console/app/webhook-events.ts';

test('the console offers exactly the event types the API accepts', () => {
  assert.equal([...CONSOLE_TYPES].sort(), [...API_TYPES].sort());
});

test.run();
