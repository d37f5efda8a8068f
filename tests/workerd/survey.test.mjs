// survey.test.mjs — POST /edge/feedback/survey (worker-shim/cloudflare/survey.js) through the real Worker
// INSIDE workerd: survey tools' responses become `feedback` events on the Queue (a recording one here),
// authenticated by SURVEY_WEBHOOK_TOKEN, mapped from the fields tools send (hidden fields, NPS scores),
// attributed to the shopper's arm when the response carries their pseudonymous id, refused with the field named.
import { describe, it, expect, beforeAll } from 'vitest';
import { env } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import { workerFetch } from '../lib/worker-fetch.mjs';
import { recordingEnv } from './recording-env.mjs';
import { surveyEvent } from '../../worker-shim/cloudflare/survey.js';
import luma from '../../build/workerd/luma.erb';

const SHOP = 'https://shop.example';
const TOKEN = 'survey-webhook-token-0123456789';
const { env: E, queued } = recordingEnv({ SURVEY_WEBHOOK_TOKEN: TOKEN });
const post = (body, { token = TOKEN, query = '', e = E } = {}) => workerFetch(worker, new Request(`${SHOP}/edge/feedback/survey${query}`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: typeof body === 'string' ? body : JSON.stringify(body),
}), e);
const feedback = () => queued.filter((m) => m.type === 'feedback');

beforeAll(async () => {
  await env.EDGEREC.put('bundle:test-1', luma.slice(0));
  await env.EDGEREC.put('bundle:active', 'test-1');
});

describe('POST /edge/feedback/survey', () => {
  it('does not exist without SURVEY_WEBHOOK_TOKEN; refuses a missing or wrong token; accepts ?token=', async () => {
    const none = await post({ sku: 'MH01', rating: 5 }, { e: { ...E, SURVEY_WEBHOOK_TOKEN: undefined } });
    expect(none.status).toBe(404);
    expect(none.json.error).toMatch(/SURVEY_WEBHOOK_TOKEN/);
    expect((await post({ sku: 'MH01', rating: 5 }, { token: null })).status).toBe(401);
    expect((await post({ sku: 'MH01', rating: 5 }, { token: 'wrong-token-0123456789' })).status).toBe(401);
    expect(feedback()).toEqual([]);
    const q = await post({ sku: 'MH01', rating: 4 }, { token: null, query: `?token=${TOKEN}` });
    expect(q.status, q.text).toBe(202);
    expect(feedback().map((e) => [e.item, e.rating, e.source])).toEqual([['MH01', 4, 'survey']]);
    queued.length = 0;
  });

  it('maps hidden fields, NPS scores and thumbs; a re-sent response keeps its event id; the shopper\'s id attributes it', async () => {
    const user = 'a'.repeat(64);
    const r = await post([
      { response_id: 'zp-1', score: 9, metadata: { sku: 'MJ01', edgerec_id: user } }, // Zigpoll-style metadata
      { responseId: 'q-7', embeddedData: { product_sku: 'WS03', rating: '2' } },       // Qualtrics-style embedded data
      { id: 't-3', hidden: { item: 'MH02' }, thumbs: 'down' },                          // Typeform-style hidden fields
      { response_id: 'zp-1', score: 9, metadata: { sku: 'MJ01', edgerec_id: user } },  // the tool retried
    ]);
    expect(r.status, r.text).toBe(202);
    expect(r.json).toEqual({ accepted: 4, rejected: [] });
    const ev = feedback();
    expect(ev.map((e) => [e.item, e.rating])).toEqual([['MJ01', 5], ['WS03', 2], ['MH02', 1], ['MJ01', 5]]);
    expect(ev[0].id).toBe(ev[3].id); // one event for the consumer (it de-duplicates by id)
    expect(new Set(ev.map((e) => e.id)).size).toBe(3);
    expect(ev[0].user).toBe(user);
    expect(ev[1].user).toBeUndefined();
    expect(ev.every((e) => e.model === 'test-1' && typeof e.ts === 'number' && e.text === undefined)).toBe(true);
    queued.length = 0;
  });

  it('refuses bad responses naming the field, accepts the good ones of a batch; bad bodies get 400/413', async () => {
    const r = await post([{ sku: 'MH01', score: 11 }, { rating: 3 }, { sku: 'MH01', thumbs: 'meh' }, { sku: 'MH01', rating: 5, edgerec_id: 'x' }, { sku: 'MH03', rating: 3 }]);
    expect(r.status, r.text).toBe(202);
    expect(r.json.accepted).toBe(1);
    expect(r.json.rejected.map((x) => x.index)).toEqual([0, 1, 2, 3]);
    expect(r.json.rejected[0].error).toMatch(/score must be an integer in 0\.\.10/);
    expect(r.json.rejected[1].error).toMatch(/item \(or sku, product_sku\)/);
    expect(r.json.rejected[2].error).toMatch(/thumbs/);
    expect(r.json.rejected[3].error).toMatch(/edgerec_id/);
    expect(feedback().map((e) => e.item)).toEqual(['MH03']);
    const allBad = await post({ rating: 3 });
    expect(allBad.status).toBe(400);
    expect((await post('{not json')).status).toBe(400);
    expect((await post([])).status).toBe(400);
    expect((await post('x'.repeat(70 * 1024))).status).toBe(413);
    queued.length = 0;
  });

  it('surveyEvent: NPS 0..10 maps onto 1..5 monotonically, ends included', () => {
    const r = Array.from({ length: 11 }, (_, s) => surveyEvent({ sku: 'A', score: s }).event.rating);
    expect(r[0]).toBe(1);
    expect(r[10]).toBe(5);
    expect(r.every((x, i) => i === 0 || x >= r[i - 1])).toBe(true);
  });
});
