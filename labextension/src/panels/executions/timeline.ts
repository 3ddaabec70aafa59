/**
 * The state history of an execution: the path of nodes with durations, a card per node run
 * with tokens and cost, and a per-node bar chart of time; the bottleneck node is highlighted.
 */

import { h } from '../../dom';
import { cost, count, duration, percent } from '../../format';
import type { NodeTotals, TimelineEntry } from './types';

/** `START → research (15 s) → summarize (20 s) → END` and the card of each step. */
export function timelineView(entries: TimelineEntry[], finished: boolean, runningNode: string | null): HTMLElement {
  const path = h('ol', { class: 'cag-path', attrs: { 'aria-label': 'Path through the workflow' } });
  const arrow = (): HTMLElement => h('li', { class: 'cag-path-arrow', attrs: { 'aria-hidden': 'true' } }, '→');
  path.appendChild(h('li', { class: 'cag-path-end' }, 'START'));
  for (const entry of entries) {
    path.appendChild(arrow());
    path.appendChild(
      h('li', { class: `cag-path-node${entry.bottleneck ? ' cag-bottleneck' : ''}`, data: { node: entry.node_id } },
        h('span', { class: 'cag-path-name' }, entry.node_id),
        h('span', { class: 'cag-path-time' }, entry.status === 'waiting' ? 'waiting' : duration(entry.duration_seconds)))
    );
  }
  if (runningNode) {
    path.appendChild(arrow());
    path.appendChild(h('li', { class: 'cag-path-node cag-path-running', data: { node: runningNode } },
      h('span', { class: 'cag-path-name' }, runningNode), h('span', { class: 'cag-path-time' }, 'running…')));
  }
  if (finished) {
    path.appendChild(arrow());
    path.appendChild(h('li', { class: 'cag-path-end' }, 'END'));
  }
  const cards = h('div', { class: 'cag-steps' }, ...entries.map(stepCard));
  return h('div', { class: 'cag-timeline', data: { role: 'timeline' } }, path, cards);
}

function stepCard(entry: TimelineEntry): HTMLElement {
  return h(
    'div',
    {
      class: `cag-step${entry.bottleneck ? ' cag-bottleneck' : ''}${entry.status === 'waiting' ? ' cag-step-waiting' : ''}`,
      data: { node: entry.node_id, step: String(entry.step) }
    },
    h('div', { class: 'cag-step-head' },
      h('span', { class: 'cag-step-name' }, entry.node_id),
      entry.bottleneck ? h('span', { class: 'cag-tag cag-tag-bottleneck' }, 'bottleneck') : null),
    h('dl', { class: 'cag-step-stats' },
      h('dt', null, 'time'), h('dd', null, entry.status === 'waiting' ? 'waiting for input' : duration(entry.duration_seconds)),
      h('dt', null, 'tokens'), h('dd', null, count(entry.tokens)),
      h('dt', null, 'cost'), h('dd', null, cost(entry.cost_usd)),
      entry.share !== null ? h('dt', null, 'share') : null,
      entry.share !== null ? h('dd', null, percent(entry.share)) : null)
  );
}

/** One bar per node: its share of the time, with tokens and cost; widths are CSS percentages. */
export function nodeChart(nodes: NodeTotals[], bottleneck: string | null): HTMLElement {
  const longest = Math.max(0, ...nodes.map(node => node.duration_seconds ?? 0));
  const rows = nodes.map(node => {
    const width = longest > 0 ? ((node.duration_seconds ?? 0) / longest) * 100 : 0;
    const isBottleneck = node.node_id === bottleneck;
    const bar = h('div', { class: 'cag-bar-fill' });
    bar.style.width = `${width.toFixed(1)}%`;
    const runs = node.runs && node.runs > 1 ? ` × ${node.runs}` : '';
    return h(
      'div',
      { class: `cag-bar${isBottleneck ? ' cag-bottleneck' : ''}`, data: { node: node.node_id } },
      h('span', { class: 'cag-bar-label', title: node.node_id }, `${node.node_id}${runs}`),
      h('div', { class: 'cag-bar-track', attrs: { role: 'img', 'aria-label': `${node.node_id}: ${duration(node.duration_seconds)}` } }, bar),
      h('span', { class: 'cag-bar-value' },
        `${duration(node.duration_seconds)} · ${percent(node.share)} · ${count(node.tokens)} tok · ${cost(node.cost_usd)}`)
    );
  });
  return h('div', { class: 'cag-chart', data: { role: 'node-chart' } }, ...rows);
}
