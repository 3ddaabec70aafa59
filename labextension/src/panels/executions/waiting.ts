/** The form that answers a human node an execution waits on (`waiting_for.fields` is JSON Schema). */

import { button, h } from '../../dom';

type Field = { type?: string; description?: string };
export interface WaitingFor {
  node_id?: string;
  prompt?: string;
  fields?: Record<string, Field>;
}

/** Inputs per field; `submit` gets typed values (numbers, booleans, JSON for lists/objects). */
export function waitingForm(waiting: WaitingFor, submit: (values: Record<string, unknown>) => Promise<void>): HTMLElement {
  const readers: [string, () => unknown][] = [];
  const rows = Object.entries(waiting.fields ?? {}).map(([name, schema]) => {
    const kind = schema.type ?? 'string';
    let input: HTMLInputElement | HTMLTextAreaElement;
    if (kind === 'boolean') {
      input = h('input', { attrs: { type: 'checkbox' } });
      const box = input;
      readers.push([name, () => box.checked]);
    } else if (kind === 'integer' || kind === 'number') {
      input = h('input', { class: 'cag-input', attrs: { type: 'number', step: kind === 'integer' ? '1' : 'any' } });
      const box = input;
      readers.push([name, () => (box.value === '' ? null : Number(box.value))]);
    } else if (kind === 'string') {
      input = h('input', { class: 'cag-input', attrs: { type: 'text' } });
      const box = input;
      readers.push([name, () => box.value]);
    } else {
      input = h('textarea', { class: 'cag-input', attrs: { rows: '3', placeholder: 'JSON' } });
      const box = input;
      readers.push([name, () => JSON.parse(box.value || 'null') as unknown]);
    }
    input.dataset.field = name;
    return h('label', { class: 'cag-form-row' }, h('span', { class: 'cag-form-label' }, name),
      input, schema.description ? h('span', { class: 'cag-hint' }, schema.description) : null);
  });
  const problem = h('div', { class: 'cag-form-error', attrs: { role: 'alert' } });
  const send = button('Resume with these values', async () => {
    problem.textContent = '';
    const values: Record<string, unknown> = {};
    try {
      for (const [name, read] of readers) {
        values[name] = read();
      }
    } catch (error) {
      problem.textContent = `A value is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    await submit(values);
  }, { data: { action: 'resume' } });
  return h('div', { class: 'cag-waiting' },
    waiting.node_id ? h('div', null, 'Node ', h('code', null, waiting.node_id), ' asks:') : null,
    waiting.prompt ? h('blockquote', { class: 'cag-prompt' }, waiting.prompt) : null,
    ...rows, problem, send);
}
