/**
 * The pages of the workbench sidebar, in the order the UI design gives them (Chat,
 * Executions, Deployments, MLflow). A page is listed only once its panel exists.
 */

import { errorBox } from './dom';
import { HostModel, type PanelModule } from './model';
import chat, { DEFAULT_TRAITS as CHAT_TRAITS } from './panels/chat';
import deployments, { DEFAULT_TRAITS as DEPLOYMENTS_TRAITS } from './panels/deployments';
import executions, { DEFAULT_TRAITS as EXECUTIONS_TRAITS } from './panels/executions';
import mlflow, { DEFAULT_TRAITS as MLFLOW_TRAITS } from './panels/mlflow';

/** A page rendered into the sidebar. */
export interface MountedPanel {
  /** Show one item (an execution id...) in the page's detail view. */
  open(target: string): void;
  dispose(): void;
}

export interface PageSpec {
  /** Also the `page` of `cagents:navigate` events and of the `cagents:open` command. */
  id: string;
  label: string;
  /** Render the panel into `el` with a `HostModel`; `baseUrl` is the Jupyter server's. */
  mount(el: HTMLElement, baseUrl: string): MountedPanel;
}

/** A page from a panel module, its model's starting values and the trait a target sets. */
export function panelPage<T extends object>(
  id: string,
  label: string,
  module: PanelModule<T>,
  traits: (baseUrl: string) => T,
  targetTrait?: keyof T & string
): PageSpec {
  return {
    id,
    label,
    mount(el, baseUrl) {
      const model = new HostModel<T>(traits(baseUrl));
      let cleanup: (() => void) | undefined;
      let disposed = false;
      void Promise.resolve(module.render({ model, el })).then(result => {
        if (typeof result !== 'function') {
          return;
        }
        if (disposed) {
          result();
        } else {
          cleanup = result;
        }
      }, (error: unknown) => {
        el.replaceChildren(errorBox(`The ${label} page failed to start: ${error instanceof Error ? error.message : String(error)}`));
      });
      return {
        open(target) {
          if (targetTrait) {
            model.set(targetTrait, target as T[typeof targetTrait]);
          }
        },
        dispose() {
          disposed = true;
          cleanup?.();
        }
      };
    }
  };
}

export const PAGES: PageSpec[] = [
  panelPage('chat', 'Chat', chat, baseUrl => ({ ...CHAT_TRAITS, base_url: baseUrl }), 'session_id'),
  panelPage('executions', 'Executions', executions, baseUrl => ({ ...EXECUTIONS_TRAITS, base_url: baseUrl }), 'execution_id'),
  panelPage('deployments', 'Deployments', deployments, baseUrl => ({ ...DEPLOYMENTS_TRAITS, base_url: baseUrl }), 'deployment_id'),
  panelPage('mlflow', 'MLflow', mlflow, baseUrl => ({ ...MLFLOW_TRAITS, base_url: baseUrl }))
];
