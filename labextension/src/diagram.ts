/**
 * Drawing a workflow's state machine. JupyterLab draws Mermaid itself (its `text/vnd.mermaid`
 * renderer, strict security level, current theme): a panel asks for it with a bubbling
 * `cagents:render-mermaid` event that the labextension answers. Where nobody answers (a
 * notebook output without the labextension), the server draws an SVG with Graphviz
 * (`workflows/diagram`), shown as an image (an SVG in an <img> runs no script); failing
 * that, the Mermaid source is shown as text.
 */

import type { Api } from './api';
import { h } from './dom';

export const MERMAID_EVENT = 'cagents:render-mermaid';

export interface MermaidDetail {
  source: string;
  /** The host calls this once with the drawn element, or with an error. */
  done(result: HTMLElement | Error): void;
}

function hostDrawing(from: HTMLElement, source: string): Promise<HTMLElement> | null {
  let settle: ((result: HTMLElement | Error) => void) | null = null;
  const result = new Promise<HTMLElement>((resolve, reject) => {
    settle = value => (value instanceof Error ? reject(value) : resolve(value));
  });
  const event = new CustomEvent<MermaidDetail>(MERMAID_EVENT, {
    detail: { source, done: value => settle?.(value) },
    bubbles: true,
    cancelable: true,
    composed: true
  });
  return from.dispatchEvent(event) ? null : result;
}

async function serverSvg(api: Api, yaml: string): Promise<HTMLElement> {
  const reply = await api.post<{ diagram: string }>('workflows/diagram', { yaml, format: 'svg' });
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(reply.diagram)}`;
  return h('img', { class: 'cag-diagram-svg', attrs: { src, alt: 'Workflow diagram' } });
}

function sourceView(source: string, why: string): HTMLElement {
  return h('div', { class: 'cag-diagram-source' }, h('div', { class: 'cag-hint' }, why), h('pre', { class: 'cag-code' }, source));
}

/** Diagrams JupyterLab drew, redrawn when its theme changes (Mermaid draws in the theme's colours). */
const drawn = new Map<HTMLElement, { api: Api; mermaid: string; yaml?: string }>();
let themeWatch: MutationObserver | null = null;

function watchTheme(): void {
  if (themeWatch || !document.body) {
    return;
  }
  themeWatch = new MutationObserver(() => {
    for (const [el, spec] of Array.from(drawn)) {
      drawn.delete(el);
      if (el.isConnected && el.dataset.drawn === 'mermaid') {
        void drawDiagram(spec.api, el, spec.mermaid, spec.yaml);
      }
    }
  });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name'] });
}

/**
 * Draw into `into` (which must be in the page so the host hears the event); `yaml` lets
 * the server draw when the host cannot.
 */
export async function drawDiagram(api: Api, into: HTMLElement, mermaid: string, yaml?: string): Promise<void> {
  into.replaceChildren(h('div', { class: 'cag-hint' }, 'Drawing the diagram…'));
  let drawing: HTMLElement | null = null;
  let kind = 'source';
  let why = 'The diagram as Mermaid source (no renderer here).';
  const host = hostDrawing(into, mermaid);
  if (host) {
    try {
      drawing = await host;
      kind = 'mermaid';
    } catch (error) {
      why = `JupyterLab could not draw it (${error instanceof Error ? error.message : String(error)}); the Mermaid source:`;
    }
  }
  if (!drawing && yaml) {
    try {
      drawing = await serverSvg(api, yaml);
      kind = 'svg';
    } catch {
      // Graphviz may be missing on the server: the source below still says it all.
    }
  }
  into.replaceChildren(drawing ?? sourceView(mermaid, why));
  into.dataset.drawn = kind;
  if (kind === 'mermaid') {
    drawn.set(into, { api, mermaid, yaml });
    watchTheme();
  }
}
