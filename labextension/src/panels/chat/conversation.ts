/**
 * The conversation: one bubble per message (user, assistant, system), text only, with the
 * reply growing as the model streams it, and links to the runs and services it started.
 */

import type { Api } from '../../api';
import { drawDiagram } from '../../diagram';
import { button, h, replace } from '../../dom';
import { dateTime } from '../../format';
import { markdown } from '../../markdown';
import { navigate } from '../../navigate';
import type { ChatMessage } from './types';

const ROLE_LABELS: Record<string, string> = { user: 'You', assistant: 'Assistant', system: 'System' };

export class Conversation {
  readonly element = h('div', { class: 'cag-chat-log', attrs: { role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation' } });
  private streaming: HTMLElement | null = null;

  constructor(private readonly api: Api) {}

  /** Draw the diagrams of messages now in the page (the host only hears attached elements). */
  drawDiagrams(): void {
    if (!this.element.isConnected) {
      return;
    }
    for (const slot of Array.from(this.element.querySelectorAll<HTMLElement>('.cag-msg-diagram:not([data-drawn])'))) {
      slot.dataset.drawn = 'pending';
      void drawDiagram(this.api, slot, slot.dataset.mermaid ?? '');
    }
  }

  show(messages: ChatMessage[]): void {
    this.streaming = null;
    replace(this.element, ...messages.map(message => this.bubble(message)));
    this.drawDiagrams();
    this.scroll();
  }

  add(message: ChatMessage): void {
    this.element.appendChild(this.bubble(message));
    this.scroll();
  }

  /** A user message shown at once, before the server stores it. */
  pending(text: string): HTMLElement {
    const el = this.bubble({ id: 0, session_id: '', role: 'user', content: text, created_at: '', metadata: null });
    el.classList.add('cag-pending');
    this.element.appendChild(el);
    this.scroll();
    return el;
  }

  /** Text of the reply as the model writes it. */
  delta(text: string): void {
    if (!this.streaming) {
      this.streaming = this.bubble({ id: 0, session_id: '', role: 'assistant', content: '', created_at: '', metadata: null });
      this.streaming.classList.add('cag-streaming');
      this.element.appendChild(this.streaming);
    }
    const body = this.streaming.querySelector('.cag-msg-text');
    if (body) {
      body.textContent = (body.textContent ?? '') + text;
    }
    this.scroll();
  }

  /** The stored reply replaces the streamed one. */
  settle(message: ChatMessage): void {
    const bubble = this.bubble(message);
    if (this.streaming) {
      this.streaming.replaceWith(bubble);
      this.streaming = null;
    } else {
      this.element.appendChild(bubble);
    }
    this.drawDiagrams();
    this.scroll();
  }

  /** A problem, in the conversation where the person is looking. */
  problem(text: string): void {
    this.streaming?.remove();
    this.streaming = null;
    this.element.appendChild(h('div', { class: 'cag-msg cag-msg-error', attrs: { role: 'alert' } },
      h('div', { class: 'cag-msg-role' }, 'Problem'), h('div', { class: 'cag-msg-text' }, text)));
    this.scroll();
  }

  private bubble(message: ChatMessage): HTMLElement {
    const meta = message.metadata ?? {};
    const kind = typeof meta.kind === 'string' ? meta.kind : '';
    const facts: string[] = [];
    if (meta.offline === true || meta.simulated === true) {
      facts.push('offline drafter');
    }
    const cost = typeof meta.cost_usd === 'number' ? meta.cost_usd : null;
    if (cost) {
      facts.push(`$${cost.toFixed(4)}`);
    }
    const executionId = typeof meta.execution_id === 'string' ? meta.execution_id : '';
    const deploymentId = typeof meta.deployment_id === 'string' ? meta.deployment_id : '';
    const el = h(
      'div',
      { class: `cag-msg cag-msg-${message.role}${kind === 'error' || kind === 'refused' ? ' cag-msg-error' : ''}`, data: { role: message.role, kind } },
      h('div', { class: 'cag-msg-role', title: dateTime(message.created_at) }, ROLE_LABELS[message.role] ?? message.role,
        facts.length ? h('span', { class: 'cag-hint' }, ` · ${facts.join(' · ')}`) : null),
      message.role === 'assistant' && message.content ? h('div', { class: 'cag-msg-text cag-msg-md' }, markdown(message.content))
        : h('div', { class: 'cag-msg-text' }, message.content),
      executionId
        ? button('View execution', () => void navigate(el, { page: 'executions', target: executionId }), { class: 'cag-link', data: { action: 'view-execution', executionId } })
        : null,
      deploymentId
        ? button('View deployment', () => void navigate(el, { page: 'deployments', target: deploymentId }), { class: 'cag-link', data: { action: 'view-deployment' } })
        : null
    );
    return el;
  }

  private scroll(): void {
    this.element.scrollTop = this.element.scrollHeight;
  }
}
