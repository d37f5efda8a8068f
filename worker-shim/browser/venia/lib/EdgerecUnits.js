// EdgerecUnits.js — the recommendation units of one page, from Adobe's `recommendations` query
// through the storefront's own Apollo client (Venia's), answered by the edgerec Worker.  Space is
// reserved while the answer (and the storefront script, storefrontScript.js) is on its way — units
// have a fixed height — so nothing below moves when they arrive; on an error or an empty answer
// nothing is shown (the page is never broken).
// No `??` in lib/: Venia's Babel preset leaves it as it is and webpack 4 cannot parse it.
import React, { useLayoutEffect } from 'react';
import { useQuery } from '@apollo/client/react';
import RecommendationUnit, { SIZES } from './RecommendationUnit.js';
import { GET_RECOMMENDATIONS, recommendationVariables } from './queries.js';
import { useStorefrontScript } from './storefrontScript.js';

/** The skus of Venia's cart items (useCartPage's cartItems: [{product: {sku}}]). */
export function cartItemSkus(cartItems) {
  return (Array.isArray(cartItems) ? cartItems : []).map((it) => it?.product?.sku).filter((s) => typeof s === 'string' && s);
}

/**
 * The units of a page.  Props: pageType (Adobe's PageType: 'Product', 'Cart', 'CMS', 'Category', …),
 * currentSku (the product page's sku), cartSkus or cartItems (Venia's cart items), category,
 * reserve (units to reserve space for before the answer; default 2, the default units per page type),
 * locale, onAddToCart(product, {unit, rank}) (optional: an add-to-cart button per item),
 * endpoint (the edge's base URL when it is not the page's origin: the script and the events go there),
 * classes.
 */
export default function EdgerecUnits(props) {
  const { pageType, currentSku, category, cartItems, reserve = 2, locale, onAddToCart, endpoint, classes = {} } = props;
  const cartSkus = Array.isArray(props.cartSkus) ? props.cartSkus : cartItemSkus(cartItems);
  const variables = recommendationVariables({ pageType, currentSku, category, cartSkus });
  const recs = useStorefrontScript(endpoint);
  const ready = !!recs && !recs.error;
  // Venia is a single-page app: a new page (type, product, category) is a new page view for the
  // storefront events, so its units report their render and view again.  A layout effect, so it runs
  // before the units' own (passive) effects start reporting.
  useLayoutEffect(() => { if (ready) recs.newPageView(); }, [ready, pageType, currentSku, category]); // eslint-disable-line react-hooks/exhaustive-deps
  const { data, loading, error } = useQuery(GET_RECOMMENDATIONS, {
    variables,
    skip: typeof pageType !== 'string' || !pageType,
    fetchPolicy: 'cache-and-network', // personal: asked again on every page, the last answer shown meanwhile
    nextFetchPolicy: 'cache-first',
  });
  if (error) {
    console.warn(`edgerec: recommendations for page type ${pageType}: ${error.message}`);
    return null;
  }
  if (recs?.error) return null; // no storefront script: no prices, no events — show nothing
  const units = ((ready && data?.recommendations?.results) || [])
    .filter((u) => u && Array.isArray(u.productsView) && u.productsView.length)
    .sort((a, b) => (a.displayOrder || 0) - (b.displayOrder || 0));
  if (!units.length && !loading && ready) return null;
  return (
    <div className={classes.units ? `edgerec-units ${classes.units}` : 'edgerec-units'} data-edgerec-page-type={pageType}
      aria-busy={units.length ? 'false' : 'true'}
      style={{ minHeight: units.length ? undefined : Math.max(0, reserve) * (SIZES.unit + SIZES.gap) }}>
      {units.map((unit, i) => (
        <RecommendationUnit key={unit.unitId || i} unit={unit} pageRank={i + 1} recs={recs} locale={locale} onAddToCart={onAddToCart}
          eventOptions={endpoint ? { endpoint } : undefined} classes={classes} />
      ))}
    </div>
  );
}
