/**
 * The Deployments panel, an anywidget front-end module: the deployed workflow services with
 * their health, and Register / Execute / Schema / Docs / Deregister / Cleanup. The same
 * module renders in notebook outputs and in the sidebar; it reads the REST API from the
 * browser, never through a kernel.
 *
 * Model: `base_url`, `deployment_id` (a deployment to point out).
 */

import { Api, messageOf, resolveBaseUrl } from '../api';
import { errorBox, replace } from '../dom';
import type { RenderProps } from '../model';
import { DeploymentsView } from './deployments/list';
import type { DeploymentsTraits } from './deployments/types';

export type { DeploymentsTraits } from './deployments/types';

export const DEFAULT_TRAITS: DeploymentsTraits = { base_url: '', deployment_id: '' };

function render({ model, el }: RenderProps<DeploymentsTraits>): () => void {
  el.classList.add('cag-panel', 'cag-deployments');
  let view: DeploymentsView | null = null;
  try {
    view = new DeploymentsView(new Api(resolveBaseUrl(model.get('base_url'))));
    replace(el, view.element);
  } catch (error) {
    replace(el, errorBox(messageOf(error)));
  }
  const focus = (): void => {
    const id = model.get('deployment_id');
    if (id) {
      view?.show(id);
    }
  };
  model.on('change:deployment_id', focus);
  focus();
  return () => {
    model.off('change:deployment_id', focus);
    view?.dispose();
  };
}

export default { render };
