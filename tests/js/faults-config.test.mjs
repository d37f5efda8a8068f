// faults-config.test.mjs — what the fault matrix (tests/workerd/faults.test.mjs) relies on in
// wrangler.toml, which workerd tests cannot read: the events queue's dead-letter queue and its
// consumer, and the deadline settings' defaults agreeing with deadline.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEAD_LETTER_QUEUE } from '../../worker-shim/cloudflare/events.js';
import { DEFAULT_DEADLINE_MS, edgeDeadlineMs } from '../../worker-shim/cloudflare/deadline.js';

const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
/** The [[queues.consumers]] tables as {key: value} (strings and numbers). */
const consumers = toml.split(/^\[\[queues\.consumers\]\]\s*$/m).slice(1).map((block) => Object.fromEntries(
  [...block.split(/^\[/m)[0].matchAll(/^\s*(\w+)\s*=\s*(?:"([^"]*)"|(\d+))/gm)].map((m) => [m[1], m[2] ?? Number(m[3])])));

test('edgerec-events has a dead-letter queue, named as events.js consumes it, with a consumer of its own', () => {
  const events = consumers.find((c) => c.queue === 'edgerec-events');
  assert.ok(events, 'a consumer of edgerec-events');
  assert.equal(events.dead_letter_queue, DEAD_LETTER_QUEUE);
  assert.ok(events.max_retries > 0 && events.max_retries <= 100, `max_retries ${events.max_retries}`);
  const dlq = consumers.find((c) => c.queue === DEAD_LETTER_QUEUE);
  assert.ok(dlq, `a consumer of ${DEAD_LETTER_QUEUE}`);
  assert.equal(dlq.dead_letter_queue, undefined); // the end of the line
});

test('EDGE_DEADLINE_MS in [vars] is deadline.js\'s default; a bad value falls back to it', () => {
  const v = /^EDGE_DEADLINE_MS\s*=\s*"(\d+)"/m.exec(toml);
  assert.ok(v, 'EDGE_DEADLINE_MS is in [vars]');
  assert.equal(Number(v[1]), DEFAULT_DEADLINE_MS);
  assert.equal(edgeDeadlineMs({ EDGE_DEADLINE_MS: '300' }), 300);
  for (const bad of [undefined, '', 'soon', '-5', '0']) assert.equal(edgeDeadlineMs({ EDGE_DEADLINE_MS: bad }), DEFAULT_DEADLINE_MS);
  assert.match(toml, /^ORIGIN_TIMEOUT_MS\s*=\s*"\d+"/m);
});
