/** How a deployment's health reads: alive while its last heartbeat is younger than its TTL. */

import { h } from '../../dom';
import type { Deployment } from './types';

/** "5s ago", "3 min ago", "2 hr ago", "4 days ago"; heartbeats need seconds, not "just now". */
export function ageText(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) {
    return 'never';
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s}s ago`;
  }
  if (s < 3600) {
    return `${Math.round(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.round(s / 3600)} hr ago`;
  }
  const days = Math.round(s / 86400);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

export function heartbeatText(seconds: number | null | undefined): string {
  return ageText(seconds);
}

/** The heartbeat's age now, from the age the server gave at `fetchedAt` (ms). */
export function currentAge(deployment: Deployment, fetchedAt: number, now: number): number | null {
  const age = deployment.heartbeat_age_seconds;
  return age === null || age === undefined ? null : age + (now - fetchedAt) / 1000;
}

/** Alive from the current age and the TTL, so a row turns dead without waiting for a reload. */
export function aliveNow(deployment: Deployment, fetchedAt: number, now: number): boolean {
  const age = currentAge(deployment, fetchedAt, now);
  return age !== null && age < deployment.ttl_seconds && deployment.is_alive;
}

export function healthBadge(alive: boolean): HTMLElement {
  const status = alive ? 'healthy' : 'dead';
  return h(
    'span',
    { class: `cag-badge cag-health-${status}`, data: { health: status } },
    h('span', { class: 'cag-badge-dot', attrs: { 'aria-hidden': 'true' } }),
    alive ? 'Healthy' : 'Dead'
  );
}
