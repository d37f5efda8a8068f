// venia-queries.mjs — GraphQL documents as PWA Studio's Venia sends them (magento/pwa-studio:
// peregrine's RootComponents/Category/category.gql.js), shared by the Worker's tests, the end-to-end
// suite and the Worker benchmark.  The stand-in (tests/standin/magento.mjs) answers them.

/** Venia's category page: the category and its products (ProductsFragment). */
export const GET_CATEGORIES = `query GetCategories($uid: String!, $pageSize: Int!, $currentPage: Int!, $filters: ProductAttributeFilterInput!, $sort: ProductAttributeSortInput) {
  categories(filters: { category_uid: { in: [$uid] } }) { items { uid ...CategoryFragment } }
  products(pageSize: $pageSize, currentPage: $currentPage, filter: $filters, sort: $sort) { ...ProductsFragment }
}
fragment CategoryFragment on CategoryTree { uid meta_title meta_keywords meta_description }
fragment ProductsFragment on Products {
  items { id uid name price_range { maximum_price { final_price { currency value } } } sku small_image { url } stock_status rating_summary __typename url_key }
  page_info { total_pages }
  total_count
}`;
