/** The summary box: total, completed, failed, running and total cost over the current filters. */

import { h, replace } from '../../dom';
import { cost, count } from '../../format';
import type { Summary } from './types';

export class SummaryBox {
  readonly element = h('section', { class: 'cag-summary', attrs: { 'aria-label': 'Summary' } });

  constructor() {
    this.clear();
  }

  clear(): void {
    this.show(null);
  }

  show(summary: Summary | null): void {
    const item = (key: string, label: string, value: string): HTMLElement =>
      h('div', { class: `cag-summary-item cag-summary-${key}`, data: { summary: key } },
        h('span', { class: 'cag-summary-label' }, label),
        h('span', { class: 'cag-summary-value' }, value));
    const n = (value: number | undefined): string => (summary ? count(value) : '…');
    replace(
      this.element,
      item('total', 'Total', n(summary?.total)),
      item('completed', 'Completed', n(summary?.completed)),
      item('failed', 'Failed', n(summary?.failed)),
      item('running', 'Running', n(summary?.running)),
      item('cost', 'Total cost', summary ? cost(summary.total_cost_usd) : '…')
    );
  }
}
