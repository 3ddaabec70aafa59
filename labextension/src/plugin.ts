/**
 * The JupyterLab plugin: the cagents sidebar in the left area; commands to open a page in it
 * (`cagents:open`, args `{page, target}`) or as a main-area tab (`cagents:open-main`), and
 * `cagents:insert-cell` (`{yaml, name}`: a `%%cagents` cell below the active cell).
 */

import { ILabShell, ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon } from '@jupyterlab/ui-components';
import { addInsertCommand, listenForPanels } from './commands';
import { PageWidget } from './mainarea';
import { PAGES } from './pages';
import { WorkbenchSidebar } from './sidebar';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<circle cx="5" cy="6" r="2.5"/><circle cx="19" cy="6" r="2.5"/><circle cx="12" cy="18" r="2.5"/>' +
  '<path d="M6.6 7.6l4.2 8 1.4-.8-4.2-8zM17.4 7.6l-4.2 8-1.4-.8 4.2-8zM7.5 5.3h9v1.5h-9z"/>' +
  '</g></svg>';

export const cagentsIcon = new LabIcon({ name: 'cagents:workbench', svgstr: ICON_SVG });

export const SIDEBAR_ID = 'cagents-sidebar';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'cagents:sidebar',
  description: 'The cagents workbench: chat, executions, deployments and MLflow in the left sidebar.',
  autoStart: true,
  optional: [ILabShell, ILayoutRestorer, INotebookTracker, IRenderMimeRegistry, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    rendermime: IRenderMimeRegistry | null,
    palette: ICommandPalette | null
  ) => {
    const baseUrl = PageConfig.getBaseUrl();
    const sidebar = new WorkbenchSidebar(PAGES, baseUrl, page => {
      void app.commands.execute('cagents:open-main', { page });
    });
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = cagentsIcon;
    sidebar.title.caption = 'cagents workbench';
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand('cagents:open', {
      label: args => (args.page ? `Open cagents ${String(args.page)}` : 'Open the cagents workbench'),
      execute: args => {
        const page = typeof args.page === 'string' ? args.page : sidebar.currentPage || PAGES[0]?.id;
        const target = typeof args.target === 'string' ? args.target : undefined;
        if (page) {
          sidebar.showPage(page, target);
        }
        (labShell ?? app.shell).activateById(SIDEBAR_ID);
      }
    });

    // One main-area tab per page: asking again shows the open one.
    const tabs = new Map<string, PageWidget>();
    app.commands.addCommand('cagents:open-main', {
      label: args => {
        const spec = PAGES.find(page => page.id === args.page);
        return spec ? `cagents ${spec.label} (tab)` : 'Open a cagents page in the main area';
      },
      execute: args => {
        const spec = PAGES.find(page => page.id === args.page) ?? PAGES[0];
        if (!spec) {
          return;
        }
        let widget = tabs.get(spec.id);
        if (!widget || widget.isDisposed) {
          widget = new PageWidget(spec, baseUrl);
          tabs.set(spec.id, widget);
          app.shell.add(widget, 'main');
        }
        if (typeof args.target === 'string') {
          widget.open(args.target);
        }
        app.shell.activateById(widget.id);
      }
    });

    addInsertCommand(app, notebooks);
    listenForPanels(app, notebooks, rendermime);
    for (const page of PAGES) {
      palette?.addItem({ command: 'cagents:open-main', args: { page: page.id }, category: 'cagents' });
    }
  }
};

export default plugin;
