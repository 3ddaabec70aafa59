/** The shapes the Chat panel reads: its model's traits and the chat REST API's answers. */

import type { EnvRequirement } from '../../envarea';
import type { JsonSchema } from '../deployments/types';

export interface ChatTraits {
  /** The Jupyter server's base URL; empty: the page's own. */
  base_url: string;
  /** The conversation shown; empty: the most recent one (a new one when there is none). */
  session_id: string;
}

export interface ChatSession {
  session_id: string;
  user_identifier?: string | null;
  status: string;
  created_at: string;
  updated_at: string;
  generated_config: string | null;
}

export interface ChatMessage {
  id: number;
  session_id: string;
  role: string;
  content: string;
  created_at: string;
  metadata: Record<string, unknown> | null;
}

export interface Proposal {
  yaml: string;
  mermaid: string;
  valid?: boolean;
  issues?: unknown[];
  workflow?: string;
  nodes?: string[];
  input_schema?: JsonSchema;
  revision?: number;
}

export interface CostEstimate {
  usd_per_run: number | null;
  tokens_per_run?: number | null;
  model?: string | null;
  basis?: string | null;
}

export interface Suggestions {
  tools?: { name: string; reason?: string; node?: string }[];
  env?: EnvRequirement[];
  cost_estimate?: CostEstimate | null;
}

export interface Final {
  yaml: string;
  mermaid: string;
  workflow?: string;
  input_schema?: JsonSchema;
  env?: EnvRequirement[];
  config_hash?: string;
}

export interface AssistantState {
  stage: string;
  proposal: Proposal | null;
  suggestions: Suggestions | null;
  final: Final | null;
  offline?: boolean;
  model?: string | null;
  actions: string[];
}

export interface SessionDetail extends ChatSession {
  messages: ChatMessage[];
  assistant?: AssistantState;
}

export const STAGE_LABELS: Record<string, string> = {
  awaiting_description: 'Describe a workflow',
  proposed: 'Draft: does it match?',
  reviewing: 'Reviewing suggestions',
  approved: 'Approved',
  done: 'Executed / deployed'
};
