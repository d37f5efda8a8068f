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

/** Venia's search page (SearchPage/searchPage.gql.js). */
export const PRODUCT_SEARCH = `query ProductSearch($currentPage: Int = 1, $inputText: String!, $pageSize: Int = 6, $filters: ProductAttributeFilterInput!, $sort: ProductAttributeSortInput) {
  products(currentPage: $currentPage, pageSize: $pageSize, search: $inputText, filter: $filters, sort: $sort) {
    items { id uid name price_range { maximum_price { final_price { currency value } } } sku small_image { url } url_key __typename }
    page_info { total_pages } total_count
  }
}`;
/** Venia's product page (RootComponents/Product/product.gql.js with ProductDetailsFragment, trimmed). */
export const GET_PRODUCT = `query getProductDetailForProductPage($urlKey: String!) {
  products(filter: {url_key: {eq: $urlKey}}) { items { id ...ProductDetailsFragment } }
}
fragment ProductDetailsFragment on ProductInterface {
  __typename categories { uid name breadcrumbs { category_uid } } id uid name sku stock_status url_key
  price { regularPrice { amount { currency value } } }
  price_range { minimum_price { final_price { currency value } } }
  ... on ConfigurableProduct { configurable_options { attribute_code label values { uid label } } }
}`;
/** Venia's cart and checkout mutations (CheckoutPage/checkoutPage.gql.js, ProductFullDetail/productFullDetail.gql.js). */
export const CREATE_CART = `mutation createCart { cartId: createEmptyCart }`;
export const ADD_TO_CART = `mutation AddProductToCart($cartId: String!, $product: CartItemInput!) {
  addProductsToCart(cartId: $cartId, cartItems: [$product]) { cart { id total_quantity items { uid product { sku } quantity } } user_errors { code message } }
}`;
export const PLACE_ORDER = `mutation placeOrder($cartId: String!) { placeOrder(input: {cart_id: $cartId}) { order { order_number } } }`;
