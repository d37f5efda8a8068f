// harness.js — the Venia extension's test page (bundled by venia-e2e.mjs with esbuild, served from the
// Magento stand-in through the edge Worker, so /graphql and /edge/events are the Worker's).  It mounts
// the stand-ins of Venia's pages *after* intercept.js's transforms were applied to them, with an
// Apollo client built the way Venia's useAdapter builds it (its cache: useAdapter.js, spliced; GET
// queries as Venia's useGETForQueries).
//   ?page=product&sku=S&name=N   ProductFullDetail          ?page=cart&cart=S1,S2   CartPage
//   ?page=home                   the CMS page "home"        ?page=atc&sku=S         units with an add-to-cart button
//   ?page=control                the query through Venia's cache with and without the spliced possibleTypes
//   ?page=unreachable            units whose edge (endpoint) cannot be reached: nothing shown, the page intact
import React from 'react';
import { createRoot } from 'react-dom/client';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { ApolloProvider } from '@apollo/client/react';
import { EdgerecUnits, GET_RECOMMENDATIONS } from '@edgerec/venia';
import { preInstantiatedCache } from './useAdapter.js';
import ProductFullDetail from './productFullDetail.js';
import CartPage from './cartPage.js';
import CMSPage from './cms.js';

const params = new URLSearchParams(location.search);
const page = params.get('page') ?? 'home';
const link = () => new HttpLink({ uri: '/graphql', useGETForQueries: true });
const client = new ApolloClient({ cache: preInstantiatedCache, link: link() });
const harness = (window.__harness = { page, shifts: [], added: [], client, ready: false });

new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) harness.shifts.push({ value: e.value, sources: (e.sources ?? []).map((s) => s.node?.id || s.node?.className || s.node?.nodeName) });
}).observe({ type: 'layout-shift', buffered: true });

/** Every object of a JSON tree (the cache's contents) — for the test's look at what Apollo stored. */
harness.cacheObjects = () => {
  const out = [];
  const walk = (v) => { if (Array.isArray(v)) v.forEach(walk); else if (v && typeof v === 'object') { out.push(v); Object.values(v).forEach(walk); } };
  walk(client.cache.extract());
  return out;
};

async function control() {
  const variables = { pageType: 'CMS' };
  const ask = async (cache) => {
    const c = new ApolloClient({ cache, link: link() });
    const r = await c.query({ query: GET_RECOMMENDATIONS, variables, fetchPolicy: 'network-only' });
    return r.data?.recommendations?.results?.flatMap((u) => u.productsView ?? []) ?? [];
  };
  // Venia's cache as webpack defines it (POSSIBLE_TYPES: the Magento schema's) vs. the spliced one
  harness.control = { without: await ask(new InMemoryCache({ possibleTypes: POSSIBLE_TYPES })), with: await ask(preInstantiatedCache) };
  harness.ready = true;
}

function Page() {
  if (page === 'product') return <ProductFullDetail product={{ sku: params.get('sku'), name: params.get('name') ?? params.get('sku') }} />;
  if (page === 'cart') return <CartPage items={(params.get('cart') ?? '').split(',').filter(Boolean)} />;
  if (page === 'atc') {
    return <EdgerecUnits pageType="Product" currentSku={params.get('sku')} reserve={2}
      onAddToCart={(p, { unit, rank }) => harness.added.push({ sku: p.sku, unit: unit.unitId, rank })} />;
  }
  if (page === 'unreachable') return <EdgerecUnits pageType="CMS" endpoint="http://127.0.0.1:9" />;
  return <CMSPage identifier="home" />;
}

if (page === 'control') control().catch((e) => { harness.error = e.message; harness.ready = true; });
else {
  createRoot(document.getElementById('root')).render(
    <ApolloProvider client={client}>
      <main id="page"><Page /></main>
      <footer id="below" style={{ height: 400, borderTop: '1px solid #ccc' }}>Below the units (moves if they shift the page)</footer>
    </ApolloProvider>,
  );
  harness.ready = true;
}
