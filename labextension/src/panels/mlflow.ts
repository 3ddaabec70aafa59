/**
 * The MLflow panel, an anywidget front-end module: the MLflow UI embedded when the workbench
 * serves it (same origin, under Jupyter's login), otherwise a card with the external link.
 *
 * Model: `base_url`, `height` (pixels of the embedded UI; 0 fills the host, as in the sidebar
 * and the main area).
 */

import { Api, ApiError, messageOf, resolveBaseUrl } from '../api';
import { button, errorBox, h, loading, replace } from '../dom';
import type { RenderProps } from '../model';
import { working } from '../progress';

export interface MlflowTraits {
  base_url: string;
  height: number;
}

export const DEFAULT_TRAITS: MlflowTraits = { base_url: '', height: 0 };

/** Asks the labextension to open a page in JupyterLab's main area (a tab). */
export const OPEN_MAIN_EVENT = 'cagents:open-main';

interface MlflowInfo {
  enabled?: boolean;
  disabled_reason?: string | null;
  error?: string;
  tracking_uri?: string | null;
  mode?: string | null;
  ui_url?: string | null;
  ui_installed?: boolean;
}

function card(...children: (HTMLElement | string | null)[]): HTMLElement {
  return h('section', { class: 'cag-mlflow-card' }, ...children);
}

/** Wait until the proxied UI answers (the workbench starts MLflow on first use). */
async function reachable(url: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/html' } });
  } catch (error) {
    throw new ApiError(`Cannot reach the Jupyter server (${String(error)}). Is it still running?`, 0);
  }
  if (response.ok) {
    return;
  }
  let message = `the MLflow UI answered ${response.status}`;
  try {
    const data = (await response.json()) as { error?: string; message?: string };
    message = data.message || data.error || message;
  } catch {
    // not JSON: the status says enough
  }
  throw new ApiError(message, response.status);
}

function render({ model, el }: RenderProps<MlflowTraits>): () => void {
  el.classList.add('cag-panel', 'cag-mlflow');
  const base = resolveBaseUrl(model.get('base_url'));
  const api = new Api(base);
  let disposed = false;

  const embedded = async (info: MlflowInfo, url: string): Promise<void> => {
    const height = model.get('height');
    const fill = !height || height <= 0;
    el.classList.toggle('cag-mlflow-fill', fill);
    const status = h('div', { class: 'cag-mlflow-status' }, working('Starting the MLflow UI (the first time takes a few seconds)…'));
    const frame = h('iframe', {
      class: 'cag-mlflow-frame',
      title: 'MLflow',
      attrs: { src: 'about:blank', ...(fill ? {} : { style: `height: ${Math.max(200, height)}px` }) }
    });
    frame.hidden = true;
    const inMain = el.closest('.cag-main-page') !== null;
    const tab = inMain
      ? null
      : button('Open as a tab', () => {
          const event = new CustomEvent(OPEN_MAIN_EVENT, { detail: { page: 'mlflow' }, bubbles: true, cancelable: true });
          if (el.dispatchEvent(event)) {
            window.open(url, '_blank', 'noopener');
          }
        }, { data: { action: 'open-tab' }, title: 'Open the MLflow UI in a JupyterLab tab' });
    const notes = info.error
      ? `MLflow settings are not valid: ${info.error}`
      : info.enabled === false
        ? `Tracing is off${info.disabled_reason ? ` (${info.disabled_reason})` : ''}: new executions are not traced.`
        : '';
    replace(
      el,
      h('div', { class: 'cag-header' }, h('h2', { class: 'cag-title' }, 'MLflow'),
        h('div', { class: 'cag-mlflow-actions' },
          tab,
          button('Reload', () => {
            frame.src = url;
          }, { data: { action: 'reload' } }),
          h('a', { class: 'cag-button', data: { action: 'open-window' }, attrs: { href: url, target: '_blank', rel: 'noopener' } }, 'New window ↗'))),
      notes ? h('div', { class: 'cag-banner', data: { role: 'note' } }, notes) : null,
      status,
      frame
    );
    try {
      await reachable(url);
    } catch (error) {
      if (!disposed) {
        replace(status, errorBox(`Could not open the MLflow UI: ${messageOf(error)}`, () => void show()));
      }
      return;
    }
    if (disposed) {
      return;
    }
    frame.addEventListener('load', () => {
      status.hidden = true;
      frame.hidden = false;
    }, { once: true });
    frame.src = url;
  };

  const external = (info: MlflowInfo): void => {
    const url = info.ui_url ?? '';
    const linkable = /^https?:\/\//i.test(url);
    replace(
      el,
      h('div', { class: 'cag-header' }, h('h2', { class: 'cag-title' }, 'MLflow')),
      card(
        h('div', null, 'MLflow is configured at:'),
        h('div', { class: 'cag-mlflow-url', data: { role: 'url' } }, h('code', null, url || '(no address)')),
        linkable
          ? h('a', { class: 'cag-button cag-primary', data: { action: 'open-external' }, attrs: { href: url, target: '_blank', rel: 'noopener noreferrer' } }, 'Open MLflow UI ↗')
          : h('div', { class: 'cag-hint' }, 'Not a web address: open it with the MLflow tools that read it.'),
        h('div', { class: 'cag-hint' }, 'A remote tracking server is not embedded here; it opens in its own tab.')
      )
    );
  };

  const show = async (): Promise<void> => {
    replace(el, loading('Reading the MLflow settings…'));
    let info: MlflowInfo | null;
    try {
      info = (await api.get<{ mlflow?: MlflowInfo }>('info')).mlflow ?? null;
    } catch (error) {
      if (!disposed) {
        replace(el, errorBox(`Could not read the MLflow settings: ${messageOf(error)}`, () => void show()));
      }
      return;
    }
    if (disposed) {
      return;
    }
    if (!info || (info.error && !info.mode)) {
      replace(el, h('div', { class: 'cag-header' }, h('h2', { class: 'cag-title' }, 'MLflow')),
        card(h('div', { class: 'cag-error-message' }, info?.error ? `MLflow settings are not valid: ${info.error}` : 'This workbench reports no MLflow settings.'),
          h('div', { class: 'cag-hint' }, 'Set MLFLOW_TRACKING_URI (a file, sqlite or http(s) address) and restart JupyterLab.')));
      return;
    }
    if (info.mode === 'external') {
      external(info);
      return;
    }
    if (!info.ui_installed || !info.ui_url) {
      replace(el, h('div', { class: 'cag-header' }, h('h2', { class: 'cag-title' }, 'MLflow')),
        card(h('div', null, 'The MLflow UI needs the full MLflow package on the Jupyter server:'),
          h('pre', { class: 'cag-code' }, "pip install 'cagents[mlflow]'"),
          info.tracking_uri ? h('div', { class: 'cag-hint' }, 'Traces go to ', h('code', null, info.tracking_uri)) : null));
      return;
    }
    await embedded(info, new URL(info.ui_url, new URL(base, document.baseURI)).toString());
  };

  void show();
  return () => {
    disposed = true;
  };
}

export default { render };
