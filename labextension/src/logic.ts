// Pure logic of the graph view: no DOM, no Jupyter. Unit-tested with vitest.

export type Status =
  | 'pending'
  | 'running'
  | 'done'
  | 'cached'
  | 'failed'
  | 'skipped'
  | 'cancelled'
  | 'timeout';

export const STATUSES: Status[] = [
  'pending',
  'running',
  'done',
  'cached',
  'failed',
  'skipped',
  'cancelled',
  'timeout'
];

// Keep in sync with stratum_jupyter/widget.py (STATUS_COLORS).
export const STATUS_COLORS: Record<Status, string> = {
  pending: '#eceff1',
  running: '#ffe082',
  done: '#a5d6a7',
  cached: '#90caf9',
  failed: '#ef9a9a',
  skipped: '#e0e0e0',
  cancelled: '#cfd8dc',
  timeout: '#ffab91'
};

/** One captured-and-merged step, as synced in the model's `nodes` trait. */
export interface GraphNode {
  id: string;
  dom_id: string;
  label: string;
  code: string;
  pipelines: string[];
  shared: number;
  /** dom id of the SVG node that shows this step (itself, or its collapsed group) */
  display: string;
}

/** A display node standing for several steps of one pipeline (collapsed graphs). */
export interface GraphGroup {
  id: string;
  dom_id: string;
  label: string;
  pipelines: string[];
  members: string[];
}

export interface NodeInfo {
  seconds?: number | null;
  output?: string | null;
  error?: string | null;
  /** fold-level nodes the statement ran (model selection), one line per estimator */
  folds?: string[];
}

export interface GraphState {
  nodes: GraphNode[];
  groups: GraphGroup[];
  /** display edges [from id, to id]; edge i is `stratum_edge_i` in the SVG */
  edges: [string, string][];
  status: Record<string, string>;
  info: Record<string, NodeInfo>;
}

export interface Details {
  id: string;
  label: string;
  kind: 'step' | 'group';
  status: string;
  code?: string;
  pipelines: string[];
  shared?: number;
  seconds?: number | null;
  output?: string | null;
  error?: string | null;
  folds?: string[];
  members?: { id: string; label: string; status: string }[];
}

export function colorOf(status: string): string {
  return (STATUS_COLORS as Record<string, string>)[status] ?? STATUS_COLORS.pending;
}

/** The status shown for a collapsed node. Keep in sync with widget.py (aggregate_status). */
export function aggregateStatus(statuses: string[]): string {
  if (statuses.length === 0) {
    return 'pending';
  }
  for (const bad of ['failed', 'timeout']) {
    if (statuses.includes(bad)) {
      return bad;
    }
  }
  if (statuses.includes('running')) {
    return 'running';
  }
  if (statuses.every(s => s === 'pending')) {
    return 'pending';
  }
  if (statuses.includes('pending')) {
    return 'running';
  }
  for (const s of ['skipped', 'cancelled']) {
    if (statuses.includes(s)) {
      return s;
    }
  }
  if (statuses.every(s => s === 'cached')) {
    return 'cached';
  }
  return 'done';
}

/** Lookup tables built once per graph (O(n)); status updates then cost O(changes). */
export class GraphIndex {
  readonly nodeById = new Map<string, GraphNode>();
  readonly groupById = new Map<string, GraphGroup>();
  readonly groupByDom = new Map<string, GraphGroup>();
  readonly nodeByDom = new Map<string, GraphNode>();
  /** display dom id -> the pipelines it belongs to */
  readonly pipelinesOfDisplay = new Map<string, Set<string>>();
  readonly displayOfId = new Map<string, string>();

  constructor(readonly state: Pick<GraphState, 'nodes' | 'groups' | 'edges'>) {
    for (const n of state.nodes) {
      this.nodeById.set(n.id, n);
      this.displayOfId.set(n.id, n.display);
      if (n.display === n.dom_id) {
        this.nodeByDom.set(n.dom_id, n);
        this.pipelinesOfDisplay.set(n.dom_id, new Set(n.pipelines));
      }
    }
    for (const g of state.groups) {
      this.groupById.set(g.id, g);
      this.groupByDom.set(g.dom_id, g);
      this.displayOfId.set(g.id, g.dom_id);
      this.pipelinesOfDisplay.set(g.dom_id, new Set(g.pipelines));
    }
  }

  /** The status shown by a display node (dom id). */
  displayStatus(domId: string, status: Record<string, string>): string {
    const g = this.groupByDom.get(domId);
    if (g) {
      return aggregateStatus(g.members.map(m => status[m] ?? 'pending'));
    }
    const n = this.nodeByDom.get(domId);
    return n ? status[n.id] ?? 'pending' : 'pending';
  }

  /** Display dom ids whose shown status may differ between two status maps. */
  changedDisplays(prev: Record<string, string>, next: Record<string, string>): Set<string> {
    const out = new Set<string>();
    for (const id of Object.keys(next)) {
      if (prev[id] !== next[id]) {
        const d = this.displayOfId.get(id);
        if (d !== undefined) {
          out.add(d);
        }
      }
    }
    for (const id of Object.keys(prev)) {
      if (!(id in next)) {
        const d = this.displayOfId.get(id);
        if (d !== undefined) {
          out.add(d);
        }
      }
    }
    return out;
  }

  /** The display node a click on `domId` refers to: a step id or a group id. */
  idOfDom(domId: string): string | undefined {
    return this.nodeByDom.get(domId)?.id ?? this.groupByDom.get(domId)?.id;
  }

  /** The display nodes and edge indices on the path of one pipeline. */
  pipelinePath(pipeline: string): { nodes: Set<string>; edges: Set<number> } {
    const nodes = new Set<string>();
    for (const [dom, pls] of this.pipelinesOfDisplay) {
      if (pls.has(pipeline)) {
        nodes.add(dom);
      }
    }
    const edges = new Set<number>();
    this.state.edges.forEach(([a, b], i) => {
      const da = this.displayOfId.get(a);
      const db = this.displayOfId.get(b);
      if (da !== undefined && db !== undefined && nodes.has(da) && nodes.has(db)) {
        edges.add(i);
      }
    });
    return { nodes, edges };
  }

  details(id: string, status: Record<string, string>, info: Record<string, NodeInfo>): Details | null {
    const n = this.nodeById.get(id);
    if (n) {
      const inf = info[id] ?? {};
      return {
        id,
        kind: 'step',
        label: n.label,
        code: n.code,
        pipelines: [...n.pipelines],
        shared: n.shared,
        status: status[id] ?? 'pending',
        seconds: inf.seconds ?? null,
        output: inf.output ?? null,
        error: inf.error ?? null,
        folds: [...(inf.folds ?? [])]
      };
    }
    const g = this.groupById.get(id);
    if (g) {
      return {
        id,
        kind: 'group',
        label: g.label,
        pipelines: [...g.pipelines],
        status: aggregateStatus(g.members.map(m => status[m] ?? 'pending')),
        members: g.members.map(m => ({
          id: m,
          label: this.nodeById.get(m)?.label ?? m,
          status: status[m] ?? 'pending'
        }))
      };
    }
    return null;
  }
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || Number.isNaN(s)) {
    return '—';
  }
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`;
}

/** Counts of each status over steps, for the progress line. */
export function statusCounts(nodes: GraphNode[], status: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    const s = status[n.id] ?? 'pending';
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}
