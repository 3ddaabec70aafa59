/**
 * The Executions panel, an anywidget front-end module: the list of every run and the detail
 * of one. The same module renders in notebook outputs (anywidget) and in the sidebar (a
 * `HostModel`); it reads the REST API from the browser, never through a kernel.
 *
 * Model: `base_url`, `execution_id` (set: the detail; empty: the list), `page_size`, `filters`.
 */

import { Api, messageOf, resolveBaseUrl } from '../api';
import { errorBox, replace } from '../dom';
import type { PanelModel, RenderProps } from '../model';
import { ExecutionDetailView } from './executions/detail';
import { ExecutionList } from './executions/list';
import type { ExecutionsTraits } from './executions/types';

export type { ExecutionsTraits } from './executions/types';

export const DEFAULT_TRAITS: ExecutionsTraits = { base_url: '', execution_id: '', page_size: 50, filters: {} };

function open(model: PanelModel<ExecutionsTraits>, executionId: string): void {
  model.set('execution_id', executionId);
  model.save_changes();
}

export function render({ model, el }: RenderProps<ExecutionsTraits>): () => void {
  performance.mark('cagents-executions-render');
  el.classList.add('cag-panel', 'cag-executions');
  const api = new Api(resolveBaseUrl(model.get('base_url')));
  let list: ExecutionList | null = null;
  let detail: ExecutionDetailView | null = null;

  const show = (): void => {
    try {
      detail?.dispose();
      detail = null;
      const id = model.get('execution_id');
      if (id) {
        detail = new ExecutionDetailView(api, id, { back: () => open(model, ''), open: next => open(model, next) });
        if (list) {
          list.element.hidden = true;
        }
        el.querySelector(':scope > .cag-execution-detail')?.remove();
        el.appendChild(detail.element);
        el.scrollTop = 0;
        return;
      }
      if (!list) {
        list = new ExecutionList(api, {
          filters: () => model.get('filters') ?? {},
          setFilters: filters => {
            model.set('filters', filters);
            model.save_changes();
          },
          pageSize: () => Math.max(1, Math.min(500, model.get('page_size') || 50)),
          open: next => open(model, next)
        });
        replace(el, list.element);
      } else {
        el.querySelector(':scope > .cag-execution-detail')?.remove();
        list.element.hidden = false;
        void list.load(false);
      }
    } catch (error) {
      replace(el, errorBox(messageOf(error)));
    }
  };

  model.on('change:execution_id', show);
  show();
  return () => {
    model.off('change:execution_id', show);
    detail?.dispose();
    list?.dispose();
  };
}

export default { render };
