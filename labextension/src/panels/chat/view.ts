/**
 * The Chat page: the conversation with the workflow assistant on one side; the workflow it
 * builds (diagram, YAML, suggestions), the env area and Approve / Execute / Deploy / Insert
 * on the other. Turns stream from `chat/sessions/{id}/turn` as Server-Sent Events.
 */

import { Api, messageOf } from '../../api';
import { button, errorBox, h, loading, replace } from '../../dom';
import { EnvArea } from '../../envarea';
import { dateTime } from '../../format';
import { requestInsert } from '../../insert';
import { postEvents, type StreamEvent } from '../../sse';
import { openChatDeploy, openChatExecute, type ActionHost } from './actions';
import { Conversation } from './conversation';
import { STAGE_LABELS, type AssistantState, type ChatMessage, type ChatSession, type Final, type Proposal, type SessionDetail, type Suggestions } from './types';
import { WorkflowView } from './workflowview';

const POLL_MS = 5000;

export interface ChatHost {
  sessionId(): string;
  setSessionId(id: string): void;
}

/** A Python name for `%%cagents NAME` from a flow name (as the magics make it). */
export function identifier(name: string): string {
  let text = name.trim().replace(/[^A-Za-z0-9_]/g, '_').split('_').filter(Boolean).join('_') || 'workflow';
  if (/^[0-9]/.test(text)) {
    text = `wf_${text}`;
  }
  return text;
}

export class ChatView {
  readonly element: HTMLElement;
  private readonly conversation: Conversation;
  private readonly workflow: WorkflowView;
  private readonly sessions = h('select', { class: 'cag-select cag-chat-sessions', data: { input: 'session' }, attrs: { 'aria-label': 'Conversation' } });
  private readonly stage = h('span', { class: 'cag-tag', data: { role: 'stage' } });
  private readonly body = h('div', { class: 'cag-chat-body' });
  private readonly input = h('textarea', {
    class: 'cag-input cag-chat-input',
    data: { input: 'message' },
    attrs: { rows: '2', placeholder: 'Describe a workflow, ask for a change, or say "yes"…', 'aria-label': 'Message' }
  });
  private readonly send: HTMLButtonElement;
  private readonly status = h('div', { class: 'cag-chat-status', attrs: { role: 'status' } });
  private readonly envSlot = h('div', { class: 'cag-chat-env' });
  private readonly actions = h('div', { class: 'cag-chat-actions', data: { section: 'actions' } });
  private env = new EnvArea([], 'Env requirements');
  private detail: SessionDetail | null = null;
  private assistant: AssistantState | null = null;
  private busy: AbortController | null = null;
  private sequence = 0;
  private readonly timer: number;
  private readonly visible: IntersectionObserver;

  constructor(private readonly api: Api, private readonly host: ChatHost) {
    this.workflow = new WorkflowView(api);
    this.conversation = new Conversation(api);
    this.send = button('Send', () => this.say(), { class: 'cag-primary', data: { action: 'send' } });
    this.input.addEventListener('keydown', event => {
      event.stopPropagation(); // JupyterLab's shortcuts must not see what is typed here
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.say();
      }
    });
    this.sessions.addEventListener('change', () => {
      const id = this.sessions.value;
      if (id === '__new__') {
        void this.start();
      } else if (id) {
        this.host.setSessionId(id);
      }
    });
    this.envSlot.append(this.env.element);
    this.status.hidden = true;
    this.element = h(
      'div',
      { class: 'cag-chat-view' },
      h('div', { class: 'cag-header' }, h('h2', { class: 'cag-title' }, 'Chat'), this.stage,
        h('div', { class: 'cag-chat-top' }, this.sessions, button('New chat', () => this.start(), { data: { action: 'new-chat' } }))),
      this.body
    );
    replace(this.body, loading('Opening the conversation…'));
    // Another view of the same conversation (sidebar, output, a tab) may have moved it on.
    this.timer = window.setInterval(() => void this.poll(), POLL_MS);
    this.visible = new IntersectionObserver(entries => {
      if (entries.some(entry => entry.isIntersecting)) {
        void this.poll();
      }
    });
    this.visible.observe(this.element);
  }

  dispose(): void {
    this.sequence++;
    this.busy?.abort();
    window.clearInterval(this.timer);
    this.visible.disconnect();
  }

  /** Re-read the session when shown, idle and changed elsewhere. */
  private async poll(): Promise<void> {
    const id = this.host.sessionId();
    if (!id || !this.detail || this.busy || !this.element.isConnected || this.element.offsetParent === null ||
        document.hidden || this.element.querySelector('dialog[open]')) {
      return;
    }
    try {
      const detail = await this.api.get<SessionDetail>(`chat/sessions/${encodeURIComponent(id)}`);
      const before = this.detail;
      const last = (d: SessionDetail): number => d.messages[d.messages.length - 1]?.id ?? 0;
      if (!this.busy && before && detail.session_id === before.session_id &&
          (last(detail) !== last(before) || detail.status !== before.status || detail.assistant?.stage !== before.assistant?.stage)) {
        this.render(detail);
      }
    } catch {
      // the next action says what is wrong
    }
  }

  /** Open the trait's session, else the most recent one, else a new one. */
  async open(): Promise<void> {
    const sequence = ++this.sequence;
    const wanted = this.host.sessionId();
    try {
      const { sessions } = await this.api.get<{ sessions: ChatSession[] }>('chat/sessions', { limit: 30 });
      if (sequence !== this.sequence) {
        return;
      }
      this.listSessions(sessions, wanted);
      if (wanted) {
        await this.load(wanted, sequence);
      } else if (sessions.length) {
        this.host.setSessionId(sessions[0].session_id); // the trait's change loads it
      } else {
        await this.start();
      }
    } catch (error) {
      if (sequence === this.sequence) {
        replace(this.body, errorBox(`Could not open the chat: ${messageOf(error)}`, () => void this.open()));
      }
    }
  }

  /** A new conversation: the server stores the assistant's welcome. */
  async start(): Promise<void> {
    // The conversation shown so far goes at once: nothing typed from now on may reach it, and a
    // load of it still on its way is dropped (sequence).
    ++this.sequence;
    this.busy?.abort();
    this.detail = null;
    replace(this.body, loading('Starting a new conversation…'));
    try {
      const created = await this.api.post<SessionDetail>('chat/sessions', {});
      this.host.setSessionId(created.session_id);
    } catch (error) {
      replace(this.body, errorBox(`Could not start a conversation: ${messageOf(error)}`, () => void this.start()));
    }
  }

  private listSessions(sessions: ChatSession[], current: string): void {
    const options = sessions.map(s => {
      const option = h('option', { attrs: { value: s.session_id } }, `${dateTime(s.updated_at)} · ${s.status}`);
      option.selected = s.session_id === current;
      return option;
    });
    if (current && !sessions.some(s => s.session_id === current)) {
      const option = h('option', { attrs: { value: current } }, 'this conversation');
      option.selected = true;
      options.unshift(option);
    }
    replace(this.sessions, ...options, h('option', { attrs: { value: '__new__' } }, '+ New conversation'));
  }

  private async load(id: string, sequence = ++this.sequence): Promise<void> {
    if (!this.detail || this.detail.session_id !== id) {
      replace(this.body, loading('Opening the conversation…'));
    }
    try {
      const detail = await this.api.get<SessionDetail>(`chat/sessions/${encodeURIComponent(id)}`);
      if (sequence !== this.sequence) {
        return;
      }
      this.render(detail);
    } catch (error) {
      if (sequence === this.sequence) {
        replace(this.body, errorBox(`Could not open conversation ${id}: ${messageOf(error)}`, () => void this.load(id)));
      }
    }
  }

  /** Read the session again (after a turn, an approval, a run). */
  async reload(): Promise<void> {
    const id = this.host.sessionId();
    if (!id) {
      return;
    }
    try {
      const [detail, list] = await Promise.all([
        this.api.get<SessionDetail>(`chat/sessions/${encodeURIComponent(id)}`),
        this.api.get<{ sessions: ChatSession[] }>('chat/sessions', { limit: 30 })
      ]);
      this.listSessions(list.sessions, id);
      this.render(detail);
    } catch (error) {
      this.say_status(`Could not refresh the conversation: ${messageOf(error)}`, true);
    }
  }

  /** Called when the trait changes: show that session. */
  async switchTo(id: string): Promise<void> {
    if (id && this.detail?.session_id === id) {
      return; // already shown (an echo of our own change): a turn in progress goes on
    }
    this.busy?.abort();
    if (!id) {
      await this.open();
      return;
    }
    if (!Array.from(this.sessions.options).some(option => option.value === id)) {
      await this.open();
      return;
    }
    this.sessions.value = id;
    await this.load(id);
  }

  private render(detail: SessionDetail): void {
    const first = !this.detail || this.detail.session_id !== detail.session_id;
    this.detail = detail;
    this.assistant = detail.assistant ?? null;
    if (first || !this.body.contains(this.conversation.element)) {
      replace(
        this.body,
        h('div', { class: 'cag-chat-main' }, this.conversation.element, this.status,
          h('div', { class: 'cag-chat-compose' }, this.input, this.send)),
        h('aside', { class: 'cag-chat-side' }, this.actions, this.workflow.element, this.envSlot)
      );
    }
    this.conversation.show(detail.messages);
    this.showAssistant();
  }

  private showAssistant(): void {
    const a = this.assistant;
    const ended = this.detail?.status === 'abandoned';
    replace(this.stage, ended ? 'Ended' : STAGE_LABELS[a?.stage ?? ''] ?? a?.stage ?? '');
    this.stage.hidden = !this.stage.textContent;
    this.input.disabled = ended || this.busy !== null;
    this.send.disabled = ended || this.busy !== null;
    this.workflow.show(a?.proposal ?? null, a?.final ?? null, a?.suggestions ?? null);
    this.workflow.attached();
    const requirements = a?.final?.env ?? a?.suggestions?.env ?? [];
    const keep = this.env.values();
    this.env = new EnvArea(requirements, 'Env requirements', keep);
    this.envSlot.replaceChildren(this.env.element);
    this.renderActions();
  }

  private renderActions(): void {
    const a = this.assistant;
    const allowed = new Set(a?.actions ?? []);
    const yaml = a?.final?.yaml ?? a?.proposal?.yaml ?? '';
    const approve = button('Approve', () => this.approve(), { class: 'cag-primary', data: { action: 'approve' }, title: 'Make this draft the final workflow' });
    approve.hidden = !allowed.has('approve');
    const execute = button('Execute', () => this.act(openChatExecute), { data: { action: 'execute' }, title: 'Run it in this Jupyter server' });
    execute.disabled = !allowed.has('execute');
    const deploy = button('Deploy', () => this.act(openChatDeploy), { data: { action: 'deploy' }, title: 'Start it as a service (Deployments)' });
    deploy.disabled = !allowed.has('deploy');
    const insert = button('Insert', () => this.insert(), { data: { action: 'insert' }, title: 'Insert the YAML as a %%cagents cell below the active notebook cell' });
    insert.disabled = !yaml;
    const hint = allowed.has('execute') ? '' : a?.proposal ? 'Approve the draft to execute or deploy it.' : '';
    replace(this.actions, h('div', { class: 'cag-dactions' }, approve, execute, deploy, insert), hint ? h('div', { class: 'cag-hint' }, hint) : null);
  }

  private actionHost(final: Final): ActionHost {
    return { api: this.api, element: this.element, sessionId: this.host.sessionId(), final, env: this.env, changed: () => void this.reload() };
  }

  private act(open: (host: ActionHost) => void): void {
    const final = this.assistant?.final;
    if (!final) {
      this.say_status('Approve the workflow first.', true);
      return;
    }
    open(this.actionHost(final));
  }

  private async insert(): Promise<void> {
    const current = this.assistant?.final ?? this.assistant?.proposal;
    if (!current) {
      return;
    }
    try {
      this.say_status(await requestInsert(this.element, { yaml: current.yaml, name: identifier(current.workflow ?? '') }), false);
    } catch (error) {
      this.say_status(messageOf(error), true);
    }
  }

  private async approve(): Promise<void> {
    const id = this.host.sessionId();
    try {
      await this.api.post(`chat/sessions/${encodeURIComponent(id)}/approve`, { env: this.env.values() });
      await this.reload();
    } catch (error) {
      this.say_status(`Could not approve: ${messageOf(error)}`, true);
    }
  }

  private say_status(text: string, problem: boolean): void {
    replace(this.status, text);
    this.status.hidden = !text;
    this.status.classList.toggle('cag-error', problem);
  }

  /** Send what is typed as a turn and show the reply as it streams. */
  private async say(): Promise<void> {
    const text = this.input.value.trim();
    const id = this.host.sessionId();
    if (!text || !id || this.busy) {
      return;
    }
    this.busy = new AbortController();
    this.input.value = '';
    this.input.disabled = this.send.disabled = true;
    this.say_status('', false);
    const pending = this.conversation.pending(text);
    const progress = h('div', { class: 'cag-hint cag-chat-thinking' }, 'The assistant is thinking…');
    this.status.hidden = false;
    replace(this.status, progress);
    let problem = '';
    const handle = (event: StreamEvent): void => {
      switch (event.type) {
        case 'user_message':
          pending.classList.remove('cag-pending');
          break;
        case 'delta':
          this.conversation.delta(typeof event.text === 'string' ? event.text : '');
          break;
        case 'proposal':
          this.assistant = { ...(this.assistant ?? emptyAssistant()), proposal: event as unknown as Proposal, final: null };
          this.workflow.show(this.assistant.proposal, null, this.assistant.suggestions);
          break;
        case 'suggestions':
          this.assistant = { ...(this.assistant ?? emptyAssistant()), suggestions: event as unknown as Suggestions };
          break;
        case 'message':
          this.conversation.settle(event as unknown as ChatMessage);
          break;
        case 'error':
          problem = typeof event.message === 'string' ? event.message : 'The assistant failed to answer.';
          this.conversation.problem(problem);
          break;
        default:
          break;
      }
    };
    try {
      await postEvents(this.api.url(`chat/sessions/${encodeURIComponent(id)}/turn`), { content: text, env: this.env.values() }, handle, this.busy.signal);
    } catch (error) {
      if (!this.busy.signal.aborted) {
        pending.remove();
        this.input.value = text; // nothing was lost: say it again
        problem = messageOf(error);
        this.conversation.problem(problem);
      }
    } finally {
      this.busy = null;
      this.say_status('', false);
    }
    await this.reload();
    if (problem) {
      this.conversation.problem(problem); // the reload redrew the stored messages
      this.input.focus();
    }
  }
}

function emptyAssistant(): AssistantState {
  return { stage: '', proposal: null, suggestions: null, final: null, actions: [] };
}
