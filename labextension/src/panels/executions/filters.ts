/** The filter bar of the Executions list: status, workflow, text search and a date range. */

import { h } from '../../dom';
import type { Query } from '../../api';
import type { ExecutionFilters } from './types';

/** Status choices; `running` also covers runs not started yet, as the summary counts them. */
const STATUS_CHOICES: [string, string][] = [
  ['', 'All statuses'],
  ['running,pending', 'Running'],
  ['waiting', 'Waiting'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
  ['cancelled', 'Cancelled'],
  ['interrupted', 'Interrupted']
];

const RANGES: [string, string][] = [
  ['today', 'Today'],
  ['week', 'This week'],
  ['all', 'All'],
  ['custom', 'Custom']
];

const SEARCH_DELAY_MS = 300;

/** Local midnight of a `YYYY-MM-DD` date, as an ISO time the server reads. */
function localDay(date: string, addDays = 0): string | undefined {
  const [y, m, d] = date.split('-').map(Number);
  if (!y || !m || !d) {
    return undefined;
  }
  return new Date(y, m - 1, d + addDays).toISOString();
}

/** The query arguments of the filters, with `today` / `week` taken at `now`. */
export function filterQuery(filters: ExecutionFilters, now: Date = new Date()): Query {
  const query: Query = { status: filters.status, workflow: filters.workflow, q: filters.q?.trim() };
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  if (filters.range === 'today') {
    query.since = midnight.toISOString();
  } else if (filters.range === 'week') {
    const monday = new Date(midnight);
    monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
    query.since = monday.toISOString();
  } else if (filters.range === 'custom') {
    query.since = filters.since ? localDay(filters.since) : undefined;
    query.until = filters.until ? localDay(filters.until, 1) : undefined;
  }
  return query;
}

/** True when any filter narrows the list (the empty state then says so). */
export function isFiltered(filters: ExecutionFilters): boolean {
  return Boolean(filters.status || filters.workflow || filters.q?.trim() || (filters.range && filters.range !== 'all'));
}

export class FilterBar {
  readonly element: HTMLElement;
  private readonly workflow: HTMLSelectElement;
  private readonly custom: HTMLElement;
  private filters: ExecutionFilters;
  private timer: number | undefined;

  constructor(initial: ExecutionFilters, private readonly changed: (filters: ExecutionFilters) => void) {
    this.filters = { range: 'all', ...initial };
    const status = h(
      'select',
      { class: 'cag-select', attrs: { 'aria-label': 'Status' }, data: { filter: 'status' } },
      ...STATUS_CHOICES.map(([value, label]) => h('option', { attrs: { value } }, label))
    );
    status.value = this.filters.status ?? '';
    status.addEventListener('change', () => this.update({ status: status.value }));

    this.workflow = h('select', { class: 'cag-select', attrs: { 'aria-label': 'Workflow' }, data: { filter: 'workflow' } });
    this.setWorkflows([]);
    this.workflow.addEventListener('change', () => this.update({ workflow: this.workflow.value }));

    const search = h('input', {
      class: 'cag-input cag-search',
      attrs: { type: 'search', placeholder: 'Search id, workflow, error…', 'aria-label': 'Search' },
      data: { filter: 'q' }
    });
    search.value = this.filters.q ?? '';
    search.addEventListener('input', () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.update({ q: search.value }), SEARCH_DELAY_MS);
    });

    const since = h('input', { class: 'cag-input', attrs: { type: 'date', 'aria-label': 'From' }, data: { filter: 'since' } });
    const until = h('input', { class: 'cag-input', attrs: { type: 'date', 'aria-label': 'To' }, data: { filter: 'until' } });
    since.value = this.filters.since ?? '';
    until.value = this.filters.until ?? '';
    since.addEventListener('change', () => this.update({ since: since.value }));
    until.addEventListener('change', () => this.update({ until: until.value }));
    this.custom = h('span', { class: 'cag-range-custom' }, since, h('span', null, '–'), until);

    const ranges = h('span', { class: 'cag-segmented', attrs: { role: 'group', 'aria-label': 'Date range' } });
    for (const [value, label] of RANGES) {
      const b = h('button', { class: 'cag-segment', attrs: { type: 'button' }, data: { range: value } }, label);
      b.addEventListener('click', () => {
        this.update({ range: value });
        this.showRange(ranges);
      });
      ranges.appendChild(b);
    }
    this.showRange(ranges);

    this.element = h(
      'div',
      { class: 'cag-filters' },
      h('div', { class: 'cag-filters-row' }, status, this.workflow, search),
      h('div', { class: 'cag-filters-row' }, ranges, this.custom)
    );
  }

  /** The workflow choices, keeping the current one even when it has no executions any more. */
  setWorkflows(names: string[]): void {
    const current = this.filters.workflow ?? '';
    const all = current && !names.includes(current) ? [current, ...names] : names;
    this.workflow.replaceChildren(
      h('option', { attrs: { value: '' } }, 'All workflows'),
      ...all.map(name => h('option', { attrs: { value: name } }, name))
    );
    this.workflow.value = current;
  }

  dispose(): void {
    window.clearTimeout(this.timer);
  }

  private showRange(group: HTMLElement): void {
    for (const b of Array.from(group.children) as HTMLElement[]) {
      const on = b.dataset.range === this.filters.range;
      b.classList.toggle('cag-active', on);
      b.setAttribute('aria-pressed', String(on));
    }
    this.custom.hidden = this.filters.range !== 'custom';
  }

  private update(change: Partial<ExecutionFilters>): void {
    this.filters = { ...this.filters, ...change };
    this.changed(this.filters);
  }
}
