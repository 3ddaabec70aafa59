/**
 * A modal dialog inside a panel (`<dialog>` in the browser's top layer, so neither the
 * sidebar's nor a notebook output's overflow clips it). Escape and the × button close it.
 */

import { button, h, replace, type Child } from './dom';

export interface Modal {
  readonly element: HTMLDialogElement;
  /** The dialog's message line (errors, progress); empty text hides it. */
  say(text: string, kind?: 'error' | 'info'): void;
  close(): void;
}

export interface ModalOptions {
  title: string;
  /** `data-modal` of the dialog, for styles and tests. */
  name: string;
  body: Child[];
  /** Buttons at the bottom, right-aligned after Cancel. */
  actions: HTMLElement[];
  onClose?: () => void;
}

/** Open a modal over `host` (a panel element); it is removed from the page when closed. */
export function openModal(host: HTMLElement, options: ModalOptions): Modal {
  const message = h('div', { class: 'cag-modal-message', attrs: { role: 'alert', 'aria-live': 'polite' } });
  message.hidden = true;
  let closed = false;
  const close = (): void => {
    if (closed) {
      return;
    }
    closed = true;
    if (dialog.open) {
      dialog.close();
    }
    dialog.remove();
    options.onClose?.();
  };
  const titleId = `cag-modal-title-${Math.random().toString(36).slice(2)}`;
  const dialog = h(
    'dialog',
    { class: 'cag-modal', data: { modal: options.name }, attrs: { 'aria-labelledby': titleId } },
    h(
      'div',
      { class: 'cag-modal-head' },
      h('h3', { class: 'cag-modal-title', attrs: { id: titleId } }, options.title),
      button('×', close, { class: 'cag-modal-x', title: 'Close', attrs: { 'aria-label': 'Close' }, data: { action: 'close' } })
    ),
    h('div', { class: 'cag-modal-body' }, ...options.body),
    message,
    h('div', { class: 'cag-modal-actions' }, button('Cancel', close, { data: { action: 'cancel' } }), ...options.actions)
  );
  dialog.addEventListener('cancel', event => {
    event.preventDefault();
    close();
  });
  // JupyterLab's shortcuts (notebook command mode) must not see keys typed in the dialog.
  dialog.addEventListener('keydown', event => event.stopPropagation());
  // The panel's own classes carry the theme variables into the top layer.
  const panel = host.closest('.cag-panel') ?? host;
  panel.appendChild(dialog);
  dialog.showModal();
  return {
    element: dialog,
    say(text, kind = 'error') {
      replace(message, text);
      message.hidden = !text;
      message.className = `cag-modal-message cag-modal-${kind}`;
    },
    close
  };
}

/** A labelled form row: label text, the control, and an optional hint below it. */
export function field(label: Child, control: HTMLElement, hint?: Child): HTMLElement {
  return h('label', { class: 'cag-field' }, h('span', { class: 'cag-field-label' }, label), control, hint ? h('span', { class: 'cag-hint' }, hint) : null);
}
