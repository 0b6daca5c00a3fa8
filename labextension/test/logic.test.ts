import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { aggregateStatus, colorOf, formatSeconds, GraphIndex, statusCounts, STATUS_COLORS } from '../src/logic';
import { MODULE_NAME, MODULE_VERSION } from '../src/version';
import { cedges, cgroups, cnodes, edges, nodes } from './fixture';

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(MODULE_NAME).toBe(pkg.name);
    expect(MODULE_VERSION).toBe(pkg.version);
  });
});

describe('aggregateStatus', () => {
  it.each([
    [[], 'pending'],
    [['pending', 'pending'], 'pending'],
    [['done', 'pending'], 'running'],
    [['done', 'running'], 'running'],
    [['done', 'failed', 'running'], 'failed'],
    [['done', 'timeout'], 'timeout'],
    [['done', 'cached'], 'done'],
    [['cached', 'cached'], 'cached'],
    [['done', 'skipped'], 'skipped'],
    [['cancelled', 'done'], 'cancelled']
  ])('%j -> %s', (input, expected) => {
    expect(aggregateStatus(input as string[])).toBe(expected);
  });
});

describe('colours', () => {
  it('has one colour per status and falls back to pending', () => {
    expect(new Set(Object.values(STATUS_COLORS)).size).toBe(Object.keys(STATUS_COLORS).length);
    expect(colorOf('done')).toBe(STATUS_COLORS.done);
    expect(colorOf('nonsense')).toBe(STATUS_COLORS.pending);
  });
});

describe('GraphIndex', () => {
  const idx = new GraphIndex({ nodes, groups: [], edges });

  it('maps dom ids to node ids', () => {
    expect(idx.idOfDom('stratum_n3')).toBe('n3');
    expect(idx.idOfDom('nope')).toBeUndefined();
  });

  it('finds the path of one pipeline', () => {
    const p = idx.pipelinePath('p2');
    expect([...p.nodes].sort()).toEqual(['stratum_n1', 'stratum_n2', 'stratum_n4']);
    expect([...p.edges].sort()).toEqual([0, 2]);
    expect(idx.pipelinePath('nope').nodes.size).toBe(0);
  });

  it('reports only the displays whose status changed', () => {
    const prev = { n1: 'done', n2: 'running', n3: 'pending' };
    const next = { n1: 'done', n2: 'done', n3: 'running' };
    expect([...idx.changedDisplays(prev, next)].sort()).toEqual(['stratum_n2', 'stratum_n3']);
    expect(idx.changedDisplays(next, next).size).toBe(0);
  });

  it('builds step details with result info', () => {
    const d = idx.details('n2', { n2: 'done' }, { n2: { seconds: 0.25, output: 'DataFrame (10, 3)', error: null } });
    expect(d).toMatchObject({
      id: 'n2',
      kind: 'step',
      status: 'done',
      code: 'n2 = step()  # full',
      pipelines: ['p1', 'p2', 'p3'],
      shared: 3,
      seconds: 0.25,
      output: 'DataFrame (10, 3)'
    });
    expect(idx.details('n3', {}, {})).toMatchObject({ status: 'pending', seconds: null, error: null });
    expect(idx.details('zzz', {}, {})).toBeNull();
  });

  it('counts statuses', () => {
    expect(statusCounts(nodes, { n1: 'done', n2: 'failed' })).toEqual({ done: 1, failed: 1, pending: 3 });
  });
});

describe('GraphIndex on a collapsed graph', () => {
  const idx = new GraphIndex({ nodes: cnodes, groups: cgroups, edges: cedges });

  it('aggregates member statuses into the group', () => {
    expect(idx.displayStatus('stratum_chain_3a_p1', { a: 'done', b: 'pending' })).toBe('running');
    expect(idx.displayStatus('stratum_chain_3a_p1', { a: 'done', b: 'done' })).toBe('done');
    expect(idx.displayStatus('stratum_s', { s: 'cached' })).toBe('cached');
  });

  it('maps a member status change to the group display', () => {
    expect([...idx.changedDisplays({ a: 'pending' }, { a: 'done' })]).toEqual(['stratum_chain_3a_p1']);
  });

  it('selects group and edges of a pipeline', () => {
    const p = idx.pipelinePath('p1');
    expect([...p.nodes].sort()).toEqual(['stratum_chain_3a_p1', 'stratum_s']);
    expect([...p.edges]).toEqual([0]);
  });

  it('gives group details with member statuses', () => {
    const d = idx.details('chain:p1', { a: 'failed' }, {});
    expect(d?.kind).toBe('group');
    expect(d?.status).toBe('failed');
    expect(d?.members?.map(m => [m.id, m.status])).toEqual([
      ['a', 'failed'],
      ['b', 'pending']
    ]);
  });
});

describe('formatSeconds', () => {
  it('formats', () => {
    expect(formatSeconds(0.0123)).toBe('12 ms');
    expect(formatSeconds(2.5)).toBe('2.50 s');
    expect(formatSeconds(null)).toBe('—');
  });
});

describe('performance', () => {
  it('indexes and updates 5000 nodes quickly', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({
      id: `n${i}`,
      dom_id: `stratum_n${i}`,
      label: '',
      code: '',
      pipelines: [`p${i % 300}`],
      shared: 1,
      display: `stratum_n${i}`
    }));
    const e: [string, string][] = many.slice(1).map((n, i) => [`n${i}`, n.id]);
    const t0 = performance.now();
    const idx = new GraphIndex({ nodes: many, groups: [], edges: e });
    const prev: Record<string, string> = {};
    const next: Record<string, string> = {};
    many.forEach(n => (next[n.id] = 'done'));
    expect(idx.changedDisplays(prev, next).size).toBe(5000);
    expect(idx.pipelinePath('p7').nodes.size).toBeGreaterThan(10);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
