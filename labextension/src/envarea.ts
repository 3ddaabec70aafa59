/**
 * The env area: API keys for one request (Execute, Deploy). One password field per key the
 * workflow asks for, marked required or optional, and a box to paste a `.env` file. Values
 * are sent with that request only; the panel never stores them.
 */

import { h, replace } from './dom';
import { field } from './modal';

/** One environment requirement, as `workflows/validate`, a deployment's schema and the chat give it. */
export interface EnvRequirement {
  /** Any one of these names satisfies it (`OPENAI_API_KEY`, or a gateway key). */
  names: string[];
  required: boolean;
  reason?: string | null;
  /** Already set where the workflow runs (the server, the service). */
  set?: boolean;
}

/** `KEY=VALUE` lines of a `.env` file: `export`, quotes and comments handled; bad lines listed. */
export function parseDotenv(text: string): { values: Record<string, string>; bad: number[] } {
  const values: Record<string, string> = {};
  const bad: number[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) {
      return;
    }
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      bad.push(index + 1);
      return;
    }
    let value = match[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) {
      value = quoted[2];
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    values[match[1]] = value;
  });
  return { values, bad };
}

export class EnvArea {
  readonly element: HTMLElement;
  private readonly inputs = new Map<string, HTMLInputElement>();
  private readonly paste: HTMLTextAreaElement;
  private readonly problem = h('div', { class: 'cag-hint cag-env-problem' });

  /** `initial`: values typed before (the chat rebuilds the area when the workflow changes). */
  constructor(private readonly requirements: EnvRequirement[], title = 'Environment variables', initial: Record<string, string> = {}) {
    const rest = { ...initial };
    const rows = requirements.map(requirement => {
      const name = requirement.names[0] ?? '';
      const input = h('input', {
        class: 'cag-input cag-env-input',
        data: { env: name },
        attrs: { type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: requirement.set ? 'set where it runs' : '' }
      });
      this.inputs.set(name, input);
      const known = requirement.names.find(n => rest[n]);
      if (known) {
        input.value = rest[known];
        delete rest[known];
      }
      const others = requirement.names.slice(1);
      const label = h(
        'span',
        null,
        h('code', null, name),
        others.length ? ` (or ${others.join(', ')})` : '',
        h('span', { class: `cag-env-mark ${requirement.required ? 'cag-required' : 'cag-optional'}`, data: { required: String(requirement.required) } },
          requirement.required ? ' ● required' : ' ○ optional')
      );
      const hint = [requirement.reason ?? '', requirement.set ? 'already set where it runs' : ''].filter(Boolean).join(' · ');
      return field(label, input, hint || undefined);
    });
    this.paste = h('textarea', {
      class: 'cag-input cag-env-paste',
      data: { env: 'dotenv' },
      attrs: { rows: '3', spellcheck: 'false', placeholder: 'Or paste .env file contents here (KEY=value per line)' }
    });
    this.paste.value = Object.entries(rest).map(([key, value]) => `${key}=${value}`).join('\n');
    this.element = h(
      'fieldset',
      { class: 'cag-env', data: { section: 'env' } },
      h('legend', null, title),
      requirements.length ? null : h('div', { class: 'cag-hint' }, 'The workflow declares no API keys; add any it needs below.'),
      ...rows,
      this.paste,
      this.problem,
      h('div', { class: 'cag-hint' }, 'Sent with this request only; never stored.')
    );
  }

  /** The values typed (fields win over the pasted `.env`); empty values are left out. */
  values(): Record<string, string> {
    const { values, bad } = parseDotenv(this.paste.value);
    replace(this.problem, bad.length ? `Ignored .env line${bad.length > 1 ? 's' : ''} ${bad.join(', ')}: expected KEY=value.` : '');
    for (const [name, input] of this.inputs) {
      if (input.value) {
        values[name] = input.value;
      }
    }
    return values;
  }

  /** Required keys that are neither typed nor set where the workflow runs. */
  missing(): string[] {
    const values = this.values();
    return this.requirements
      .filter(r => r.required && !r.set && !r.names.some(name => values[name]))
      .map(r => r.names[0]);
  }
}
