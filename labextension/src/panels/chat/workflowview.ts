/**
 * The workflow the chat is building: its diagram (drawn by JupyterLab's Mermaid, or the
 * server, or shown as source) and its YAML, switched by tabs, and the assistant's
 * suggestions (tools, cost per run).
 */

import type { Api } from '../../api';
import { h, replace } from '../../dom';
import { count } from '../../format';
import { drawDiagram } from '../../diagram';
import type { Final, Proposal, Suggestions } from './types';

type View = 'diagram' | 'yaml';

export class WorkflowView {
  readonly element: HTMLElement;
  private readonly heading = h('div', { class: 'cag-chat-wf-name' });
  private readonly diagram = h('div', { class: 'cag-diagram', data: { view: 'diagram' } });
  private readonly yaml = h('pre', { class: 'cag-code cag-yaml', data: { view: 'yaml' } });
  private readonly tabs: HTMLElement;
  private readonly suggestions = h('div', { class: 'cag-chat-suggestions', data: { section: 'suggestions' } });
  private view: View = 'diagram';
  private shown = '';
  private mermaid = '';
  private source = '';
  private drawn = false;

  constructor(private readonly api: Api) {
    const tab = (view: View, label: string): HTMLButtonElement => {
      const el = h('button', { class: 'cag-segment', data: { view }, attrs: { type: 'button', role: 'tab' } }, label);
      el.addEventListener('click', () => this.select(view));
      return el;
    };
    this.tabs = h('div', { class: 'cag-segmented', attrs: { role: 'tablist', 'aria-label': 'Workflow view' } }, tab('diagram', 'Diagram'), tab('yaml', 'YAML'));
    this.element = h(
      'section',
      { class: 'cag-chat-workflow', data: { section: 'workflow' } },
      h('div', { class: 'cag-chat-section-head' }, h('h3', { class: 'cag-card-title' }, 'Generated config'), this.tabs),
      this.heading,
      this.diagram,
      this.yaml,
      this.suggestions
    );
    this.show(null, null, null);
  }

  /** The draft (or the final config) and the suggestions; a new text redraws the diagram. */
  show(proposal: Proposal | null, final: Final | null, suggestions: Suggestions | null): void {
    const current = final ?? proposal;
    this.element.dataset.state = final ? 'final' : proposal ? 'draft' : 'none';
    if (!current) {
      replace(this.heading, h('span', { class: 'cag-hint' }, 'No workflow yet: describe what it should do.'));
      this.diagram.replaceChildren();
      this.yaml.textContent = '';
      this.shown = '';
      this.tabs.hidden = true;
      this.diagram.hidden = this.yaml.hidden = true;
      this.suggestions.replaceChildren();
      return;
    }
    this.tabs.hidden = false;
    const revision = proposal?.revision ? ` · draft ${proposal.revision}` : '';
    replace(this.heading, h('strong', null, current.workflow ?? 'workflow'), final ? ' · final' : revision);
    this.yaml.textContent = current.yaml;
    this.mermaid = current.mermaid;
    this.source = current.yaml;
    if (this.shown !== current.yaml) {
      this.shown = current.yaml;
      this.drawn = false;
    }
    this.select(this.view);
    this.showSuggestions(suggestions);
  }

  private select(view: View): void {
    this.view = view;
    for (const tab of Array.from(this.tabs.children) as HTMLElement[]) {
      const on = tab.dataset.view === view;
      tab.classList.toggle('cag-active', on);
      tab.setAttribute('aria-selected', String(on));
    }
    this.diagram.hidden = view !== 'diagram';
    this.yaml.hidden = view !== 'yaml';
    if (view === 'diagram' && !this.drawn && this.mermaid && this.element.isConnected) {
      this.drawn = true;
      void drawDiagram(this.api, this.diagram, this.mermaid, this.source);
    }
  }

  /** Draw when first on screen (the host only hears events from elements in the page). */
  attached(): void {
    this.select(this.view);
  }

  private showSuggestions(suggestions: Suggestions | null): void {
    if (!suggestions) {
      this.suggestions.replaceChildren();
      return;
    }
    const tools = suggestions.tools ?? [];
    const estimate = suggestions.cost_estimate;
    replace(
      this.suggestions,
      tools.length
        ? h('div', { data: { role: 'tools' } }, h('div', { class: 'cag-field-label' }, 'Suggested tools'),
            h('ul', null, ...tools.map(tool => h('li', null, h('code', null, tool.name), tool.node ? ` (node ${tool.node})` : '',
              tool.reason ? h('span', { class: 'cag-hint' }, ` — ${tool.reason}`) : null))))
        : null,
      estimate
        ? h('div', { data: { role: 'cost' } }, h('span', { class: 'cag-field-label' }, 'Cost estimate: '),
            estimate.usd_per_run === null || estimate.usd_per_run === undefined ? 'unknown price' : `~$${estimate.usd_per_run.toFixed(4)} per run`,
            estimate.tokens_per_run ? ` (${count(estimate.tokens_per_run)} tokens${estimate.model ? `, ${estimate.model}` : ''})` : '',
            estimate.basis ? h('div', { class: 'cag-hint' }, estimate.basis) : null)
        : null
    );
  }
}
