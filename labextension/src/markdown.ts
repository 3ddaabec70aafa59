/**
 * The little Markdown the assistant writes (paragraphs, `-` and `1.` lists, **bold**,
 * `code`, ``` fences (a ```mermaid fence becomes a diagram placeholder), # headings), built as DOM nodes with text only: no HTML from a message
 * is ever interpreted, so `<script>` in a message shows as those characters.
 */

import { h, type Child } from './dom';

/** Inline marks: `code` first (nothing inside it is a mark), then **bold**. */
function inline(text: string): Child[] {
  const out: Child[] = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*/g;
  let last = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match.index > last) {
      out.push(text.slice(last, match.index));
    }
    out.push(match[1] !== undefined ? h('code', null, match[1]) : h('strong', null, match[2]));
    last = match.index + match[0].length;
  }
  if (last < text.length) {
    out.push(text.slice(last));
  }
  return out;
}

export function markdown(source: string): HTMLElement {
  const root = h('div', { class: 'cag-md' });
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let list: HTMLElement | null = null;
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length) {
      const p = h('p');
      paragraph.forEach((line, index) => {
        if (index) {
          p.append(h('br'));
        }
        p.append(...inline(line).map(child => (typeof child === 'string' ? document.createTextNode(child) : (child as Node))));
      });
      root.append(p);
      paragraph = [];
    }
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trimStart().startsWith('```')) {
      flush();
      const lang = line.trim().slice(3).trim().toLowerCase();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].trimStart().startsWith('```'); i++) {
        code.push(lines[i]);
      }
      // A diagram: a placeholder the conversation draws once it is in the page.
      root.append(lang === 'mermaid'
        ? h('div', { class: 'cag-diagram cag-msg-diagram', data: { mermaid: code.join('\n') } })
        : h('pre', { class: 'cag-code' }, code.join('\n')));
      continue;
    }
    const item = /^\s*(?:[-*]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      if (paragraph.length) {
        flush();
      }
      if (!list) {
        list = h(/^\s*\d/.test(line) ? 'ol' : 'ul');
        root.append(list);
      }
      list.append(h('li', null, ...inline(item[1])));
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      root.append(h('p', null, h('strong', null, ...inline(heading[1]))));
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    list = null;
    paragraph.push(line);
  }
  flush();
  return root;
}
