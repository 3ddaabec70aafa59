/**
 * The workbench sidebar: a row of page tabs over one content area. Each page is a panel module
 * rendered once, lazily (the first when the sidebar is first shown), with a `HostModel`;
 * switching pages hides and shows them, so each keeps its place. No kernel is involved anywhere.
 */

import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { errorBox, h } from './dom';
import { NAVIGATE_EVENT, type NavigateDetail } from './navigate';
import type { MountedPanel, PageSpec } from './pages';

interface MountedPage {
  element: HTMLElement;
  panel: MountedPanel | null;
}

export class WorkbenchSidebar extends Widget {
  private readonly tabs: HTMLElement;
  private readonly content: HTMLElement;
  private readonly mounted = new Map<string, MountedPage>();
  private current = '';

  constructor(
    private readonly pages: PageSpec[],
    private readonly baseUrl: string,
    expand?: (pageId: string) => void
  ) {
    super();
    this.addClass('cag-sidebar');
    this.tabs = h('nav', { class: 'cag-sidebar-tabs', attrs: { role: 'tablist', 'aria-label': 'Workbench pages' } });
    for (const page of pages) {
      const tab = h('button', { class: 'cag-sidebar-tab', attrs: { type: 'button', role: 'tab' }, data: { page: page.id } }, page.label);
      tab.addEventListener('click', () => this.showPage(page.id));
      this.tabs.appendChild(tab);
    }
    if (expand) {
      const wide = h('button', {
        class: 'cag-sidebar-expand',
        title: 'Open this page in the main area',
        attrs: { type: 'button', 'aria-label': 'Open in the main area' },
        data: { action: 'expand' }
      }, '⤢');
      wide.addEventListener('click', () => expand(this.current));
      this.tabs.appendChild(wide);
    }
    this.content = h('div', { class: 'cag-sidebar-content' });
    this.node.append(this.tabs, this.content);
    this.node.addEventListener(NAVIGATE_EVENT, event => {
      const detail = (event as CustomEvent<NavigateDetail>).detail;
      if (this.pages.some(page => page.id === detail.page)) {
        event.preventDefault();
        this.showPage(detail.page, detail.target);
      }
    });
  }

  /** The first page mounts when the sidebar is first shown (not at JupyterLab's start), unless
   * a command already chose one: nothing loads for a collapsed sidebar. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this.current && this.pages.length) {
      this.showPage(this.pages[0].id);
    }
  }

  /** Show a page; `target` opens that item in it (an execution id for Executions). */
  showPage(pageId: string, target?: string): void {
    const spec = this.pages.find(page => page.id === pageId);
    if (!spec) {
      return;
    }
    const page = this.mounted.get(pageId) ?? this.mount(spec);
    if (target !== undefined) {
      page.panel?.open(target);
    }
    this.current = pageId;
    for (const [id, mounted] of this.mounted) {
      mounted.element.hidden = id !== pageId;
    }
    for (const tab of Array.from(this.tabs.querySelectorAll<HTMLElement>('.cag-sidebar-tab'))) {
      const on = tab.dataset.page === pageId;
      tab.classList.toggle('cag-active', on);
      tab.setAttribute('aria-selected', String(on));
    }
  }

  get currentPage(): string {
    return this.current;
  }

  dispose(): void {
    for (const page of this.mounted.values()) {
      page.panel?.dispose();
    }
    this.mounted.clear();
    super.dispose();
  }

  private mount(spec: PageSpec): MountedPage {
    const element = h('div', { class: 'cag-sidebar-page', data: { page: spec.id } });
    this.content.appendChild(element);
    const page: MountedPage = { element, panel: null };
    this.mounted.set(spec.id, page);
    try {
      page.panel = spec.mount(element, this.baseUrl);
    } catch (error) {
      element.replaceChildren(
        errorBox(`The ${spec.label} page failed to start: ${error instanceof Error ? error.message : String(error)}`)
      );
    }
    return page;
  }
}
