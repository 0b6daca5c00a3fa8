import { GraphGroup, GraphNode } from '../src/logic';

export function node(id: string, pipelines: string[], display?: string): GraphNode {
  return {
    id,
    dom_id: `stratum_${id}`,
    label: `${id} = step()`,
    code: `${id} = step()  # full`,
    pipelines,
    shared: pipelines.length,
    display: display ?? `stratum_${id}`
  };
}

// n1 -> n2 -> {n3 (p1), n4 (p2), n5 (p3)}
export const nodes: GraphNode[] = [
  node('n1', ['p1', 'p2', 'p3']),
  node('n2', ['p1', 'p2', 'p3']),
  node('n3', ['p1']),
  node('n4', ['p2']),
  node('n5', ['p3'])
];
export const edges: [string, string][] = [
  ['n1', 'n2'],
  ['n2', 'n3'],
  ['n2', 'n4'],
  ['n2', 'n5']
];

// collapsed variant: p1's private steps a, b shown as one chain node
export const cnodes: GraphNode[] = [
  node('s', ['p1', 'p2']),
  node('a', ['p1'], 'stratum_chain_3a_p1'),
  node('b', ['p1'], 'stratum_chain_3a_p1'),
  node('c', ['p2'])
];
export const cgroups: GraphGroup[] = [
  { id: 'chain:p1', dom_id: 'stratum_chain_3a_p1', label: 'p1: 2 steps', pipelines: ['p1'], members: ['a', 'b'] }
];
export const cedges: [string, string][] = [
  ['s', 'chain:p1'],
  ['s', 'c']
];
