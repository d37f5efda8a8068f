// @edgerec/venia — recommendation units for PWA Studio (Venia).  intercept.js puts EdgerecUnits on
// the product, cart and CMS (home) pages; these exports are for storefronts that place units
// themselves.  Events are the storefront script's (recs.js, loaded from the edge by
// loadStorefrontScript): its report() sends any other event (e.g. an add-to-cart made outside a unit).
export { default as EdgerecUnits, cartItemSkus } from './EdgerecUnits.js';
export { default as RecommendationUnit, SIZES } from './RecommendationUnit.js';
export { GET_RECOMMENDATIONS, PRODUCT_VIEW_FIELDS, recommendationVariables } from './queries.js';
export { EDGEREC_POSSIBLE_TYPES, withEdgerecPossibleTypes } from './possibleTypes.js';
export { productHref } from './format.js';
export { loadStorefrontScript, storefrontScriptUrl, useStorefrontScript } from './storefrontScript.js';
