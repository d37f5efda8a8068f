// Stand-in for Venia's CMS RootComponent (venia-ui lib/RootComponents/CMS/cms.js, which renders the
// home page): its <article className={rootClassName}> holding the page's content.
import React, { Fragment } from 'react';

const CMSPage = ({ identifier }) => {
  const rootClassName = 'cms-root';
  return (
    <Fragment>
      <article className={rootClassName} data-identifier={identifier}>
        <h1>Home page</h1>
      </article>
    </Fragment>
  );
};

export default CMSPage;
