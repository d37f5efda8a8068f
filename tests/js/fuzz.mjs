// fuzz.mjs — the settings the property-based fuzz tests (tests/js/*.fuzz.test.mjs, fast-check) share.
// `./build.sh test` runs each property FUZZ_RUNS times (default 200) from the fixed seed FUZZ_SEED
// (default 17017), so a run is reproducible; a long run: `FUZZ_RUNS=100000 node --test
// tests/js/*.fuzz.test.mjs` (`./build.sh fuzz S` runs them with FUZZ_RUNS=20000 after the libFuzzer
// targets).  A failure prints the seed and the shrunk counterexample: `FUZZ_SEED=<seed>` replays it, and
// the counterexample becomes a regression test.
import fc from 'fast-check';

const int = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
};

/** fast-check parameters: {seed, numRuns, …} from FUZZ_SEED / FUZZ_RUNS (`scale` multiplies the runs of
 * a cheap property, divides an expensive one's). */
export function params(scale = 1) {
  return { seed: int('FUZZ_SEED', 17017), numRuns: Math.max(1, Math.round(int('FUZZ_RUNS', 200) * scale)) };
}

/** Per-call time bound (ms) in these tests: generous for a shared 2-core machine, far under a hang. */
export const CALL_MS = 250;

/** Run fn and return [result, ms]. */
export function timed(fn) {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

/** Strings of every kind: ASCII, full Unicode (lone surrogates too), and the characters parsers trip on. */
export const anyString = (o = {}) => fc.oneof(
  fc.string(o),
  fc.string({ ...o, unit: 'binary' }),
  fc.string({ ...o, unit: fc.constantFrom(';', '=', '"', ' ', '\t', ',', '\\', '{', '}', '(', ')', '[', ']', '$', '#', '\u0000', '\u00ff', '\ud800', 'a', '1') }),
);

export { fc };
