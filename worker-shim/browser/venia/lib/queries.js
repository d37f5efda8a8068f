// queries.js — Adobe Commerce's `recommendations` query as the storefront asks it (the shape of
// the commerce boilerplate's product-recommendations block), with the products read through the
// ProductView interface so prices come from SimpleProductView / ComplexProductView.  The edge
// Worker answers it (worker-shim/core/recommendations.js); Magento never sees it.
import { gql } from '@apollo/client';

/** Fields of one recommended product (ProductView is an interface: see possibleTypes.js). */
export const PRODUCT_VIEW_FIELDS = gql`
  fragment EdgerecProductView on ProductView {
    __typename
    sku
    name
    url
    urlKey
    inStock
    addToCartAllowed
    images {
      url
      label
    }
    ... on SimpleProductView {
      price {
        final {
          amount {
            currency
            value
          }
        }
      }
    }
    ... on ComplexProductView {
      priceRange {
        minimum {
          final {
            amount {
              currency
              value
            }
          }
        }
        maximum {
          final {
            amount {
              currency
              value
            }
          }
        }
      }
    }
  }
`;

/** The units of one page (pageType), for the product on it (currentSku) and the cart (cartSkus). */
export const GET_RECOMMENDATIONS = gql`
  query EdgerecRecommendations($pageType: PageType!, $category: String, $currentSku: String, $cartSkus: [String]) {
    recommendations(pageType: $pageType, category: $category, currentSku: $currentSku, cartSkus: $cartSkus) {
      results {
        unitId
        unitName
        storefrontLabel
        typeId
        pageType
        displayOrder
        totalProducts
        productsView {
          ...EdgerecProductView
        }
      }
      totalResults
    }
  }
  ${PRODUCT_VIEW_FIELDS}
`;

/** The query's variables from the component's props: absent values are left out, not sent as null. */
export function recommendationVariables({ pageType, category, currentSku, cartSkus }) {
  const v = { pageType };
  if (typeof category === 'string' && category) v.category = category;
  if (typeof currentSku === 'string' && currentSku) v.currentSku = currentSku;
  const skus = (Array.isArray(cartSkus) ? cartSkus : []).filter((s) => typeof s === 'string' && s);
  if (skus.length) v.cartSkus = [...new Set(skus)];
  return v;
}
