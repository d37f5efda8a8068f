// possibleTypes.js — the interface Adobe's recommendations answer through, for Apollo's cache.
//
// `productsView` is a list of the `ProductView` interface (SimpleProductView, ComplexProductView in
// Adobe's Catalog Service schema, which the edge answers).  Apollo's InMemoryCache only matches a
// fragment on an interface (`fragment … on ProductView`) against a concrete __typename when it is
// told the interface's possible types; without them the fragment's fields are dropped.  Venia
// builds its possibleTypes from the Magento backend's schema at build time (POSSIBLE_TYPES), which
// has no ProductView: intercept.js merges these in through withEdgerecPossibleTypes.

/** ProductView's implementations (Adobe's Catalog Service schema, as core/recommendations.js SDL). */
export const EDGEREC_POSSIBLE_TYPES = Object.freeze({
  ProductView: Object.freeze(['SimpleProductView', 'ComplexProductView']),
});

/** A possibleTypes map with ProductView's types added to `base` (Venia's POSSIBLE_TYPES); never mutates `base`. */
export function withEdgerecPossibleTypes(base) {
  const out = { ...(base && typeof base === 'object' ? base : {}) };
  for (const [iface, types] of Object.entries(EDGEREC_POSSIBLE_TYPES)) {
    out[iface] = [...new Set([...(Array.isArray(out[iface]) ? out[iface] : []), ...types])];
  }
  return out;
}
