// DOM helpers of the graph view that need no Jupyter (unit-tested with vitest + happy-dom).
import { colorOf, Details, formatSeconds, GraphIndex, NodeInfo } from './logic';

function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  cls?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (cls) {
    e.className = cls;
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

/** Recolour one display node (an SVG <g> or a fallback <li>) for a status. No re-layout. */
export function applyStatus(node: Element, status: string): void {
  if (node.getAttribute('data-status') === status) {
    return;
  }
  node.setAttribute('data-status', status);
  const shape = node.querySelector('.stratum-shape');
  if (shape) {
    shape.setAttribute('fill', colorOf(status));
  }
  const swatch = node.querySelector('.stratum-swatch') as HTMLElement | null;
  if (swatch) {
    swatch.style.background = colorOf(status);
  }
}

/**
 * Mark the display nodes of statements that ran fold-level nodes (model selection) with
 * `data-folds` (how many estimators' fold nodes): the fold level is folded into its statement;
 * the details panel lists it.
 */
export function markFolds(elements: Map<string, Element>, index: GraphIndex, info: Record<string, NodeInfo>): void {
  const lines = new Map<string, string[]>();
  for (const [id, inf] of Object.entries(info)) {
    const dom = index.displayOfId.get(id);
    if (inf.folds && inf.folds.length && dom !== undefined) {
      lines.set(dom, [...(lines.get(dom) ?? []), ...inf.folds]);
    }
  }
  for (const [dom, e] of elements) {
    const own = lines.get(dom);
    if (own) {
      e.setAttribute('data-folds', String(own.length));
    } else {
      e.removeAttribute('data-folds');
    }
  }
}

/** Map dom id -> display element, found once after the SVG is inserted. */
export function indexDisplayElements(root: Element): Map<string, Element> {
  const out = new Map<string, Element>();
  root.querySelectorAll('g.node, li.stratum-fallback-node').forEach(e => {
    if (e.id) {
      out.set(e.id, e);
    }
  });
  return out;
}

/** Highlight one pipeline's path (others dimmed), or clear with pipeline = ''. */
export function highlightPipeline(root: Element, index: GraphIndex, pipeline: string): void {
  root.querySelectorAll('.stratum-hl').forEach(e => e.classList.remove('stratum-hl'));
  if (!pipeline) {
    root.classList.remove('stratum-has-selection');
    return;
  }
  root.classList.add('stratum-has-selection');
  const path = index.pipelinePath(pipeline);
  const doc = root.ownerDocument;
  for (const dom of path.nodes) {
    doc.getElementById(dom)?.classList.add('stratum-hl');
  }
  for (const i of path.edges) {
    doc.getElementById(`stratum_edge_${i}`)?.classList.add('stratum-hl');
  }
}

export function renderLegend(
  container: HTMLElement,
  pipelines: string[],
  colors: Record<string, string>,
  selected: string,
  onSelect: (p: string) => void
): void {
  const doc = container.ownerDocument;
  container.textContent = '';
  for (const p of pipelines) {
    const item = el(doc, 'button', 'stratum-legend-item' + (p === selected ? ' stratum-selected' : ''));
    item.type = 'button';
    item.setAttribute('data-pipeline', p);
    item.title = p === selected ? 'Click to clear the selection' : `Highlight the path of ${p}`;
    const sw = el(doc, 'span', 'stratum-legend-swatch');
    sw.style.background = colors[p] ?? '#888';
    item.appendChild(sw);
    item.appendChild(doc.createTextNode(p));
    item.addEventListener('click', () => onSelect(p === selected ? '' : p));
    container.appendChild(item);
  }
}

export function renderStatusKey(container: HTMLElement, statuses: string[]): void {
  const doc = container.ownerDocument;
  container.textContent = '';
  for (const s of statuses) {
    const item = el(doc, 'span', 'stratum-key-item');
    const sw = el(doc, 'span', 'stratum-legend-swatch');
    sw.style.background = colorOf(s);
    item.appendChild(sw);
    item.appendChild(doc.createTextNode(s));
    container.appendChild(item);
  }
}

/** Fallback when there is no SVG (graphviz missing): a list that still shows live statuses. */
export function renderFallbackList(
  container: HTMLElement,
  index: GraphIndex,
  status: Record<string, string>
): void {
  const doc = container.ownerDocument;
  const ul = el(doc, 'ul', 'stratum-fallback');
  for (const n of index.state.nodes) {
    const li = el(doc, 'li', 'stratum-fallback-node');
    li.id = n.dom_id;
    const sw = el(doc, 'span', 'stratum-swatch');
    li.appendChild(sw);
    li.appendChild(doc.createTextNode(`${n.label}${n.shared > 1 ? ` ×${n.shared}` : ''} (${n.pipelines.join(', ')})`));
    applyStatus(li, status[n.id] ?? 'pending');
    ul.appendChild(li);
  }
  container.appendChild(ul);
}

export function renderDetails(
  container: HTMLElement,
  d: Details | null,
  onSelect: (id: string) => void,
  onClose: () => void
): void {
  const doc = container.ownerDocument;
  container.textContent = '';
  if (!d) {
    container.hidden = true;
    return;
  }
  container.hidden = false;
  container.setAttribute('data-node', d.id);
  const head = el(doc, 'div', 'stratum-details-head');
  const title = el(doc, 'span', 'stratum-details-title', d.label);
  const badge = el(doc, 'span', 'stratum-status-badge', d.status);
  badge.setAttribute('data-status', d.status);
  badge.style.background = colorOf(d.status);
  const close = el(doc, 'button', 'stratum-details-close', '×');
  close.type = 'button';
  close.title = 'Close';
  close.addEventListener('click', onClose);
  head.append(title, badge, close);
  container.appendChild(head);

  const dl = el(doc, 'dl', 'stratum-details-fields');
  const field = (name: string, value: string, cls = '') => {
    dl.appendChild(el(doc, 'dt', '', name));
    const dd = el(doc, 'dd', cls, value);
    dd.setAttribute('data-field', name);
    dl.appendChild(dd);
    return dd;
  };
  const pl = d.pipelines.length;
  field('pipelines', `${d.pipelines.join(', ')}${pl > 1 ? ` (shared by ${pl})` : ''}`);
  if (d.kind === 'step') {
    field('seconds', formatSeconds(d.seconds));
    field('output', d.output ?? '—');
  }
  container.appendChild(dl);
  if (d.folds && d.folds.length) {
    // The fold-level nodes of a model-selection statement, folded into it: one line per estimator.
    const ul = el(doc, 'ul', 'stratum-details-folds');
    ul.setAttribute('data-field', 'folds');
    for (const line of d.folds) {
      ul.appendChild(el(doc, 'li', '', line));
    }
    container.appendChild(ul);
  }

  if (d.kind === 'step') {
    const pre = el(doc, 'pre', 'stratum-details-code', d.code ?? '');
    pre.setAttribute('data-field', 'code');
    container.appendChild(pre);
    if (d.error) {
      const err = el(doc, 'pre', 'stratum-details-error', d.error);
      err.setAttribute('data-field', 'error');
      container.appendChild(err);
    }
  } else if (d.members) {
    const ul = el(doc, 'ul', 'stratum-details-members');
    for (const m of d.members) {
      const li = el(doc, 'li');
      const a = el(doc, 'button', 'stratum-member', m.label);
      a.type = 'button';
      a.setAttribute('data-status', m.status);
      a.style.borderLeftColor = colorOf(m.status);
      a.addEventListener('click', () => onSelect(m.id));
      li.appendChild(a);
      ul.appendChild(li);
    }
    container.appendChild(ul);
  }
}

export type { NodeInfo };
