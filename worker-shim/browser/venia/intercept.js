// intercept.js — @edgerec/venia's PWA Studio intercept file (package.json "pwa-studio".targets.intercept).
// Run by PWA Studio's BuildBus at build time, it changes Venia's source through Targetables:
//
//   ProductFullDetail  <EdgerecUnits pageType="Product" currentSku={productDetails.sku} />  after its <Form>
//   CartPage           <EdgerecUnits pageType="Cart" cartItems={cartItems} />               after the cart body
//   CMS RootComponent  <EdgerecUnits pageType="CMS" />                                      after the page's article (the home page is a CMS page)
//   useAdapter (Peregrine's Apollo client)  possibleTypes: POSSIBLE_TYPES  →  withEdgerecPossibleTypes(POSSIBLE_TYPES)
//
// An extension may transform another package's files only when the storefront trusts its vendor: the
// storefront's package.json needs "pwa-studio": {"trusted-vendors": ["@edgerec"]} (pwa-buildpack's
// ModuleTransformConfig refuses the requests otherwise, naming them).  docs/venia.md has the setup.
//
// Targetables reference: https://developer.adobe.com/commerce/pwa-studio/api/buildpack/targetables/TargetableReactComponent
// (insertAfterJSX, addImport) and TargetableModule (spliceSource); the intercept file and BuildBus:
// https://developer.adobe.com/commerce/pwa-studio/tutorials/targets.  Element strings match Venia 11.7
// (PWA Studio 14.5) sources: a JSX element that matches nothing is a build warning (that page is
// left as it is); the possibleTypes text missing is a build error naming it (splice-source-loader).
const { Targetables } = require('@magento/pwa-buildpack');

const PKG = '@edgerec/venia';

/** Where the units go: file, the JSX element they follow, the JSX inserted (UNITS = the import's binding). */
const PLACEMENTS = [
  {
    file: '@magento/venia-ui/lib/components/ProductFullDetail/productFullDetail.js',
    after: 'Form',
    jsx: '<UNITS pageType="Product" currentSku={productDetails.sku} />',
  },
  {
    file: '@magento/venia-ui/lib/components/CartPage/cartPage.js',
    after: 'div className={classes.body}',
    jsx: '<UNITS pageType="Cart" cartItems={cartItems} />',
  },
  {
    file: '@magento/venia-ui/lib/RootComponents/CMS/cms.js',
    after: 'article className={rootClassName}',
    jsx: '<UNITS pageType="CMS" />',
  },
];

/** Peregrine's Apollo client: the cache's possibleTypes (webpack's POSSIBLE_TYPES) get ProductView's types. */
const APOLLO = {
  file: '@magento/peregrine/lib/talons/Adapter/useAdapter.js',
  text: 'possibleTypes: POSSIBLE_TYPES',
  wrap: (merge) => `possibleTypes: ${merge}(POSSIBLE_TYPES)`,
};

/** The interceptor BuildBus calls with this package's TargetProvider. */
module.exports = function edgerecVeniaIntercept(targets) {
  const targetables = Targetables.using(targets);
  // lib/ is ES modules with JSX: Venia's babel-loader must build it like its own source
  targetables.setSpecialFeatures('esModules');

  for (const place of PLACEMENTS) {
    const component = targetables.reactComponent(place.file);
    const units = component.addImport(`EdgerecUnits from '${PKG}/lib/EdgerecUnits.js'`);
    component.insertAfterJSX(place.after, place.jsx.replace('UNITS', String(units)));
  }

  const adapter = targetables.esModule(APOLLO.file);
  const merge = adapter.addImport(`{ withEdgerecPossibleTypes } from '${PKG}/lib/possibleTypes.js'`);
  adapter.spliceSource({ before: APOLLO.text, remove: APOLLO.text.length, insert: APOLLO.wrap(String(merge)) });
};

module.exports.PLACEMENTS = PLACEMENTS;
module.exports.APOLLO = APOLLO;
