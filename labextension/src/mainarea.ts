/** A workbench page opened in JupyterLab's main area, where a wide table has room. */

import { Widget } from '@lumino/widgets';
import type { MountedPanel, PageSpec } from './pages';

export class PageWidget extends Widget {
  private readonly panel: MountedPanel;

  constructor(spec: PageSpec, baseUrl: string) {
    super();
    this.id = `cagents-page-${spec.id}-${Date.now()}`;
    this.addClass('cag-main-page');
    this.title.label = `cagents ${spec.label}`;
    this.title.closable = true;
    this.panel = spec.mount(this.node, baseUrl);
  }

  /** Show one item (an execution id...) in the page. */
  open(target: string): void {
    this.panel.open(target);
  }

  dispose(): void {
    if (!this.isDisposed) {
      this.panel.dispose();
    }
    super.dispose();
  }
}
