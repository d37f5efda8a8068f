// storefrontScript.js — the storefront script's API for the Venia extension: observeUnit, report,
// newPageView, priceText, safeUrl of worker-shim/browser/recs.js, one implementation for every
// storefront.  It is loaded at run time from the edge (GET /edge/recs.js, the script the Worker serves)
// rather than bundled: Venia builds with webpack 4, whose parser cannot read recs.js (`import.meta`,
// optional chaining; Venia's Babel only compiles its own and flagged packages' folders), and the
// Worker's copy is always the one that matches its /edge/events.  webpackIgnore keeps webpack 4 (and
// 5) from bundling or rewriting the import; other bundlers leave a computed import() alone.
import { useEffect, useState } from 'react';

const loads = new Map(); // script URL → Promise of the module

/** The script's URL: `<endpoint>/edge/recs.js`; endpoint (an http(s) base URL) defaults to the page's origin. */
export function storefrontScriptUrl(endpoint) {
  const base = typeof endpoint === 'string' && endpoint.trim() ? endpoint.trim().replace(/\/+$/, '').replace(/\/edge$/, '') : '';
  const url = new URL(`${base}/edge/recs.js`, typeof document !== 'undefined' ? document.baseURI : undefined);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`edgerec: endpoint ${JSON.stringify(endpoint)} must be an http(s) URL`);
  return url.href;
}

/** The storefront script's module (loaded once per URL); rejects naming the URL when it cannot be loaded. */
export function loadStorefrontScript(endpoint) {
  let url;
  try { url = storefrontScriptUrl(endpoint); } catch (e) { return Promise.reject(e); }
  if (!loads.has(url)) {
    const p = import(/* webpackIgnore: true */ /* @vite-ignore */ url).then((m) => {
      for (const name of ['observeUnit', 'report', 'newPageView', 'priceText', 'safeUrl']) {
        if (typeof m[name] !== 'function') throw new Error(`edgerec: ${url} has no ${name}() (an older edge?)`);
      }
      return m;
    }, (e) => { throw new Error(`edgerec: cannot load ${url}: ${(e && e.message) || e}`); });
    p.catch(() => loads.delete(url)); // a failed load is tried again on the next page
    loads.set(url, p);
  }
  return loads.get(url);
}

/** React hook: the storefront script's module, null while it loads, or {error} when it cannot be loaded. */
export function useStorefrontScript(endpoint) {
  const [state, setState] = useState(null);
  useEffect(() => {
    let live = true;
    loadStorefrontScript(endpoint).then((m) => { if (live) setState(() => m); }, (error) => {
      console.warn(error.message);
      if (live) setState({ error });
    });
    return () => { live = false; };
  }, [endpoint]);
  return state;
}
