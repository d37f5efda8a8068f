// engine.test.mjs — worker-shim/core/engine.js INSIDE workerd (vitest workers pool),
// against outputs the native CLI produced beforehand (make-expected.mjs).
import { describe, it, expect } from 'vitest';
import expected from '../../build/workerd/expected.json';
import wasm from '../../wasm/edgerec.wasm';
import emsWasm from '../../wasm/edgerec.emscripten.wasm';
import createEdgerecModule from '../../wasm/edgerec.emscripten.mjs';
import bundle from '../../build/sample.erb';
import { Engine, EngineError } from '../../worker-shim/core/engine.js';
import { EmscriptenEngine } from '../../worker-shim/core/engine-emscripten.js';

const dec = new TextDecoder();
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const builds = {
  reactor: () => new Engine(wasm, new Uint8Array(bundle)),
  emscripten: () => new EmscriptenEngine(createEdgerecModule, emsWasm, new Uint8Array(bundle)),
};

it('runs inside workerd with compiled modules and a Data bundle', () => {
  expect(navigator.userAgent).toBe('Cloudflare-Workers');
  expect(wasm).toBeInstanceOf(WebAssembly.Module);
  expect(emsWasm).toBeInstanceOf(WebAssembly.Module);
  expect(bundle).toBeInstanceOf(ArrayBuffer);
  // workerd refuses to compile wasm from bytes: the reason modules are imported.
  expect(() => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).toThrow();
});

for (const [build, make] of Object.entries(builds)) {
  describe(build, () => {
    it('info() equals the native inspect', () => {
      expect(make().info()).toEqual(expected.info);
    });

    it('recommend equals the native CLI for every context', () => {
      const e = make();
      for (const [name, { ctx, out }] of Object.entries(expected.recommend)) expect(e.recommend(ctx), name).toBe(out);
      expect(e.units()).toBeGreaterThan(0);
    });

    it('errors are EngineErrors with the native message and an offset', () => {
      const e = make();
      for (const { ctx, exit, stderr } of expected.errors) {
        expect(exit).toBe(3);
        let err;
        try { e.recommend(ctx); } catch (x) { err = x; }
        expect(err).toBeInstanceOf(EngineError);
        expect(stderr).toContain(err.message);
        expect(err.offset === null || (err.offset >= 0 && err.offset <= ctx.length)).toBe(true);
      }
    });

    it('rerank equals the native CLI (bodies and bypass reasons)', () => {
      const e = make();
      for (const { name, ctx, resp, out, reason } of expected.rerank) {
        const r = e.rerank(resp, ctx);
        if (reason) {
          expect(r, name).toMatchObject({ ok: false, reason });
          expect(out).toBe(resp); // the CLI served the original
        } else {
          expect(r.ok, `${name}: ${r.reason}`).toBe(true);
          expect(dec.decode(r.body)).toBe(out);
        }
      }
    });

    it('profile updates are byte-identical, show and recommend-with-profile too', () => {
      const e = make();
      let p = null;
      for (const { event, b64 } of expected.profiles) {
        expect(e.checkEvent(event)).toBeNull();
        p = e.updateProfile(p, event);
        expect(p).toEqual(fromB64(b64));
      }
      expect(e.profileJson(p)).toEqual(expected.profileShow);
      expect(e.recommend(expected.recommendWithProfile.ctx, p)).toBe(expected.recommendWithProfile.out);
      expect(e.checkEvent('{"type":"view"}')).toMatch(/item/);
    });

    it('trap inside workerd: EngineError "trap", then identical output', () => {
      const e = make();
      const { ctx, out } = expected.recommend.anon;
      expect(e.recommend(ctx)).toBe(out);
      let err;
      try { e.debugTrap(); } catch (x) { err = x; }
      expect(err).toBeInstanceOf(EngineError);
      expect(err.code).toBe('trap');
      expect(e.recommend(ctx)).toBe(out);
      const rr = expected.rerank.find((x) => !x.reason);
      expect(dec.decode(e.rerank(rr.resp, rr.ctx).body)).toBe(rr.out);
    });

    it('live lists: trending follows setLists, rules apply, bad input and traps keep them, null gives the native answer back', () => {
      const e = make();
      const { ctx, out } = expected.recommend.trending;
      expect(e.recommend(ctx)).toBe(out);
      const live = JSON.stringify({ trending: [['ER-WS-02', 5], ['ER-BAG-05', 9], ['ER-BAG-08', 4], ['ER-NOPE', 8], ['ER-WT-01-S', 2]] });
      expect(e.setLists(live)).toEqual({ trending: 4 });
      // ER-BAG-05 (the list's top score) is out of stock; ER-BAG-08 keeps the bundle's bury rule (-0.5);
      // the child ER-WT-01-S is shown as its parent; ER-NOPE is not in the bundle
      const items = JSON.parse(e.recommend(ctx)).items;
      expect(items).toEqual([{ sku: 'ER-WS-02', score: 0.5555 }, { sku: 'ER-WT-01', score: 0.2222 }, { sku: 'ER-BAG-08', score: -0.0556 }]);
      const liveOut = e.recommend(ctx);
      let err;
      try { e.setLists('{"trending":[["ER-WS-02",-1]]}'); } catch (x) { err = x; }
      expect(err).toBeInstanceOf(EngineError);
      expect([err.code, err.offset, err.message]).toEqual(['range', 25, "lists: 'trending'[0] score must be a finite number >= 0, got -1 (byte 25)"]);
      expect(e.recommend(ctx)).toBe(liveOut);
      try { e.debugTrap(); } catch (x) { err = x; }
      expect(err.code).toBe('trap');
      expect(e.recommend(ctx)).toBe(liveOut);
      expect(e.info().live_lists).toEqual({ trending: 4 });
      expect(e.setLists(null)).toBeNull();
      expect(e.recommend(ctx)).toBe(out);
      expect(e.info()).toEqual(expected.info);
    });

    it('concurrent requests in one isolate share one instance safely', async () => {
      const e = make();
      const entries = Object.values(expected.recommend);
      const reranks = expected.rerank.filter((x) => !x.reason);
      const results = await Promise.all(Array.from({ length: 120 }, async (_, i) => {
        await scheduler.wait(i % 4); // interleave across timers, as requests would
        if (i % 2) { const x = entries[i % entries.length]; return [e.recommend(x.ctx), x.out]; }
        const x = reranks[i % reranks.length];
        await null;
        return [dec.decode(e.rerank(x.resp, x.ctx).body), x.out];
      }));
      for (const [got, want] of results) expect(got).toBe(want);
    });
  });
}
