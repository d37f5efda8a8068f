// fake-pwa-buildpack.cjs — a stand-in for @magento/pwa-buildpack's Targetables, for running the
// Venia extension's intercept.js without PWA Studio's build (a Venia webpack 4 build cannot run
// here: docs/venia.md).  Same API names and the same transform requests as the real classes
// (lib/WebpackTools/targetables: TargetableSet.using, reactComponent / esModule / module,
// addImport → SingleImportStatement (its toString is the binding), insertAfterJSX /
// insertBeforeJSX / appendJSX … → a 'babel' request for BabelModifyJSXPlugin, spliceSource /
// insertAfterSource / prependSource → a 'source' request for splice-source-loader;
// setSpecialFeatures taps the builtin specialFeatures target), so venia-e2e.mjs can apply them.
'use strict';
const BABEL_JSX = '@magento/pwa-buildpack/lib/WebpackTools/targetables/BabelModifyJSXPlugin/index.js';
const SPLICE = '@magento/pwa-buildpack/lib/WebpackTools/loaders/splice-source-loader';

class TargetableModule {
  constructor(file) { this.file = file; this._queued = []; }
  addTransform(type, transformModule, options) { this._queued.push({ type, fileToTransform: this.file, transformModule, options }); return this; }
  flush() { return this._queued.splice(0); }
  spliceSource(instruction) { return this.addTransform('source', SPLICE, instruction); }
  insertAfterSource(after, insert, options = {}) { return this.spliceSource({ after, insert, ...options }); }
  insertBeforeSource(before, insert, options = {}) { return this.spliceSource({ before, insert, ...options }); }
  prependSource(insert) { return this.spliceSource({ at: 0, insert }); }
}

class SingleImportStatement {
  constructor(statement) {
    const m = /^\s*(?:import\s+)?(?:(\w+)|\{\s*(\w+)(?:\s+as\s+(\w+))?\s*\})\s+from\s+(['"])([^'"]+)\4;?\s*$/.exec(statement);
    if (!m) throw new Error(`fake buildpack: not a single-binding import: ${statement}`);
    this.binding = m[1] ?? m[3] ?? m[2];
    this.source = m[5];
    this.statement = `import ${statement.replace(/^\s*import\s+/, '').replace(/;?\s*$/, '')};\n`;
  }
  toString() { return this.binding; }
}

class TargetableESModule extends TargetableModule {
  constructor(file) { super(file); this._imports = new Map(); }
  addImport(statement) {
    const s = new SingleImportStatement(statement);
    if (this._imports.has(s.source)) return this._imports.get(s.source);
    this._imports.set(s.source, s);
    this.prependSource(s.statement);
    return s;
  }
}

class TargetableReactComponent extends TargetableESModule {
  _jsx(operation, element, jsx, options) { return this.addTransform('babel', BABEL_JSX, { element, operation, params: jsx ? { jsx, ...options } : options }); }
  appendJSX(element, child, options) { return this._jsx('append', element, child, options); }
  prependJSX(element, child, options) { return this._jsx('prepend', element, child, options); }
  insertAfterJSX(element, sibling, options) { return this._jsx('insertAfter', element, sibling, options); }
  insertBeforeJSX(element, sibling, options) { return this._jsx('insertBefore', element, sibling, options); }
  replaceJSX(element, replacement, options) { return this._jsx('replace', element, replacement, options); }
  removeJSX(element, options) { return this._jsx('remove', element, null, options); }
}

class TargetableSet {
  static using(targets) { return new TargetableSet(targets); }
  constructor(targets) {
    if (!targets || typeof targets.of !== 'function' || typeof targets.name !== 'string') throw new Error('Must supply a TargetProvider to a new TargetableSet.');
    this._owner = targets.name;
    this._builtins = targets.of('@magento/pwa-buildpack');
    this._files = new Map();
    this._builtins.transformModules.tapPromise('TargetableSet', async (addTransform) => {
      for (const t of this._files.values()) t.flush().forEach(addTransform);
    });
  }
  _provide(Kind, file) {
    const t = this._files.get(file) ?? new Kind(file);
    if (!(t instanceof Kind)) throw new Error(`Cannot target the file "${file}" using "${Kind.name}"`);
    this._files.set(file, t);
    return t;
  }
  module(file) { return this._provide(TargetableModule, file); }
  esModule(file) { return this._provide(TargetableESModule, file); }
  reactComponent(file) { return this._provide(TargetableReactComponent, file); }
  setSpecialFeatures(...args) {
    const flags = {};
    for (const a of args) {
      if (typeof a === 'string') flags[a] = true; else if (Array.isArray(a)) a.forEach((f) => { flags[f] = true; }); else Object.assign(flags, a);
    }
    this._builtins.specialFeatures.tap((features) => { features[this._owner] = { ...(features[this._owner] ?? {}), ...flags }; });
  }
}

/** A TargetProvider for `name` with the two builtin buildpack targets TargetableSet uses; run() calls them as the build would. */
function fakeTargets(name) {
  const transformTaps = [], featureTaps = [];
  const builtins = { transformModules: { tapPromise: (_n, fn) => transformTaps.push(fn), tap: (_n, fn) => transformTaps.push(fn ?? _n) },
    specialFeatures: { tap: (fn) => featureTaps.push(fn) } };
  return {
    name,
    of(dep) { if (dep !== '@magento/pwa-buildpack') throw new Error(`fake targets: no targets of ${dep}`); return builtins; },
    async run() {
      const transforms = [], features = {};
      for (const fn of transformTaps) await fn((t) => transforms.push(t));
      for (const fn of featureTaps) fn(features);
      return { transforms, features };
    },
  };
}

module.exports = { Targetables: TargetableSet, fakeTargets, BABEL_JSX, SPLICE };
