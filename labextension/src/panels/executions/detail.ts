/**
 * The detail of one execution: what ran with which inputs, what came out or went wrong, the
 * state history and per-node chart, links, and the actions its status allows. A run still
 * going is followed through its event stream and re-read as it moves.
 */

import { Api, messageOf } from '../../api';
import { statusBadge } from '../../badge';
import { button, errorBox, h, loading, replace, type Child } from '../../dom';
import { cost, count, dateTime, duration, jsonText } from '../../format';
import { openTrace } from '../../mlflow';
import { navigate } from '../../navigate';
import { follow, type StreamEvent } from '../../sse';
import { waitingForm } from './waiting';
import { nodeChart, timelineView } from './timeline';
import { ACTIVE_STATUSES, type ExecutionDetail } from './types';

const REFETCH_DELAY_MS = 250;

export interface DetailHost {
  back(): void;
  open(executionId: string): void;
}

export class ExecutionDetailView {
  readonly element: HTMLElement;
  private readonly banner = h('div', { class: 'cag-banner', attrs: { role: 'alert' } });
  private readonly live = h('span', { class: 'cag-live', attrs: { 'aria-live': 'polite' } });
  private readonly body = h('div', { class: 'cag-detail-body' });
  private detail: ExecutionDetail | null = null;
  private runningNode: string | null = null;
  private stopFollowing: (() => void) | null = null;
  private refetchTimer: number | undefined;
  private disposed = false;

  constructor(private readonly api: Api, private readonly id: string, private readonly host: DetailHost) {
    this.banner.hidden = true;
    const back = button('← Back to Executions', () => host.back(), { class: 'cag-back', data: { action: 'back' } });
    this.element = h('div', { class: 'cag-execution-detail', data: { executionId: id } },
      h('div', { class: 'cag-header' }, back, this.live), this.banner, this.body);
    replace(this.body, loading('Loading execution…'));
    void this.load();
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.refetchTimer);
    this.stopFollowing?.();
  }

  private route(action = ''): string {
    return `executions/${encodeURIComponent(this.id)}${action ? `/${action}` : ''}`;
  }

  async load(): Promise<void> {
    try {
      const detail = await this.api.get<ExecutionDetail>(this.route());
      if (this.disposed) {
        return;
      }
      this.detail = detail;
      if (!ACTIVE_STATUSES.has(detail.status) || detail.status === 'waiting') {
        this.runningNode = null;
      }
      this.render(detail);
      this.followIfActive(detail);
    } catch (error) {
      if (this.disposed) {
        return;
      }
      if (this.detail) {
        this.flash(`Could not refresh: ${messageOf(error)}`);
      } else {
        replace(this.body, errorBox(`Could not load execution ${this.id}: ${messageOf(error)}`, () => {
          replace(this.body, loading('Loading execution…'));
          void this.load();
        }));
      }
    }
  }

  // ---- live ------------------------------------------------------------------------------
  private followIfActive(detail: ExecutionDetail): void {
    const active = ACTIVE_STATUSES.has(detail.status) && detail.status !== 'waiting';
    if (!active || this.stopFollowing) {
      if (!active) {
        this.live.textContent = '';
      }
      return;
    }
    this.live.textContent = '● live';
    this.stopFollowing = follow(this.api.url(this.route('events')), {
      event: event => this.onEvent(event),
      end: () => {
        this.stopFollowing = null;
        this.runningNode = null;
        this.live.textContent = '';
        void this.load();
      },
      problem: (message, retrying) => {
        this.live.textContent = retrying ? '○ reconnecting…' : '';
        if (!retrying) {
          this.stopFollowing = null;
          this.flash(message);
        }
      },
      open: () => {
        this.live.textContent = '● live';
      }
    });
  }

  private onEvent(event: StreamEvent): void {
    if (event.type === 'token_streamed') {
      return; // tokens change nothing the detail shows
    }
    if (event.type === 'node_started' && typeof event.node_id === 'string') {
      this.runningNode = event.node_id;
    } else if (event.type === 'node_finished' || event.type === 'node_failed' || event.type === 'execution_finished') {
      this.runningNode = null;
    }
    window.clearTimeout(this.refetchTimer);
    this.refetchTimer = window.setTimeout(() => void this.load(), REFETCH_DELAY_MS);
  }

  // ---- view ------------------------------------------------------------------------------
  private render(d: ExecutionDetail): void {
    const finished = !ACTIVE_STATUSES.has(d.status);
    replace(
      this.body,
      h('div', { class: 'cag-detail-top' }, this.facts(d), this.actionsBox(d), this.deploymentBox(d)),
      d.error_message ? section('Error', h('pre', { class: 'cag-error-text', data: { role: 'error' } }, d.error_message)) : null,
      d.status === 'waiting' && d.actions.includes('resume') && d.waiting_for
        ? section('Waiting for input', waitingForm(d.waiting_for, values => this.act('resume', { values })))
        : null,
      section('Inputs', values(d.inputs, d.corrupt_fields.includes('inputs'))),
      section('Outputs', values(d.outputs, d.corrupt_fields.includes('outputs'), finished ? 'No outputs.' : 'Not finished yet.')),
      section('State history', d.timeline.length || this.runningNode
        ? timelineView(d.timeline, finished && d.status === 'completed', this.runningNode)
        : h('div', { class: 'cag-hint' }, finished ? 'No node ran.' : 'No node has finished yet.')),
      d.nodes.length ? section('Time per node', nodeChart(d.nodes, d.bottleneck?.node_id ?? null)) : null
    );
  }

  private facts(d: ExecutionDetail): HTMLElement {
    const rows: [string, Child][] = [
      ['Workflow', h('span', { data: { role: 'workflow' } }, d.workflow_name)],
      ['Status', statusBadge(d.status)],
      ['Started', dateTime(d.started_at)],
      ['Completed', dateTime(d.completed_at)],
      ['Duration', duration(d.duration_seconds)],
      ['Tokens', count(d.total_tokens)],
      ['Cost', cost(d.total_cost_usd)],
      ['Bottleneck', d.bottleneck ? `${d.bottleneck.node_id} (${duration(d.bottleneck.duration_seconds)})` : '—'],
      ['Deployment', d.links.deployment ? `${d.links.deployment.deployment_name} (${d.links.deployment.host}:${d.links.deployment.port})` : d.deployment_id ?? 'runtime (no deployment)']
    ];
    if (d.retry_of) {
      rows.push(['Re-run of', button(d.retry_of, () => this.host.open(d.retry_of ?? ''), { class: 'cag-link' })]);
    }
    if (d.simulated) {
      rows.push(['LLM', 'offline simulator (no API key was set)']);
    }
    if (d.trace_note) {
      rows.push(['Trace', d.trace_note]);
    }
    if (d.cancel_requested && ACTIVE_STATUSES.has(d.status)) {
      rows.push(['Cancel', 'requested; stops after the current node']);
    }
    return h('section', { class: 'cag-card cag-facts' },
      h('h3', { class: 'cag-card-title' }, 'Execution ', h('code', null, d.id)),
      h('dl', { class: 'cag-dl' }, ...rows.flatMap(([label, value]) => [h('dt', null, label), h('dd', null, value)])));
  }

  private actionsBox(d: ExecutionDetail): HTMLElement {
    const a = new Set(d.actions);
    const download = a.has('download-config')
      ? h('a', { class: 'cag-button', attrs: { href: this.api.url(this.route('config')), download: '' }, data: { action: 'download-config' } },
        'Download config')
      : null;
    const list = [
      a.has('cancel') ? button('Cancel', () => this.act('cancel'), { class: 'cag-danger', data: { action: 'cancel' } }) : null,
      a.has('resume') && d.status === 'interrupted' ? button('Resume', () => this.act('resume'), { data: { action: 'resume' } }) : null,
      a.has('rerun') ? button('Re-run', () => this.rerun(), { data: { action: 'rerun' } }) : null,
      download,
      a.has('view-trace') ? button('View in MLflow', () => this.mlflow(d), { data: { action: 'mlflow' } }) : null
    ];
    const any = list.some(Boolean);
    return h('section', { class: 'cag-card cag-actions' }, h('h3', { class: 'cag-card-title' }, 'Actions'),
      any ? h('div', { class: 'cag-button-column' }, ...list) : h('div', { class: 'cag-hint' }, 'No action applies now.'));
  }

  private deploymentBox(d: ExecutionDetail): HTMLElement | null {
    const dep = d.links.deployment;
    if (!d.deployment_id) {
      return null;
    }
    const go = button('Go to deployment', async () => {
      if (!navigate(this.element, { page: 'deployments', target: d.deployment_id ?? '' }) && dep) {
        window.open(`http://${dep.host}:${dep.port}/docs`, '_blank', 'noopener');
      }
    }, { data: { action: 'deployment' } });
    return h('section', { class: 'cag-card cag-deployment' }, h('h3', { class: 'cag-card-title' }, 'Deployment'),
      h('div', null, 'This execution ran on:'),
      h('div', { class: 'cag-strong' }, dep ? dep.deployment_name : d.deployment_id),
      dep ? h('div', null, `Host: ${dep.host}:${dep.port}${dep.is_alive ? '' : ' (not alive)'}`) : h('div', { class: 'cag-hint' }, 'no longer registered'),
      go);
  }

  // ---- actions -----------------------------------------------------------------------------
  private async act(action: 'cancel' | 'resume', body: Record<string, unknown> = {}): Promise<void> {
    try {
      await this.api.post(this.route(action), body);
      this.banner.hidden = true;
      await this.load();
    } catch (error) {
      this.flash(`Could not ${action}: ${messageOf(error)}`);
    }
  }

  private async rerun(): Promise<void> {
    try {
      const started = await this.api.post<{ execution_id: string }>(this.route('rerun'));
      this.host.open(started.execution_id);
    } catch (error) {
      this.flash(`Could not re-run: ${messageOf(error)}`);
    }
  }

  private async mlflow(d: ExecutionDetail): Promise<void> {
    try {
      await openTrace(this.api, d.links.mlflow_experiment ?? d.workflow_name, d.trace_id ?? '');
    } catch (error) {
      this.flash(`Could not open MLflow: ${messageOf(error)}`);
    }
  }

  private flash(message: string): void {
    replace(this.banner, message);
    this.banner.hidden = false;
  }
}

function section(title: string, content: Child): HTMLElement {
  return h('section', { class: 'cag-section', data: { section: title.toLowerCase().replace(/\s+/g, '-') } },
    h('h3', { class: 'cag-section-title' }, title), content);
}

function values(data: Record<string, unknown> | null, corrupt: boolean, none = 'None.'): HTMLElement {
  if (corrupt) {
    return h('div', { class: 'cag-hint' }, 'The stored value cannot be read (not valid JSON).');
  }
  const entries = Object.entries(data ?? {});
  if (!entries.length) {
    return h('div', { class: 'cag-hint' }, none);
  }
  return h('dl', { class: 'cag-dl cag-values' },
    ...entries.flatMap(([key, value]) => [h('dt', null, key), h('dd', null, h('pre', { class: 'cag-value' }, jsonText(value)))]));
}
