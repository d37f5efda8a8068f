// Stand-in for Venia's CartPage (venia-ui lib/components/CartPage/cartPage.js): its body
// <div className={classes.body}> and useCartPage's cartItems ([{uid, product: {sku}}]) in scope.
import React from 'react';

const CartPage = ({ items }) => {
  const cartItems = items.map((sku, i) => ({ uid: `item-${i}`, quantity: 1, product: { sku } }));
  const classes = { root: 'cartPage-root', body: 'cartPage-body' };
  return (
    <div className={classes.root} data-cy="CartPage-root">
      <h1>Cart</h1>
      <div className={classes.body}>
        <ul className="cart-items">{cartItems.map((it) => <li key={it.uid}>{it.product.sku}</li>)}</ul>
      </div>
    </div>
  );
};

export default CartPage;
