// RecommendationUnit.js — one recommendation unit as an accessible section: an h2 with the unit's
// storefront label and a list of links (image, name, price in the unit's currency).  Catalog values
// are rendered as text (React escapes them) and URLs pass the storefront script's safeUrl; prices are
// its priceText.  Its events — recs-unit-impression-render, recs-unit-view, recs-item-click,
// recs-item-add-to-cart-click — are the storefront script's too (worker-shim/browser/recs.js
// observeUnit, loaded by storefrontScript.js): this component only marks the items it renders
// (data-edgerec-sku / data-edgerec-rank / data-edgerec-add-to-cart).  Class names are recs.js
// renderUnit's, so one theme styles both.
import React, { useEffect, useRef } from 'react';
import { productHref } from './format.js';

/** Layout sizes (px): a unit's height is fixed so EdgerecUnits can reserve it before the answer. */
export const SIZES = Object.freeze({ unit: 360, heading: 36, image: 160, card: 160, gap: 16 });

const styles = {
  root: { height: SIZES.unit, boxSizing: 'border-box', margin: `0 0 ${SIZES.gap}px`, overflow: 'hidden' },
  heading: { height: SIZES.heading, lineHeight: `${SIZES.heading}px`, margin: '0 0 8px', fontSize: 20, overflow: 'hidden', whiteSpace: 'nowrap', textOverflow: 'ellipsis' },
  list: { display: 'flex', gap: 12, listStyle: 'none', margin: 0, padding: '2px 2px 8px', overflowX: 'auto', overflowY: 'hidden' },
  item: { flex: `0 0 ${SIZES.card}px`, minWidth: 0, display: 'flex', flexDirection: 'column', gap: 4 },
  link: { display: 'flex', flexDirection: 'column', gap: 4, color: 'inherit', textDecoration: 'none' },
  image: { display: 'block', width: SIZES.image, height: SIZES.image, objectFit: 'cover', background: '#eee' },
  name: { display: 'block', height: '2.6em', lineHeight: '1.3em', overflow: 'hidden' },
  price: { display: 'block', height: '1.3em', lineHeight: '1.3em', fontWeight: 600 },
  add: { height: '2rem', font: 'inherit' },
};
const cls = (base, extra) => (extra ? `${base} ${extra}` : base);

/**
 * One unit.  Props: unit (a `recommendations` result: unitId, typeId, storefrontLabel, productsView),
 * pageRank (its 1-based place among the page's units), recs (the storefront script's module:
 * storefrontScript.js), locale (for prices; the browser's when absent),
 * onAddToCart(product, {unit, rank}) (optional: an add-to-cart button per item, disabled when the product
 * is out of stock or not addable), addToCartLabel,
 * eventOptions (observeUnit's / report's opts, e.g. {endpoint}), classes (extra class names).
 */
export default function RecommendationUnit({ unit, pageRank, recs, locale, onAddToCart, addToCartLabel = 'Add to cart', eventOptions, classes = {} }) {
  const ref = useRef(null);
  const headingId = `edgerec-unit-${pageRank}-${String(unit.unitId).replace(/[^A-Za-z0-9_-]/g, '_')}-h`; // React 17 has no useId
  const products = (unit.productsView || []).filter((p) => p && typeof p.sku === 'string' && p.sku);
  const skus = products.map((p) => p.sku);

  useEffect(() => {
    if (!ref.current || !skus.length) return undefined;
    return recs.observeUnit(ref.current, { unitId: unit.unitId, typeId: unit.typeId, rank: pageRank, items: skus }, eventOptions);
    // what is reported depends on the unit, its place and its items; a re-render with the same ones reports nothing new
  }, [recs, unit.unitId, unit.typeId, pageRank, skus.join('\n')]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!products.length) return null;
  return (
    <section ref={ref} className={cls('edgerec-unit', classes.root)} style={styles.root} aria-labelledby={headingId}
      data-edgerec-unit={unit.unitId} data-edgerec-unit-type={unit.typeId} data-edgerec-page-rank={pageRank}>
      <h2 id={headingId} className={cls('edgerec-heading', classes.heading)} style={styles.heading}>{unit.storefrontLabel || unit.unitName}</h2>
      <ul role="list" className={cls('edgerec-items', classes.list)} style={styles.list}>
        {products.map((p, i) => {
          const href = productHref(p, recs.safeUrl);
          const image = recs.safeUrl(p.images?.find((im) => typeof im?.url === 'string' && im.url)?.url);
          const Link = href ? 'a' : 'span';
          return (
            <li key={p.sku} className={cls('edgerec-item', classes.item)} style={styles.item} data-edgerec-sku={p.sku} data-edgerec-rank={i + 1}>
              <Link className="edgerec-link" style={styles.link} href={href || undefined}>
                {image ? <img className="edgerec-image" src={image} alt="" width={SIZES.image} height={SIZES.image} loading="lazy" decoding="async" style={styles.image} />
                  : <span className="edgerec-image" aria-hidden="true" style={styles.image} />}
                <span className="edgerec-name" style={styles.name}>{p.name || p.sku}</span>
              </Link>
              <span className="edgerec-price" style={styles.price}>{recs.priceText(p, locale)}</span>
              {onAddToCart ? (
                <button type="button" className="edgerec-add" style={styles.add} data-edgerec-add-to-cart="" aria-label={`${addToCartLabel}: ${p.name || p.sku}`}
                  disabled={p.inStock === false || p.addToCartAllowed === false} onClick={() => onAddToCart(p, { unit, rank: i + 1 })}>{addToCartLabel}</button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
