/**
 * A form generated from a workflow's input JSON Schema: one control per property (text,
 * number, checkbox, choice, or JSON for lists and objects), labelled "topic (string,
 * required)" as in the UI design, checked before anything is sent.
 */

import { h, replace } from '../../dom';
import { jsonText } from '../../format';
import { field } from '../../modal';
import type { JsonSchema } from './types';

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** A value that cannot be sent, and why. */
class Problem {
  constructor(readonly text: string) {}
}

interface Entry {
  name: string;
  schema: JsonSchema;
  kind: string;
  required: boolean;
  control: Control;
  problem: HTMLElement;
}

/** The schema's type, with `anyOf: [{type: X}, {type: null}]` (optional fields) read as X. */
export function typeOf(schema: JsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type.find(t => t !== 'null') : schema.type;
  if (type) {
    return type;
  }
  const inner = schema.anyOf?.find(option => option.type && option.type !== 'null');
  return inner ? typeOf(inner) : schema.enum ? 'string' : 'any';
}

export class SchemaForm {
  readonly element: HTMLElement;
  private readonly entries: Entry[] = [];

  constructor(schema: JsonSchema | undefined) {
    const properties = schema?.properties ?? {};
    const required = new Set(schema?.required ?? []);
    const rows: HTMLElement[] = [];
    for (const [name, prop] of Object.entries(properties)) {
      const kind = typeOf(prop);
      const control = this.control(name, prop, kind);
      const problem = h('span', { class: 'cag-field-problem', data: { problem: name }, attrs: { role: 'alert' } });
      const isRequired = required.has(name);
      const facts = [kind, isRequired ? 'required' : 'optional'];
      if (prop.default !== undefined && prop.default !== null) {
        facts.push(`default=${typeof prop.default === 'string' ? prop.default : jsonText(prop.default, 0)}`);
      }
      this.entries.push({ name, schema: prop, kind, required: isRequired, control, problem });
      rows.push(field(h('span', null, h('code', null, name), ` (${facts.join(', ')})`), control,
        h('span', null, prop.description ?? '', problem)));
    }
    this.element = h(
      'fieldset',
      { class: 'cag-schema-form', data: { section: 'inputs' } },
      h('legend', null, 'Input schema'),
      rows.length ? null : h('div', { class: 'cag-hint' }, 'This workflow takes no inputs.'),
      ...rows
    );
  }

  private control(name: string, prop: JsonSchema, kind: string): Control {
    const data = { input: name };
    const initial = prop.default;
    if (prop.enum?.length) {
      const select = h('select', { class: 'cag-select', data });
      select.append(h('option', { attrs: { value: '' } }, '—'));
      prop.enum.forEach((value, index) => {
        const option = h('option', { attrs: { value: String(index) } }, typeof value === 'string' ? value : jsonText(value, 0));
        option.selected = value === initial;
        select.append(option);
      });
      return select;
    }
    if (kind === 'boolean') {
      const box = h('input', { class: 'cag-check', data, attrs: { type: 'checkbox' } });
      box.checked = initial === true;
      return box;
    }
    if (kind === 'integer' || kind === 'number') {
      const input = h('input', { class: 'cag-input', data, attrs: { type: 'number', step: kind === 'integer' ? '1' : 'any' } });
      if (typeof initial === 'number') {
        input.value = String(initial);
      }
      return input;
    }
    if (kind === 'array' || kind === 'object' || kind === 'any') {
      const area = h('textarea', { class: 'cag-input cag-json', data, attrs: { rows: '3', spellcheck: 'false', placeholder: kind === 'array' ? '["a", "b"]' : '{"key": "value"}' } });
      if (initial !== undefined) {
        area.value = jsonText(initial);
      }
      return area;
    }
    const input = h('input', { class: 'cag-input', data, attrs: { type: 'text', spellcheck: 'false' } });
    if (typeof initial === 'string') {
      input.value = initial;
    }
    return input;
  }

  /** The inputs, or null when a value is wrong (each problem is shown under its field). */
  values(): Record<string, unknown> | null {
    const values: Record<string, unknown> = {};
    let ok = true;
    for (const entry of this.entries) {
      replace(entry.problem, '');
      const result = this.read(entry);
      if (result instanceof Problem) {
        replace(entry.problem, result.text);
        ok = false;
      } else if (result !== undefined) {
        values[entry.name] = result;
      }
    }
    return ok ? values : null;
  }

  private read(entry: Entry): unknown {
    const { control, kind, required, schema } = entry;
    if (control instanceof HTMLInputElement && control.type === 'checkbox') {
      return control.checked;
    }
    if (control instanceof HTMLSelectElement) {
      if (control.value === '') {
        return required ? new Problem('Choose a value.') : undefined;
      }
      return schema.enum?.[Number(control.value)];
    }
    const text = control.value;
    if (!text.trim()) {
      return required ? new Problem('Required.') : undefined;
    }
    if (kind === 'integer' || kind === 'number') {
      const number = Number(text);
      if (Number.isNaN(number) || (kind === 'integer' && !Number.isInteger(number))) {
        return new Problem(`Expected ${kind === 'integer' ? 'a whole number' : 'a number'}.`);
      }
      return number;
    }
    if (kind === 'array' || kind === 'object' || kind === 'any') {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return kind === 'any' ? text : new Problem(`Expected JSON (${kind === 'array' ? 'a list like ["a", "b"]' : 'an object like {"k": 1}'}).`);
      }
    }
    return text;
  }

  /** Show the service's own field errors (`loc: ["body", "inputs", NAME]`) under their fields. */
  showErrors(detail: unknown): boolean {
    if (!Array.isArray(detail)) {
      return false;
    }
    let shown = false;
    for (const item of detail as { loc?: unknown[]; msg?: string }[]) {
      const loc = Array.isArray(item.loc) ? item.loc.map(String) : [];
      const at = loc.indexOf('inputs');
      const name = at >= 0 ? loc[at + 1] : undefined;
      const entry = this.entries.find(e => e.name === name);
      if (entry && item.msg) {
        replace(entry.problem, item.msg);
        shown = true;
      }
    }
    return shown;
  }
}

/** The fields of a schema as rows (name, type, required, description) for the Schema view. */
export function schemaTable(schema: JsonSchema | undefined, caption: string): HTMLElement {
  const properties = Object.entries(schema?.properties ?? {});
  const required = new Set(schema?.required ?? []);
  if (!properties.length) {
    return h('div', { class: 'cag-schema-table' }, h('h4', null, caption), h('div', { class: 'cag-hint' }, 'No fields.'));
  }
  return h(
    'div',
    { class: 'cag-schema-table' },
    h('h4', null, caption),
    h(
      'table',
      { class: 'cag-table' },
      h('thead', null, h('tr', null, h('th', null, 'Field'), h('th', null, 'Type'), h('th', null, 'Required'), h('th', null, 'Description'))),
      h('tbody', null, ...properties.map(([name, prop]) =>
        h('tr', { data: { field: name } }, h('td', null, h('code', null, name)), h('td', null, typeOf(prop)),
          h('td', null, required.has(name) ? 'yes' : 'no'), h('td', null, prop.description ?? ''))))
    )
  );
}
