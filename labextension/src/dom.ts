/**
 * Tiny DOM builders for the panels: every piece of data goes in as text, never as HTML.
 *
 * There is no `innerHTML` anywhere in the panels; `h()` only sets attributes, properties
 * and text nodes, so a workflow name like `<img onerror=...>` shows as those characters.
 */

export type Child = Node | string | number | null | undefined | false;

export interface Attrs {
  class?: string;
  title?: string;
  /** `data-*` attributes; tests and styles select on these. */
  data?: Record<string, string>;
  /** Any other attribute (aria-*, role, type, href...), set with setAttribute. */
  attrs?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
}

/** An element with text children; strings become text nodes, falsy children are skipped. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    if (attrs.class) {
      el.className = attrs.class;
    }
    if (attrs.title) {
      el.title = attrs.title;
    }
    for (const [key, value] of Object.entries(attrs.data ?? {})) {
      el.dataset[key] = value;
    }
    for (const [key, value] of Object.entries(attrs.attrs ?? {})) {
      el.setAttribute(key, value);
    }
    for (const [name, handler] of Object.entries(attrs.on ?? {})) {
      el.addEventListener(name, handler as EventListener);
    }
  }
  append(el, ...children);
  return el;
}

/** Append children as nodes or text. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A button that runs `onClick`; disabled while a returned promise is pending. */
export function button(
  label: string,
  onClick: () => void | Promise<void>,
  attrs: Attrs = {}
): HTMLButtonElement {
  const el = h('button', { ...attrs, attrs: { type: 'button', ...(attrs.attrs ?? {}) } }, label);
  el.classList.add('cag-button');
  el.addEventListener('click', event => {
    event.stopPropagation();
    const result = onClick();
    if (result instanceof Promise) {
      el.disabled = true;
      void result.finally(() => {
        el.disabled = false;
      });
    }
  });
  return el;
}

/** The three states every panel shows while it has no data to show. */
export function loading(text = 'Loading…'): HTMLElement {
  return h('div', { class: 'cag-state cag-loading', attrs: { role: 'status' } }, h('span', { class: 'cag-spinner' }), text);
}

export function empty(text: string, hint?: string): HTMLElement {
  return h('div', { class: 'cag-state cag-empty' }, h('div', null, text), hint ? h('div', { class: 'cag-hint' }, hint) : null);
}

export function errorBox(message: string, retry?: () => void): HTMLElement {
  return h(
    'div',
    { class: 'cag-state cag-error', attrs: { role: 'alert' } },
    h('div', { class: 'cag-error-message' }, message),
    retry ? button('Try again', retry) : null
  );
}
