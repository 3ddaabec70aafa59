/**
 * The Executions list: filters, summary, one page of rows, paging, and live refresh.
 *
 * Paging is by the server's keyset cursor (fast at any depth); the summary gives the total.
 * While the panel is shown it re-reads the summary every few seconds and reloads the page
 * when a count moved or a visible row is still running, so runs started anywhere appear.
 */

import { Api, messageOf } from '../../api';
import { button, empty, errorBox, h, loading, replace } from '../../dom';
import { count } from '../../format';
import { openTrace } from '../../mlflow';
import { FilterBar, filterQuery, isFiltered } from './filters';
import { SummaryBox } from './summary';
import { executionTable, refreshTimes, type RowActions } from './table';
import { ACTIVE_STATUSES, type ExecutionFilters, type ExecutionPage, type ExecutionRow, type Summary } from './types';

const POLL_MS = 5000;
const CLOCK_MS = 30000;

export interface ListHost {
  filters(): ExecutionFilters;
  setFilters(filters: ExecutionFilters): void;
  pageSize(): number;
  open(executionId: string): void;
}

export class ExecutionList {
  readonly element: HTMLElement;
  private readonly summary = new SummaryBox();
  private readonly filterBar: FilterBar;
  private readonly banner = h('div', { class: 'cag-banner', attrs: { role: 'alert' } });
  private readonly body = h('div', { class: 'cag-list-body' });
  private readonly pager = h('div', { class: 'cag-pager' });
  private cursors: (string | null)[] = [null];
  private rows: ExecutionRow[] = [];
  private nextCursor: string | null = null;
  private lastSummary: Summary | null = null;
  private sequence = 0;
  private painted = false;
  private readonly timers: number[] = [];

  constructor(private readonly api: Api, private readonly host: ListHost) {
    this.filterBar = new FilterBar(host.filters(), filters => {
      host.setFilters(filters);
      this.cursors = [null];
      void this.load(true);
    });
    this.banner.hidden = true;
    const refresh = button('Refresh', () => this.load(false), { title: 'Reload the list', data: { action: 'refresh' } });
    this.element = h(
      'div',
      { class: 'cag-executions-list' },
      h('div', { class: 'cag-header' }, h('h2', { class: 'cag-title' }, 'Executions'), refresh),
      h('div', { class: 'cag-list-top' }, this.filterBar.element, this.summary.element),
      this.banner,
      this.body,
      this.pager
    );
    void this.load(true);
    void this.loadWorkflows();
    this.timers.push(window.setInterval(() => void this.poll(), POLL_MS));
    this.timers.push(window.setInterval(() => refreshTimes(this.body, Date.now()), CLOCK_MS));
  }

  dispose(): void {
    this.sequence++;
    this.timers.forEach(timer => window.clearInterval(timer));
    this.filterBar.dispose();
  }

  /** Load the current page and the summary; `reset` shows the loading state first. */
  async load(reset: boolean): Promise<void> {
    const sequence = ++this.sequence;
    const query = { ...filterQuery(this.host.filters()), limit: this.host.pageSize() };
    if (reset || !this.rows.length) {
      replace(this.body, loading('Loading executions…'));
      this.summary.clear();
      this.pager.replaceChildren();
    }
    const cursor = this.cursors[this.cursors.length - 1];
    try {
      const [page, summary] = await Promise.all([
        this.api.get<ExecutionPage>('executions', { ...query, cursor }),
        this.api.get<Summary>('executions/summary', query)
      ]);
      if (sequence !== this.sequence) {
        return; // a newer load (other filters, other page) owns the panel now
      }
      this.banner.hidden = true;
      this.rows = page.items;
      this.nextCursor = page.next_cursor;
      this.lastSummary = summary;
      this.summary.show(summary);
      this.render();
    } catch (error) {
      if (sequence !== this.sequence) {
        return;
      }
      const message = messageOf(error);
      if (this.rows.length && !reset) {
        replace(this.banner, `Could not refresh: ${message}`);
        this.banner.hidden = false;
      } else {
        this.rows = [];
        replace(this.body, errorBox(`Could not load executions: ${message}`, () => void this.load(true)));
        this.pager.replaceChildren();
      }
    }
  }

  private render(): void {
    const filters = this.host.filters();
    if (!this.rows.length) {
      replace(
        this.body,
        isFiltered(filters)
          ? empty('No executions match these filters.', 'Clear a filter or pick another date range.')
          : empty('No executions yet.', 'Run a workflow (chat, notebook `%cagents run`, or `cagents run`) and it shows here.')
      );
    } else {
      replace(this.body, executionTable(this.rows, this.actions, Date.now()));
    }
    this.renderPager();
    if (!this.painted) {
      this.painted = true;
      // The frame after the rows went in: what a person sees, as the speed tests time it.
      requestAnimationFrame(() => performance.mark('cagents-executions-first-paint'));
    }
  }

  private renderPager(): void {
    const index = this.cursors.length - 1;
    const size = this.host.pageSize();
    const first = index * size + 1;
    const last = index * size + this.rows.length;
    const total = this.lastSummary?.total;
    const prev = button('◀ Prev', () => {
      this.cursors.pop();
      return this.load(false);
    }, { data: { action: 'prev' }, attrs: { 'aria-label': 'Previous page' } });
    prev.disabled = index === 0;
    const next = button('Next ▶', () => {
      this.cursors.push(this.nextCursor);
      return this.load(false);
    }, { data: { action: 'next' }, attrs: { 'aria-label': 'Next page' } });
    next.disabled = !this.nextCursor;
    const shown = this.rows.length
      ? `Showing ${count(first)}–${count(last)}${total !== undefined ? ` of ${count(total)}` : ''}`
      : '';
    replace(this.pager, prev, h('span', { class: 'cag-page-number' }, `Page ${index + 1}`), next,
      h('span', { class: 'cag-showing', data: { role: 'showing' } }, shown));
  }

  private readonly actions: RowActions = {
    view: row => this.host.open(row.id),
    mlflow: async row => {
      try {
        await openTrace(this.api, row.workflow_name, row.trace_id ?? '');
      } catch (error) {
        this.flash(`Could not open MLflow: ${messageOf(error)}`);
      }
    },
    retry: async row => {
      try {
        const started = await this.api.post<{ execution_id: string }>(`executions/${encodeURIComponent(row.id)}/rerun`);
        this.host.open(started.execution_id);
      } catch (error) {
        this.flash(`Could not re-run ${row.id}: ${messageOf(error)}`);
      }
    }
  };

  private flash(message: string): void {
    replace(this.banner, message);
    this.banner.hidden = false;
  }

  private async loadWorkflows(): Promise<void> {
    try {
      const { workflows } = await this.api.get<{ workflows: string[] }>('executions/workflows');
      this.filterBar.setWorkflows(workflows);
    } catch {
      // The list shows the same server error; the dropdown keeps "All workflows".
    }
  }

  /** Reload when counts moved or a shown run may have moved; skipped while hidden. */
  private async poll(): Promise<void> {
    if (!this.element.isConnected || document.hidden || !this.lastSummary || this.element.offsetParent === null) {
      return;
    }
    const sequence = this.sequence;
    let summary: Summary;
    try {
      summary = await this.api.get<Summary>('executions/summary', filterQuery(this.host.filters()));
    } catch {
      return; // the next full load says what is wrong
    }
    if (sequence !== this.sequence) {
      return;
    }
    const before = this.lastSummary;
    const moved = ['total', 'completed', 'failed', 'running'].some(
      key => summary[key as keyof Summary] !== before[key as keyof Summary]
    );
    if (moved) {
      void this.loadWorkflows();
    }
    if (moved || this.rows.some(row => ACTIVE_STATUSES.has(row.status))) {
      await this.load(false);
    }
  }
}
