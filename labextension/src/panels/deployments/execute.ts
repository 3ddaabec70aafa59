/**
 * The Execute modal: the deployment's input schema as a form, the env area with the keys it
 * needs, then `POST deployments/{id}/execute` with progress while the service works, and
 * the result (or the service's own field errors) in the dialog.
 */

import { Api, ApiError, messageOf } from '../../api';
import { button, h, loading, replace } from '../../dom';
import { working } from '../../progress';
import { EnvArea, type EnvRequirement } from '../../envarea';
import { jsonText } from '../../format';
import { openModal } from '../../modal';
import { navigate } from '../../navigate';
import { heartbeatText } from './health';
import { SchemaForm } from './schemaform';
import type { Deployment, ServiceSchema } from './types';

/** What the env area asks for: the service's schema, else the names it registered with. */
function requirements(schema: ServiceSchema | null, deployment: Deployment): EnvRequirement[] {
  if (schema?.env?.length) {
    return schema.env;
  }
  const names = deployment.capabilities?.env;
  return Array.isArray(names) ? names.map(name => ({ names: [String(name)], required: true })) : [];
}

export function openExecute(host: HTMLElement, api: Api, deployment: Deployment): void {
  const id = encodeURIComponent(deployment.deployment_id);
  const content = h('div', { class: 'cag-execute-content' }, loading('Reading the input schema…'));
  const result = h('div', { class: 'cag-execute-result', data: { role: 'result' } });
  const force = h('input', { class: 'cag-check', data: { input: 'force' }, attrs: { type: 'checkbox' } });
  const dead = deployment.is_alive
    ? null
    : h('label', { class: 'cag-banner cag-dead-warning' },
        `This deployment looks dead (last heartbeat ${heartbeatText(deployment.heartbeat_age_seconds)}). `, force, ' Try anyway');
  let form: SchemaForm | null = null;
  let raw: HTMLTextAreaElement | null = null;
  let env: EnvArea | null = null;

  const execute = button('Execute', async () => {
    const inputs = form ? form.values() : parseRaw();
    if (!inputs || !env) {
      modal.say('Fix the marked fields first.');
      return;
    }
    modal.say('');
    replace(result, working(`Running on ${deployment.deployment_name}…`));
    try {
      const answer = await api.post<Record<string, unknown>>(`deployments/${id}/execute`, {
        inputs,
        env: env.values(),
        ...(force.checked ? { force: true } : {})
      });
      showResult(answer);
    } catch (error) {
      replace(result);
      const shown = error instanceof ApiError && form?.showErrors(error.data?.detail);
      modal.say(shown ? `The service refused the inputs: ${messageOf(error)}` : messageOf(error));
    }
  }, { class: 'cag-primary', data: { action: 'execute' } });
  execute.disabled = true;

  const modal = openModal(host, {
    title: `Execute on: ${deployment.deployment_name}`,
    name: 'execute',
    body: [
      h('div', { class: 'cag-facts-line' }, 'Workflow: ', h('strong', null, deployment.workflow_name), ' · Host: ',
        h('code', null, `${deployment.host}:${deployment.port}`)),
      dead,
      content,
      result
    ],
    actions: [execute]
  });

  function parseRaw(): Record<string, unknown> | null {
    try {
      const value = JSON.parse(raw?.value.trim() || '{}') as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        return value as Record<string, unknown>;
      }
    } catch {
      // reported below
    }
    modal.say('Inputs must be a JSON object, like {"topic": "owls"}.');
    return null;
  }

  function showResult(answer: Record<string, unknown>): void {
    const executionId = typeof answer.execution_id === 'string' ? answer.execution_id : '';
    const status = typeof answer.status === 'string' ? answer.status : 'unknown';
    const view = executionId
      ? button('View execution', () => {
          if (navigate(result, { page: 'executions', target: executionId })) {
            modal.close();
          }
        }, { class: 'cag-link', data: { action: 'view-execution' } })
      : null;
    replace(
      result,
      h('div', { class: 'cag-result-head' }, 'Status: ', h('strong', { data: { role: 'status' } }, status),
        executionId ? ' · execution ' : '', executionId ? h('code', null, executionId) : '', view),
      answer.error ? h('div', { class: 'cag-error-message' }, String(answer.error)) : null,
      'outputs' in answer ? h('pre', { class: 'cag-code', data: { role: 'outputs' } }, jsonText(answer.outputs)) : null
    );
  }

  void api.get<ServiceSchema>(`deployments/${id}/schema`).then(
    schema => {
      form = new SchemaForm(schema.input_schema);
      env = new EnvArea(requirements(schema, deployment));
      replace(content, form.element, env.element);
      execute.disabled = false;
      form.element.querySelector<HTMLElement>('input, select, textarea')?.focus();
    },
    error => {
      raw = h('textarea', { class: 'cag-input cag-json', data: { input: 'raw' }, attrs: { rows: '4', spellcheck: 'false' } }, '{}');
      env = new EnvArea(requirements(null, deployment));
      replace(
        content,
        h('div', { class: 'cag-banner' }, `Could not read the input schema: ${messageOf(error)}. Enter the inputs as JSON instead.`),
        raw,
        env.element
      );
      execute.disabled = false;
    }
  );
}
