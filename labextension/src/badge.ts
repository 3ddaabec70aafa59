/** Status badges: a coloured dot and a word, the same in every panel (color is never the only cue). */

import { h } from './dom';

const LABELS: Record<string, string> = {
  pending: 'Pending',
  running: 'Running',
  waiting: 'Waiting',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted'
};

export function statusLabel(status: string): string {
  return LABELS[status] ?? status;
}

/** `<span class="cag-badge cag-status-failed">● Failed</span>`; unknown statuses show as given. */
export function statusBadge(status: string): HTMLElement {
  const known = status in LABELS ? status : 'unknown';
  return h(
    'span',
    { class: `cag-badge cag-status-${known}`, data: { status } },
    h('span', { class: 'cag-badge-dot', attrs: { 'aria-hidden': 'true' } }),
    statusLabel(status)
  );
}
