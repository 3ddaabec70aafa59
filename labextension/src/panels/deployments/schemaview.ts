/** The Schema modal: a deployment's input and output fields, the keys it needs, and the raw JSON. */

import { Api, messageOf } from '../../api';
import { errorBox, h, loading, replace } from '../../dom';
import { jsonText } from '../../format';
import { openModal } from '../../modal';
import { schemaTable } from './schemaform';
import type { Deployment, ServiceSchema } from './types';

export function openSchema(host: HTMLElement, api: Api, deployment: Deployment): void {
  const content = h('div', { class: 'cag-schema-content' }, loading('Asking the service for its schema…'));
  openModal(host, {
    title: `Schema: ${deployment.deployment_name}`,
    name: 'schema',
    body: [content],
    actions: []
  });
  const load = (): void => {
    replace(content, loading('Asking the service for its schema…'));
    api.get<ServiceSchema>(`deployments/${encodeURIComponent(deployment.deployment_id)}/schema`).then(
      schema => {
        const env = schema.env ?? [];
        replace(
          content,
          h('div', { class: 'cag-facts-line' }, 'Workflow: ', h('strong', null, schema.workflow ?? deployment.workflow_name)),
          schema.description ? h('div', { class: 'cag-hint' }, schema.description) : null,
          schemaTable(schema.input_schema, 'Inputs'),
          schemaTable(schema.output_schema, 'Outputs'),
          env.length
            ? h('div', { class: 'cag-schema-table' }, h('h4', null, 'Environment'),
                h('ul', null, ...env.map(e => h('li', null, h('code', null, e.names.join(' or ')),
                  e.required ? ' (required)' : ' (optional)', e.set ? ' · set on the service' : ''))))
            : null,
          h('details', null, h('summary', null, 'JSON'), h('pre', { class: 'cag-code' }, jsonText(schema)))
        );
      },
      error => replace(content, errorBox(`Could not read the schema: ${messageOf(error)}`, load))
    );
  };
  load();
}
