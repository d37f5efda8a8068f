// live-lists.js — the live popularity lists document (docs/popularity.md) and keeping engines in
// step with it, on both platforms: the Worker reads it from KV `lists:live` (bundles.js), Lambda@Edge
// from S3 `<prefix>live-lists.json` (runtime.mjs).
//
//   {"generated_at": unixSeconds, "lists": {"most-viewed": [["SKU", score], …], …}, "counts": {…}}
//
// `lists` is exactly what engine.setLists takes; the engine validates the entries (shape, scores,
// limits) and keeps its previous lists when it refuses them.  Extra fields are ignored.
//
//   const live = new LiveLists();
//   live.update(textOrNull)   a document just read (null: there is none) → true when it changed
//   live.apply(engine)        that engine with the current lists (set once per engine and document)
//   live.status(nowMs)        for /edge/health

export const MAX_LIVE_LISTS_BYTES = 1024 * 1024; // the engine's limit on the lists JSON

/** Parse a live-lists document's text: {generatedAt, json} (json: the engine's lists JSON), or an
 * Error naming what is wrong. */
export function parseLiveLists(text) {
  if (typeof text !== 'string') throw new Error('live lists: the document must be text');
  if (text.length > 2 * MAX_LIVE_LISTS_BYTES) throw new Error(`live lists: document over ${2 * MAX_LIVE_LISTS_BYTES} bytes`);
  let doc;
  try { doc = JSON.parse(text); } catch (e) { throw new Error(`live lists: not JSON: ${e.message}`); }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('live lists: the document must be a JSON object');
  if (doc.generated_at !== undefined && !Number.isFinite(doc.generated_at)) throw new Error('live lists: generated_at must be unix seconds');
  if (!doc.lists || typeof doc.lists !== 'object' || Array.isArray(doc.lists)) throw new Error("live lists: field 'lists' must be an object of lists");
  return { generatedAt: doc.generated_at ?? null, json: JSON.stringify(doc.lists), entries: Object.fromEntries(
    Object.entries(doc.lists).map(([k, v]) => [k, Array.isArray(v) ? v.length : null])) };
}

export class LiveLists {
  constructor() {
    this.text = null;        // the document in force (null: none, the bundles' lists)
    this.parsed = null;      // parseLiveLists(text)
    this.error = null;       // the last problem: a bad document, or the engine refusing it
    this.readError = null;   // the last read failure (set by the platform)
    this.applied = new WeakMap(); // engine → the text applied to it
  }

  /** A document just read (text, or null when there is none); a bad one keeps the last good one
   * (and says why in status()).  Returns true when what engines should have changed. */
  update(text) {
    this.readError = null;
    if (text === this.text) return false;
    if (text === null) { this.text = null; this.parsed = null; this.error = null; return true; }
    try {
      this.parsed = parseLiveLists(text);
      this.text = text;
      this.error = null;
      return true;
    } catch (e) {
      this.error = e.message;
      return false;
    }
  }

  /** The engine, with the current lists set (once per engine and document; a refusal is
   * remembered and the engine keeps the lists it had; after a trap — the engine rebuilt itself —
   * the next call tries again).  Never throws. */
  apply(engine) {
    if (!engine || this.applied.get(engine) === this.text) return engine;
    if (!this.applied.has(engine) && this.text === null) { this.applied.set(engine, null); return engine; }
    try {
      engine.setLists(this.text === null ? null : this.parsed.json);
      if (this.text !== null) this.error = null;
    } catch (e) {
      this.error = `${e.code ? `${e.code}: ` : ''}${e.message}`;
      if (e.code === 'trap') return engine; // not marked: set on the next call
    }
    this.applied.set(engine, this.text);
    return engine;
  }

  /** What /edge/health shows: when the lists in force were generated, their age, entries per list. */
  status(nowMs = Date.now()) {
    const at = this.parsed?.generatedAt ?? null;
    return {
      in_force: this.text !== null,
      generated_at: at,
      age_seconds: at !== null ? Math.max(0, Math.floor(nowMs / 1000 - at)) : null,
      entries: this.parsed?.entries ?? null,
      error: this.error ?? this.readError,
    };
  }
}
