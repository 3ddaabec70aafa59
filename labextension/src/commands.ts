/**
 * What the labextension does for panels: the `cagents:insert-cell` command (a `%%cagents`
 * cell below the active cell, NotebookActions), and the document-level listeners that let a
 * panel anywhere (sidebar, main area, notebook output) insert a cell, draw Mermaid with
 * JupyterLab's own renderer, and open a page as a main-area tab.
 */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import { type INotebookTracker, NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';
import { type IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { MERMAID_EVENT, type MermaidDetail } from './diagram';
import { cellText, INSERT_EVENT, type InsertDetail } from './insert';
import { OPEN_MAIN_EVENT } from './panels/mlflow';

export const INSERT_COMMAND = 'cagents:insert-cell';
const MERMAID_MIME = 'text/vnd.mermaid';

/** The notebook whose output holds `node` (a panel in an output), if any. */
function notebookHolding(tracker: INotebookTracker, node: Element): NotebookPanel | null {
  let found: NotebookPanel | null = null;
  tracker.forEach(panel => {
    if (!found && panel.node.contains(node)) {
      found = panel;
    }
  });
  return found;
}

/** Add the cell below the active cell (or below the cell whose output holds `from`). */
function insertCell(panel: NotebookPanel, text: string, from: Element | null): { path: string; index: number } {
  const notebook = panel.content;
  const cellNode = from?.closest('.jp-Cell');
  const index = cellNode ? notebook.widgets.findIndex(cell => cell.node === cellNode) : -1;
  if (index >= 0) {
    notebook.activeCellIndex = index;
  }
  if (!notebook.widgets.length) {
    NotebookActions.insertAbove(notebook);
  } else {
    NotebookActions.insertBelow(notebook);
  }
  if (notebook.activeCell?.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  notebook.activeCell?.model.sharedModel.setSource(text);
  return { path: panel.context.path, index: notebook.activeCellIndex };
}

function insertArgs(args: { yaml?: unknown; name?: unknown }): string {
  const yaml = typeof args.yaml === 'string' ? args.yaml : '';
  if (!yaml.trim()) {
    throw new Error('cagents:insert-cell needs the workflow YAML in its `yaml` argument');
  }
  const name = typeof args.name === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(args.name) ? args.name : '';
  return cellText({ yaml, name });
}

const NO_NOTEBOOK = 'No notebook is open: open a notebook, click a cell, then insert again.';

export function addInsertCommand(app: JupyterFrontEnd, tracker: INotebookTracker | null): void {
  app.commands.addCommand(INSERT_COMMAND, {
    label: 'Insert a %%cagents cell below the active cell',
    describedBy: {
      args: {
        type: 'object',
        properties: { yaml: { type: 'string' }, name: { type: 'string' } },
        required: ['yaml']
      }
    },
    execute: args => {
      const text = insertArgs(args);
      const panel = tracker?.currentWidget;
      if (!panel) {
        throw new Error(NO_NOTEBOOK);
      }
      return insertCell(panel, text, null);
    }
  });
}

export function listenForPanels(app: JupyterFrontEnd, tracker: INotebookTracker | null, rendermime: IRenderMimeRegistry | null): void {
  document.addEventListener(INSERT_EVENT, event => {
    const custom = event as CustomEvent<InsertDetail>;
    custom.preventDefault();
    const from = custom.target instanceof Element ? custom.target : null;
    const holder = tracker && from ? notebookHolding(tracker, from) : null;
    const args = { yaml: custom.detail.yaml, name: custom.detail.name ?? '' };
    // A panel in a notebook output inserts below its own cell; the sidebar runs the command.
    const run = holder
      ? Promise.resolve().then(() => insertCell(holder, insertArgs(args), from))
      : app.commands.execute(INSERT_COMMAND, args);
    run.then(() => custom.detail.done?.(), (error: unknown) => custom.detail.done?.(error instanceof Error ? error : new Error(String(error))));
  });

  document.addEventListener(MERMAID_EVENT, event => {
    if (!rendermime || !rendermime.mimeTypes.includes(MERMAID_MIME)) {
      return; // the panel falls back to a server-drawn SVG
    }
    const custom = event as CustomEvent<MermaidDetail>;
    custom.preventDefault();
    const renderer = rendermime.createRenderer(MERMAID_MIME);
    const model = new MimeModel({ data: { [MERMAID_MIME]: custom.detail.source }, trusted: false });
    renderer.renderModel(model).then(
      () => custom.detail.done(renderer.node),
      (error: unknown) => custom.detail.done(error instanceof Error ? error : new Error(String(error)))
    );
  });

  document.addEventListener(OPEN_MAIN_EVENT, event => {
    const detail = (event as CustomEvent<{ page?: string; target?: string }>).detail ?? {};
    event.preventDefault();
    void app.commands.execute('cagents:open-main', { page: detail.page ?? '', ...(detail.target ? { target: detail.target } : {}) });
  });
}
