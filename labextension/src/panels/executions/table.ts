/** The rows of the Executions list: status badge, workflow, relative start, duration, cost, actions. */

import { statusBadge } from '../../badge';
import { button, h } from '../../dom';
import { cost, dateTime, duration, relativeTime } from '../../format';
import type { ExecutionRow } from './types';

export interface RowActions {
  view(row: ExecutionRow): void;
  mlflow(row: ExecutionRow): Promise<void>;
  retry(row: ExecutionRow): Promise<void>;
}

const RETRYABLE = new Set(['failed', 'cancelled', 'interrupted']);

export function executionTable(rows: ExecutionRow[], actions: RowActions, now: number): HTMLTableElement {
  const head = h(
    'thead',
    null,
    h('tr', null, ...['Status', 'Workflow', 'Started', 'Duration', 'Cost', ''].map(label => h('th', { attrs: { scope: 'col' } }, label)))
  );
  const body = h('tbody', null, ...rows.map(row => executionRow(row, actions, now)));
  return h('table', { class: 'cag-table cag-executions-table' }, head, body);
}

function executionRow(row: ExecutionRow, actions: RowActions, now: number): HTMLTableRowElement {
  const started = h('td', { class: 'cag-col-started', title: dateTime(row.started_at), data: { started: row.started_at ?? '' } },
    relativeTime(row.started_at, now));
  const workflow = h('td', { class: 'cag-col-workflow' },
    h('span', { class: 'cag-workflow-name', title: row.workflow_name }, row.workflow_name),
    row.simulated ? h('span', { class: 'cag-tag', title: 'LLM calls answered by the offline simulator' }, 'simulated') : null,
    row.error_message ? h('div', { class: 'cag-row-error', title: row.error_message }, row.error_message) : null);
  const buttons = h('td', { class: 'cag-col-actions' },
    button('View', () => actions.view(row), { data: { action: 'view' } }),
    row.actions.includes('view-trace') ? button('MLflow', () => actions.mlflow(row), { data: { action: 'mlflow' } }) : null,
    RETRYABLE.has(row.status) && row.actions.includes('rerun')
      ? button('Retry', () => actions.retry(row), { data: { action: 'retry' } })
      : null);
  const tr = h('tr', { class: 'cag-row', data: { executionId: row.id, status: row.status }, attrs: { tabindex: '0' } },
    h('td', { class: 'cag-col-status' }, statusBadge(row.status)),
    workflow,
    started,
    h('td', { class: 'cag-col-duration cag-num' }, ACTIVE.has(row.status) ? '…' : duration(row.duration_seconds)),
    h('td', { class: 'cag-col-cost cag-num' }, cost(row.total_cost_usd)),
    buttons);
  tr.addEventListener('click', () => actions.view(row));
  tr.addEventListener('keydown', event => {
    if (event.key === 'Enter') {
      actions.view(row);
    }
  });
  return tr;
}

const ACTIVE = new Set(['pending', 'running']);

/** Refresh the relative times in place (every half minute) without reloading. */
export function refreshTimes(table: HTMLElement, now: number): void {
  for (const cell of Array.from(table.querySelectorAll<HTMLElement>('td[data-started]'))) {
    cell.textContent = relativeTime(cell.dataset.started || null, now);
  }
}
