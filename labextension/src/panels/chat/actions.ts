/**
 * The chat's Execute and Deploy: a form over the approved workflow (its inputs; the deploy
 * target, name and port) with the env area's keys, then the run followed live or the
 * service started, with progress while it works.
 */

import { Api, ApiError, messageOf } from '../../api';
import { button, h, replace } from '../../dom';
import type { EnvArea } from '../../envarea';
import { jsonText } from '../../format';
import { field, openModal } from '../../modal';
import { navigate } from '../../navigate';
import { working } from '../../progress';
import { follow } from '../../sse';
import { SchemaForm } from '../deployments/schemaform';
import type { Final } from './types';

export interface ActionHost {
  api: Api;
  element: HTMLElement;
  sessionId: string;
  final: Final;
  env: EnvArea;
  /** The conversation changed on the server (messages stored): read it again. */
  changed(): void;
}

/** `POST chat/sessions/{id}/execute`, then the run's events until it ends. */
export function openChatExecute(host: ActionHost): void {
  const form = new SchemaForm(host.final.input_schema);
  const result = h('div', { class: 'cag-execute-result', data: { role: 'result' } });
  let stop: (() => void) | null = null;
  const run = button('Execute', async () => {
    const inputs = form.values();
    if (!inputs) {
      modal.say('Fix the marked fields first.');
      return;
    }
    modal.say('');
    replace(result, working(`Starting ${host.final.workflow ?? 'the workflow'}…`));
    let started: { execution_id: string; status: string };
    try {
      started = await host.api.post(`chat/sessions/${encodeURIComponent(host.sessionId)}/execute`, { inputs, env: host.env.values() });
    } catch (error) {
      replace(result);
      const named = error instanceof ApiError ? error.data?.fields : undefined;
      modal.say(named ? `${messageOf(error)}` : messageOf(error));
      return;
    }
    host.changed();
    const id = started.execution_id;
    const line = h('div', { class: 'cag-hint', data: { role: 'node' } }, 'Running…');
    replace(result, working(`Running execution ${id}…`), line);
    await new Promise<void>(resolve => {
      stop = follow(host.api.url(`executions/${encodeURIComponent(id)}/events`), {
        event: event => {
          if (event.type === 'node_started' && typeof event.node_id === 'string') {
            line.textContent = `Running node ${event.node_id}…`;
          }
        },
        end: () => resolve(),
        problem: (message, retrying) => {
          line.textContent = message;
          if (!retrying) {
            resolve();
          }
        }
      });
    });
    stop = null;
    try {
      const record = await host.api.get<Record<string, unknown>>(`executions/${encodeURIComponent(id)}`);
      const status = String(record.status ?? 'unknown');
      replace(
        result,
        h('div', { class: 'cag-result-head' }, 'Status: ', h('strong', { data: { role: 'status' } }, status), ' · execution ', h('code', null, id),
          button('View execution', () => {
            if (navigate(result, { page: 'executions', target: id })) {
              modal.close();
            }
          }, { class: 'cag-link', data: { action: 'view-execution' } })),
        record.error_message ? h('div', { class: 'cag-error-message' }, String(record.error_message)) : null,
        h('pre', { class: 'cag-code', data: { role: 'outputs' } }, jsonText(record.outputs ?? {}))
      );
    } catch (error) {
      replace(result, h('div', { class: 'cag-error-message' }, `The run ended; its record could not be read: ${messageOf(error)}`));
    }
    host.changed();
  }, { class: 'cag-primary', data: { action: 'run' } });

  const modal = openModal(host.element, {
    title: `Execute: ${host.final.workflow ?? 'workflow'}`,
    name: 'chat-execute',
    body: [
      h('div', { class: 'cag-hint' }, 'Runs in this Jupyter server and is recorded under Executions. API keys come from the env area of the chat.'),
      form.element,
      envNote(host.env),
      result
    ],
    actions: [run],
    onClose: () => stop?.()
  });
}

/** `POST chat/sessions/{id}/deploy`: a local process or a Docker container, registered here. */
export function openChatDeploy(host: ActionHost): void {
  const target = h('select', { class: 'cag-select', data: { input: 'target' } },
    h('option', { attrs: { value: 'process' } }, 'Local process'),
    h('option', { attrs: { value: 'docker' } }, 'Docker container'));
  const name = h('input', { class: 'cag-input', data: { input: 'name' }, attrs: { type: 'text', placeholder: host.final.workflow ?? '', maxlength: '100' } });
  const port = h('input', { class: 'cag-input', data: { input: 'port' }, attrs: { type: 'number', min: '1', max: '65535', placeholder: 'a free port' } });
  const result = h('div', { class: 'cag-execute-result', data: { role: 'result' } });
  const deploy = button('Deploy', async () => {
    const body: Record<string, unknown> = { target: target.value, env: host.env.values() };
    if (name.value.trim()) {
      body.name = name.value.trim();
    }
    if (port.value.trim()) {
      const number = Number(port.value);
      if (!Number.isInteger(number) || number < 1 || number > 65535) {
        modal.say('Port: a whole number from 1 to 65535, or empty for a free one.');
        return;
      }
      body.port = number;
    }
    modal.say('');
    replace(result, working(target.value === 'docker' ? 'Building and starting the container…' : 'Starting the service and waiting for /health…'));
    try {
      const answer = await host.api.post<Record<string, unknown>>(`chat/sessions/${encodeURIComponent(host.sessionId)}/deploy`, body);
      const id = String(answer.deployment_id ?? '');
      const url = String(answer.url ?? '');
      replace(
        result,
        h('div', { class: 'cag-result-head' }, 'Deployed ', h('strong', { data: { role: 'deployment' } }, id), ' at ', h('code', null, url)),
        h('div', { class: 'cag-dactions' },
          button('Open in Deployments', () => {
            if (navigate(result, { page: 'deployments', target: id })) {
              modal.close();
            }
          }, { data: { action: 'view-deployment' } }),
          typeof answer.docs_url === 'string'
            ? h('a', { class: 'cag-button', attrs: { href: answer.docs_url, target: '_blank', rel: 'noopener noreferrer' } }, 'API docs ↗')
            : null)
      );
    } catch (error) {
      replace(result);
      modal.say(messageOf(error));
    }
    host.changed();
  }, { class: 'cag-primary', data: { action: 'deploy' } });

  const modal = openModal(host.element, {
    title: `Deploy: ${host.final.workflow ?? 'workflow'}`,
    name: 'chat-deploy',
    body: [
      h('div', { class: 'cag-hint' }, 'Starts the workflow as a service that registers with this workbench (Deployments).'),
      field('Target', target),
      field('Name', name),
      field('Port', port),
      envNote(host.env),
      result
    ],
    actions: [deploy]
  });
}

function envNote(env: EnvArea): HTMLElement {
  const missing = env.missing();
  return h('div', { class: missing.length ? 'cag-banner' : 'cag-hint', data: { role: 'env-note' } },
    missing.length
      ? `Not set: ${missing.join(', ')}. Type them in the chat's env area first, or the LLM nodes run on the offline simulator where allowed.`
      : 'The keys typed in the chat\'s env area go with this request only.');
}
