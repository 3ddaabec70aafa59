/**
 * The Deployments list: summary (total, healthy, dead), one row per deployment with health,
 * heartbeat and registration ages, host:port and actions, Register / Refresh / Cleanup.
 * While shown it re-reads the list every 10 s, and health and ages tick between reads.
 */

import { Api, messageOf } from '../../api';
import { button, empty, errorBox, h, loading, replace } from '../../dom';
import { count, dateTime, relativeTime } from '../../format';
import { openModal } from '../../modal';
import { openExecute } from './execute';
import { ageText, aliveNow, currentAge, healthBadge } from './health';
import { openRegister } from './register';
import { openSchema } from './schemaview';
import type { Deployment, DeploymentList } from './types';

const POLL_MS = 10_000;
const TICK_MS = 1_000;

export class DeploymentsView {
  readonly element: HTMLElement;
  private readonly summary = h('section', { class: 'cag-summary cag-dsummary', attrs: { 'aria-label': 'Summary' } });
  private readonly banner = h('div', { class: 'cag-banner', attrs: { role: 'alert' } });
  private readonly body = h('div', { class: 'cag-list-body' });
  private items: Deployment[] = [];
  private fetchedAt = 0;
  private loaded = false;
  private sequence = 0;
  private focus = '';
  private readonly timers: number[] = [];

  constructor(private readonly api: Api) {
    this.banner.hidden = true;
    const register = button('+ Register new deployment', () => openRegister(this.element, this.api, deployment => {
      this.focus = deployment.deployment_id;
      this.flash(`Registered ${deployment.deployment_name} (${deployment.host}:${deployment.port}).`, 'info');
      void this.load(false);
    }), { class: 'cag-primary', data: { action: 'register' } });
    this.element = h(
      'div',
      { class: 'cag-deployments-view' },
      h('div', { class: 'cag-header' }, h('h2', { class: 'cag-title' }, 'Deployments'), register),
      this.summary,
      this.banner,
      this.body,
      h(
        'div',
        { class: 'cag-footer-actions' },
        button('Refresh', () => this.load(false), { data: { action: 'refresh' }, title: 'Read the list again' }),
        button('Cleanup expired', () => this.cleanup(), {
          data: { action: 'cleanup' },
          title: 'Remove every deployment whose last heartbeat is older than its TTL'
        })
      )
    );
    this.showSummary();
    void this.load(true);
    this.timers.push(window.setInterval(() => void this.poll(), POLL_MS));
    this.timers.push(window.setInterval(() => this.tick(), TICK_MS));
  }

  dispose(): void {
    this.sequence++;
    this.timers.forEach(timer => window.clearInterval(timer));
  }

  /** Point out one deployment: scroll to it and highlight it (after the next load if needed). */
  show(deploymentId: string): void {
    this.focus = deploymentId;
    if (this.loaded) {
      this.render();
    }
  }

  async load(reset: boolean): Promise<void> {
    const sequence = ++this.sequence;
    if (reset || !this.loaded) {
      replace(this.body, loading('Loading deployments…'));
    }
    try {
      const list = await this.api.get<DeploymentList>('deployments');
      if (sequence !== this.sequence) {
        return;
      }
      this.items = list.items;
      this.fetchedAt = Date.now();
      this.loaded = true;
      if (this.banner.dataset.kind !== 'info') {
        this.banner.hidden = true;
      }
      this.render();
    } catch (error) {
      if (sequence !== this.sequence) {
        return;
      }
      const message = messageOf(error);
      if (this.loaded && !reset) {
        this.flash(`Could not refresh: ${message}`);
      } else {
        this.items = [];
        this.showSummary();
        replace(this.body, errorBox(`Could not load deployments: ${message}`, () => void this.load(true)));
      }
    }
  }

  private render(): void {
    this.showSummary();
    if (!this.items.length) {
      replace(this.body, empty('No deployments registered.',
        'Deploy a workflow (`cagents deploy`, the chat\'s Deploy) and it registers itself, or register a running service by hand.'));
      return;
    }
    const now = Date.now();
    const head = h('thead', null, h('tr', null, ...['Health', 'Name', 'Workflow', 'Host:Port', ''].map(label =>
      h('th', { attrs: { scope: 'col' } }, label))));
    const table = h('table', { class: 'cag-dtable' }, head, h('tbody', null, ...this.items.map(d => this.row(d, now))));
    replace(this.body, table);
    if (this.focus) {
      const row = table.querySelector<HTMLElement>(`tr[data-deployment-id="${CSS.escape(this.focus)}"]`);
      if (row) {
        row.classList.add('cag-focused');
        row.scrollIntoView({ block: 'nearest' });
      } else {
        this.flash(`No deployment '${this.focus}' is registered (deregistered, or removed by cleanup).`);
      }
      this.focus = '';
    }
  }

  private row(d: Deployment, now: number): HTMLTableRowElement {
    const alive = aliveNow(d, this.fetchedAt, now);
    const docs = h('a', {
      class: 'cag-button',
      title: `The service's API docs: http://${d.host}:${d.port}/docs`,
      data: { action: 'docs' },
      attrs: { href: `http://${d.host.includes(':') ? `[${d.host}]` : d.host}:${d.port}/docs`, target: '_blank', rel: 'noopener noreferrer' }
    }, 'Docs');
    return h(
      'tr',
      { class: 'cag-drow', data: { deploymentId: d.deployment_id, health: alive ? 'healthy' : 'dead' } },
      h('td', { class: 'cag-dcol-health' }, healthBadge(alive)),
      h(
        'td',
        { class: 'cag-dcol-name' },
        h('div', { class: 'cag-deployment-name', title: d.deployment_id }, d.deployment_name),
        h('div', { class: 'cag-hint' }, 'Last heartbeat: ',
          h('span', { data: { role: 'heartbeat' }, title: dateTime(d.last_heartbeat) }, ageText(currentAge(d, this.fetchedAt, now)))),
        h('div', { class: 'cag-hint' }, 'Registered: ',
          h('span', { data: { role: 'registered' }, title: dateTime(d.registered_at) }, relativeTime(d.registered_at, now)))
      ),
      h('td', { class: 'cag-dcol-workflow' }, d.workflow_name),
      h('td', { class: 'cag-dcol-address' }, h('code', null, `${d.host}:${d.port}`)),
      h(
        'td',
        { class: 'cag-dcol-actions' },
        h(
          'div',
          { class: 'cag-dactions' },
          button('Execute', () => openExecute(this.element, this.api, d), { data: { action: 'execute' } }),
          button('Schema', () => openSchema(this.element, this.api, d), { data: { action: 'schema' } }),
          docs,
          button('Deregister', () => this.confirmDeregister(d), { class: 'cag-danger', data: { action: 'deregister' } })
        )
      )
    );
  }

  private showSummary(): void {
    const now = Date.now();
    const healthy = this.items.filter(d => aliveNow(d, this.fetchedAt, now)).length;
    const item = (key: string, label: string, value: number): HTMLElement =>
      h('div', { class: `cag-summary-item cag-summary-${key}`, data: { summary: key } },
        h('span', { class: 'cag-summary-label' }, label),
        h('span', { class: 'cag-summary-value' }, this.loaded ? count(value) : '…'));
    replace(this.summary, item('total', 'Total', this.items.length), item('healthy', 'Healthy', healthy),
      item('dead', 'Dead', this.items.length - healthy));
  }

  private confirmDeregister(d: Deployment): void {
    const go = button('Deregister', async () => {
      try {
        await this.api.delete(`deployments/${encodeURIComponent(d.deployment_id)}`);
        modal.close();
        this.flash(`Deregistered ${d.deployment_name}.`, 'info');
        await this.load(false);
      } catch (error) {
        modal.say(`Could not deregister: ${messageOf(error)}`);
      }
    }, { class: 'cag-danger', data: { action: 'confirm-deregister' } });
    const modal = openModal(this.element, {
      title: `Deregister ${d.deployment_name}?`,
      name: 'deregister',
      body: [h('p', null, 'It leaves this list. The service itself keeps running; if it still sends heartbeats it must register again.')],
      actions: [go]
    });
  }

  private async cleanup(): Promise<void> {
    try {
      const { removed } = await this.api.post<{ removed: string[] }>('deployments/cleanup');
      this.flash(removed.length ? `Removed ${removed.length} expired: ${removed.join(', ')}.` : 'No expired deployments to remove.', 'info');
      await this.load(false);
    } catch (error) {
      this.flash(`Could not clean up: ${messageOf(error)}`);
    }
  }

  private flash(message: string, kind: 'error' | 'info' = 'error'): void {
    replace(this.banner, message);
    this.banner.dataset.kind = kind;
    this.banner.hidden = false;
  }

  /** Ages and health move with the clock between reads. */
  private tick(): void {
    if (!this.loaded || !this.element.isConnected) {
      return;
    }
    const now = Date.now();
    let changed = false;
    for (const row of Array.from(this.body.querySelectorAll<HTMLElement>('tr[data-deployment-id]'))) {
      const d = this.items.find(item => item.deployment_id === row.dataset.deploymentId);
      if (!d) {
        continue;
      }
      const beat = row.querySelector('[data-role="heartbeat"]');
      if (beat) {
        beat.textContent = ageText(currentAge(d, this.fetchedAt, now));
      }
      const health = aliveNow(d, this.fetchedAt, now) ? 'healthy' : 'dead';
      if (row.dataset.health !== health) {
        row.dataset.health = health;
        row.querySelector('.cag-dcol-health')?.replaceChildren(healthBadge(health === 'healthy'));
        changed = true;
      }
    }
    if (changed) {
      this.showSummary();
    }
  }

  private async poll(): Promise<void> {
    if (!this.element.isConnected || document.hidden || this.element.offsetParent === null || document.querySelector('dialog.cag-modal[open]')) {
      return;
    }
    await this.load(false);
  }
}
