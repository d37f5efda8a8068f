// adobe-queries.mjs — GraphQL documents as Adobe's storefront components send them for Product
// Recommendations (the shapes of the commerce boilerplate's product-recommendations block and of the
// recommendations drop-in; written from their published queries), shared by the Node, workerd and
// end-to-end tests.

// The commerce boilerplate's product-recommendations block (its query, as a GET with variables).
export const BOILERPLATE = `query GetRecommendations($pageType: PageType!, $category: String, $currentSku: String, $cartSkus: [String],
  $userPurchaseHistory: [PurchaseHistory], $userViewHistory: [ViewHistory]) {
  recommendations(cartSkus: $cartSkus, category: $category, currentSku: $currentSku, pageType: $pageType,
    userPurchaseHistory: $userPurchaseHistory, userViewHistory: $userViewHistory) {
    results { displayOrder pageType productsView { name sku url images { url } externalId __typename } storefrontLabel totalProducts typeId unitId unitName }
    totalResults
  }
}`;
// The recommendations drop-in's unit fragment (prices through the ProductView interface).
export const DROPIN = `query GetRecommendationsByUnitIds($unitIds: [String!]!, $currentSku: String!, $cartSkus: [String],
  $userPurchaseHistory: [PurchaseHistory], $userViewHistory: [ViewHistory]) {
  recommendationsByUnitIds(unitIds: $unitIds, cartSkus: $cartSkus, currentSku: $currentSku,
    userPurchaseHistory: $userPurchaseHistory, userViewHistory: $userViewHistory) {
    results { ...UNIT }
    totalResults
  }
}
fragment UNIT on RecommendationUnit { displayOrder productsView { ...PV } storefrontLabel totalProducts typeId unitId unitName userError }
fragment PV on ProductView {
  __typename name sku queryType visibility inStock images { url } urlKey
  ... on SimpleProductView { price { final { amount { currency value } } } }
  ... on ComplexProductView { priceRange { maximum { final { amount { currency value } } } minimum { final { amount { currency value } } } } }
}`;
