// Stand-in for Peregrine's useAdapter (peregrine lib/talons/Adapter/useAdapter.js): Venia's Apollo
// cache, whose possibleTypes come from webpack's POSSIBLE_TYPES (the Magento schema's, defined at
// build time) — the text intercept.js splices.
import { InMemoryCache } from '@apollo/client';

const typePolicies = {};

export const preInstantiatedCache = new InMemoryCache({
    // POSSIBLE_TYPES is injected into the bundle by webpack at build time.
    possibleTypes: POSSIBLE_TYPES,
    typePolicies
});
