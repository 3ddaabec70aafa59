/**
 * The Register modal: a running service registered by hand (id, name, workflow, host, port),
 * optionally after the workbench checked its `/health`. Field errors show under their field.
 */

import { Api, ApiError, messageOf } from '../../api';
import { button, h, replace } from '../../dom';
import { field, openModal } from '../../modal';
import { working } from '../../progress';
import type { Deployment } from './types';

const FIELDS = [
  { name: 'deployment_id', label: 'Deployment ID', placeholder: 'my-workflow-deployment' },
  { name: 'deployment_name', label: 'Deployment name', placeholder: 'My Workflow Deployment' },
  { name: 'workflow_name', label: 'Workflow', placeholder: 'the flow name it serves' },
  { name: 'host', label: 'Host', placeholder: '127.0.0.1', value: '127.0.0.1' },
  { name: 'port', label: 'Port', placeholder: '8080', type: 'number' }
] as const;

export function openRegister(host: HTMLElement, api: Api, registered: (deployment: Deployment) => void): void {
  const inputs = new Map<string, HTMLInputElement>();
  const problems = new Map<string, HTMLElement>();
  const rows = FIELDS.map(spec => {
    const input = h('input', {
      class: 'cag-input',
      data: { input: spec.name },
      attrs: { type: 'type' in spec ? spec.type : 'text', placeholder: spec.placeholder, spellcheck: 'false', autocomplete: 'off' }
    });
    if ('value' in spec) {
      input.value = spec.value;
    }
    const problem = h('span', { class: 'cag-field-problem', data: { problem: spec.name }, attrs: { role: 'alert' } });
    inputs.set(spec.name, input);
    problems.set(spec.name, problem);
    return field(spec.label, input, problem);
  });
  const check = h('input', { class: 'cag-check', data: { input: 'check_health' }, attrs: { type: 'checkbox' } });
  check.checked = true;
  const progress = h('div', { class: 'cag-register-progress' });

  const submit = button('Register', async () => {
    problems.forEach(problem => replace(problem, ''));
    modal.say('');
    const value = (name: string): string => inputs.get(name)?.value.trim() ?? '';
    const missing = FIELDS.filter(spec => !value(spec.name));
    if (missing.length) {
      missing.forEach(spec => replace(problems.get(spec.name) as HTMLElement, 'Required.'));
      modal.say('Fill in the marked fields.');
      return;
    }
    const port = Number(value('port'));
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      replace(problems.get('port') as HTMLElement, 'A whole number from 1 to 65535.');
      return;
    }
    const body = {
      deployment_id: value('deployment_id'),
      deployment_name: value('deployment_name'),
      workflow_name: value('workflow_name'),
      host: value('host'),
      port,
      check_health: check.checked
    };
    replace(progress, working(check.checked ? `Checking http://${body.host}:${port}/health…` : 'Registering…'));
    try {
      const deployment = await api.post<Deployment>('deployments', body);
      modal.close();
      registered(deployment);
    } catch (error) {
      replace(progress);
      const at = error instanceof ApiError && error.field ? problems.get(error.field) : undefined;
      if (at) {
        replace(at, messageOf(error));
      }
      modal.say(messageOf(error));
    }
  }, { class: 'cag-primary', data: { action: 'register' } });

  const modal = openModal(host, {
    title: 'Register new deployment',
    name: 'register',
    body: [
      h('div', { class: 'cag-hint' }, 'A workflow service already running (`cagents serve`, a container) that did not register itself.'),
      ...rows,
      h('label', { class: 'cag-field cag-field-inline' }, check, 'Verify health by calling /health first'),
      progress
    ],
    actions: [submit]
  });
  inputs.get('deployment_id')?.focus();
}
