// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';

import {
  applyStatus,
  highlightPipeline,
  indexDisplayElements,
  markFolds,
  renderDetails,
  renderFallbackList,
  renderLegend
} from '../src/dom';
import { GraphIndex, STATUS_COLORS } from '../src/logic';
import { edges, nodes } from './fixture';

// The shape of graphviz output after stratum_jupyter.widget.render_svg post-processing.
function svgFor(ids: string[]): string {
  const gs = ids
    .map(
      id =>
        `<g id="stratum_${id}" class="node stratum_node"><title>${id}</title>` +
        `<path class="stratum-shape" fill="#eceff1" stroke="#546e7a" d="M0,0"/><text>${id}</text></g>`
    )
    .join('');
  const es = edges.map((_, i) => `<g id="stratum_edge_${i}" class="edge"><path d="M0,0"/></g>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><g class="graph">${gs}${es}</g></svg>`;
}

function mount(): HTMLElement {
  document.body.innerHTML = '';
  const root = document.createElement('div');
  root.innerHTML = svgFor(nodes.map(n => n.id));
  document.body.appendChild(root);
  return root;
}

describe('applyStatus', () => {
  it('recolours the shape and records the status', () => {
    const root = mount();
    const els = indexDisplayElements(root);
    expect(els.size).toBe(5);
    const g = els.get('stratum_n2')!;
    applyStatus(g, 'done');
    expect(g.getAttribute('data-status')).toBe('done');
    expect(g.querySelector('.stratum-shape')!.getAttribute('fill')).toBe(STATUS_COLORS.done);
    applyStatus(g, 'failed');
    expect(g.querySelector('.stratum-shape')!.getAttribute('fill')).toBe(STATUS_COLORS.failed);
  });
});

describe('markFolds', () => {
  it('marks statements that ran fold-level nodes, and unmarks them when the info goes', () => {
    const root = mount();
    const els = indexDisplayElements(root);
    const idx = new GraphIndex({ nodes, groups: [], edges });
    markFolds(els, idx, { n2: { folds: ['a', 'b'] }, n3: { seconds: 1 } });
    expect(els.get('stratum_n2')!.getAttribute('data-folds')).toBe('2');
    expect(els.get('stratum_n3')!.hasAttribute('data-folds')).toBe(false);
    markFolds(els, idx, {});
    expect(els.get('stratum_n2')!.hasAttribute('data-folds')).toBe(false);
  });
});

describe('highlightPipeline', () => {
  it('marks the path and clears it', () => {
    const root = mount();
    const idx = new GraphIndex({ nodes, groups: [], edges });
    highlightPipeline(root, idx, 'p3');
    expect(root.classList.contains('stratum-has-selection')).toBe(true);
    const hl = [...root.querySelectorAll('.stratum-hl')].map(e => e.id).sort();
    expect(hl).toEqual(['stratum_edge_0', 'stratum_edge_3', 'stratum_n1', 'stratum_n2', 'stratum_n5']);
    highlightPipeline(root, idx, '');
    expect(root.querySelectorAll('.stratum-hl').length).toBe(0);
    expect(root.classList.contains('stratum-has-selection')).toBe(false);
  });
});

describe('renderLegend', () => {
  it('lists pipelines and toggles selection', () => {
    const c = document.createElement('div');
    const onSelect = vi.fn();
    renderLegend(c, ['p1', 'p2'], { p1: '#111111', p2: '#222222' }, 'p2', onSelect);
    const items = c.querySelectorAll('button');
    expect(items.length).toBe(2);
    (items[0] as HTMLElement).click();
    (items[1] as HTMLElement).click();
    expect(onSelect.mock.calls).toEqual([['p1'], ['']]);
  });
});

describe('renderDetails', () => {
  const idx = new GraphIndex({ nodes, groups: [], edges });

  it('shows code, pipelines, seconds, output and error', () => {
    const c = document.createElement('div');
    const d = idx.details('n2', { n2: 'failed' }, { n2: { seconds: 1.5, output: 'DataFrame (3, 2)', error: 'KeyError: x' } });
    renderDetails(c, d, () => {}, () => {});
    expect(c.hidden).toBe(false);
    expect(c.querySelector('[data-field=code]')!.textContent).toBe('n2 = step()  # full');
    expect(c.querySelector('[data-field=pipelines]')!.textContent).toContain('p1, p2, p3');
    expect(c.querySelector('[data-field=pipelines]')!.textContent).toContain('shared by 3');
    expect(c.querySelector('[data-field=seconds]')!.textContent).toBe('1.50 s');
    expect(c.querySelector('[data-field=output]')!.textContent).toBe('DataFrame (3, 2)');
    expect(c.querySelector('[data-field=error]')!.textContent).toBe('KeyError: x');
    expect(c.querySelector('.stratum-status-badge')!.textContent).toBe('failed');
  });

  it('lists the fold-level nodes a statement ran, and nothing for other steps', () => {
    const c = document.createElement('div');
    const folds = ['StandardScaler fit+transform: 5 folds here: 0 run, 5 reused (shared by 4 candidates)'];
    renderDetails(c, idx.details('n2', {}, { n2: { folds } }), () => {}, () => {});
    expect([...c.querySelectorAll('[data-field=folds] li')].map(li => li.textContent)).toEqual(folds);
    renderDetails(c, idx.details('n1', {}, {}), () => {}, () => {});
    expect(c.querySelector('[data-field=folds]')).toBeNull();
  });

  it('hides when nothing is selected and escapes code', () => {
    const c = document.createElement('div');
    renderDetails(c, null, () => {}, () => {});
    expect(c.hidden).toBe(true);
    const d = idx.details('n1', {}, {})!;
    d.code = '<img src=x onerror=alert(1)>';
    renderDetails(c, d, () => {}, () => {});
    expect(c.querySelector('img')).toBeNull();
  });
});

describe('renderFallbackList', () => {
  it('renders a list that restyles like the SVG', () => {
    const c = document.createElement('div');
    document.body.appendChild(c);
    const idx = new GraphIndex({ nodes, groups: [], edges });
    renderFallbackList(c, idx, { n1: 'done' });
    const els = indexDisplayElements(c);
    expect(els.size).toBe(5);
    expect(els.get('stratum_n1')!.getAttribute('data-status')).toBe('done');
    expect(els.get('stratum_n2')!.getAttribute('data-status')).toBe('pending');
  });
});
