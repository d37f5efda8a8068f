// Stand-in for Venia's ProductFullDetail (venia-ui lib/components/ProductFullDetail/productFullDetail.js):
// the same element intercept.js targets (<Form …>, a sibling of which the units become) and the same
// name in scope (productDetails).  venia-e2e.mjs applies intercept.js's transform requests to it.
import React, { Fragment } from 'react';

const Form = ({ children, ...rest }) => <form {...rest} onSubmit={(e) => e.preventDefault()}>{children}</form>;

const ProductFullDetail = ({ product }) => {
  const productDetails = { sku: product.sku, name: product.name };
  return (
    <Fragment>
      <Form className="productFullDetail-root" data-cy="ProductFullDetail-root">
        <h1 data-cy="ProductFullDetail-productName">{productDetails.name}</h1>
        <p className="sku">{productDetails.sku}</p>
      </Form>
    </Fragment>
  );
};

export default ProductFullDetail;
