/** The shapes the Executions panel reads: its model's traits and the REST API's answers. */

/** The filters of the list; empty strings mean "any". */
export interface ExecutionFilters {
  status?: string;
  workflow?: string;
  q?: string;
  /** ISO dates (`2026-02-13`) or times; `since <= started < until`. */
  since?: string;
  until?: string;
  /** Which date button is pressed: `all`, `today`, `week`, `custom`. */
  range?: string;
}

/** The model of the Executions panel (the Python widget's traits have the same names). */
export interface ExecutionsTraits {
  /** The Jupyter server's base URL; empty: read it from the page. */
  base_url: string;
  /** Set: the detail of this execution; empty: the list. */
  execution_id: string;
  /** Rows per page. */
  page_size: number;
  filters: ExecutionFilters;
}

export type Action = 'cancel' | 'resume' | 'rerun' | 'download-config' | 'view-trace';

/** `GET executions` items. */
export interface ExecutionRow {
  id: string;
  workflow_name: string;
  status: string;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  total_tokens: number | null;
  total_cost_usd: number | null;
  error_message: string | null;
  deployment_id: string | null;
  trace_id: string | null;
  retry_of: string | null;
  simulated: boolean;
  cancel_requested: boolean;
  waiting_node: string | null;
  actions: Action[];
}

export interface ExecutionPage {
  items: ExecutionRow[];
  next_cursor: string | null;
}

export interface Summary {
  total: number;
  completed: number;
  failed: number;
  running: number;
  total_cost_usd: number;
}

export interface TimelineEntry {
  step: number;
  node_id: string;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  duration_seconds: number | null;
  tokens: number | null;
  cost_usd: number | null;
  share: number | null;
  bottleneck: boolean;
}

export interface NodeTotals {
  node_id: string;
  runs: number | null;
  duration_seconds: number | null;
  tokens: number | null;
  cost_usd: number | null;
  share: number | null;
}

export interface DeploymentLink {
  deployment_id: string;
  deployment_name: string;
  host: string;
  port: number;
  is_alive: boolean;
}

/** `GET executions/{id}`. */
export interface ExecutionDetail {
  id: string;
  workflow_name: string;
  status: string;
  config_hash: string | null;
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  error_message: string | null;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  total_tokens: number | null;
  total_cost_usd: number | null;
  deployment_id: string | null;
  trace_id: string | null;
  retry_of: string | null;
  simulated: boolean;
  waiting_for: { node_id?: string; prompt?: string; fields?: Record<string, { type?: string; description?: string }> } | null;
  trace_note: string | null;
  cancel_requested: boolean;
  has_config: boolean;
  corrupt_fields: string[];
  timeline: TimelineEntry[];
  nodes: NodeTotals[];
  bottleneck: NodeTotals | null;
  links: {
    deployment_id: string | null;
    deployment: DeploymentLink | null;
    trace_id: string | null;
    mlflow_experiment: string | null;
    retry_of: string | null;
  };
  actions: Action[];
}

/** Statuses in which the run may still change. */
export const ACTIVE_STATUSES = new Set(['pending', 'running', 'waiting']);
