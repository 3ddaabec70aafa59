/**
 * The Chat panel, an anywidget front-end module: a conversation with the workflow assistant
 * that drafts a workflow (diagram and YAML), then executes, deploys or inserts it into the
 * notebook. The same module renders in notebook outputs and in the sidebar; it reads the
 * REST API from the browser, never through a kernel (API keys typed here never reach one).
 *
 * Model: `base_url`, `session_id` (the conversation; set by the panel as it opens one).
 */

import { Api, messageOf, resolveBaseUrl } from '../api';
import { errorBox, replace } from '../dom';
import type { RenderProps } from '../model';
import type { ChatTraits } from './chat/types';
import { ChatView } from './chat/view';

export type { ChatTraits } from './chat/types';

export const DEFAULT_TRAITS: ChatTraits = { base_url: '', session_id: '' };

function render({ model, el }: RenderProps<ChatTraits>): () => void {
  el.classList.add('cag-panel', 'cag-chat');
  let view: ChatView | null = null;
  try {
    view = new ChatView(new Api(resolveBaseUrl(model.get('base_url'))), {
      sessionId: () => model.get('session_id'),
      setSessionId: id => {
        model.set('session_id', id);
        model.save_changes();
      }
    });
    replace(el, view.element);
    void view.open();
  } catch (error) {
    replace(el, errorBox(messageOf(error)));
  }
  const switched = (): void => void view?.switchTo(model.get('session_id'));
  model.on('change:session_id', switched);
  return () => {
    model.off('change:session_id', switched);
    view?.dispose();
  };
}

export default { render };
