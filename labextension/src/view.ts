// The ipywidgets model and view of GraphWidget (stratum_jupyter/widget.py).
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';

import {
  applyStatus,
  highlightPipeline,
  indexDisplayElements,
  markFolds,
  renderDetails,
  renderFallbackList,
  renderLegend,
  renderStatusKey
} from './dom';
import { GraphIndex, GraphState, STATUSES } from './logic';
import { MODULE_NAME, MODULE_VERSION } from './version';

export class StratumGraphModel extends DOMWidgetModel {
  defaults() {
    return {
      ...super.defaults(),
      _model_name: 'StratumGraphModel',
      _view_name: 'StratumGraphView',
      _model_module: MODULE_NAME,
      _view_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_module_version: MODULE_VERSION,
      svg: '',
      nodes: [],
      groups: [],
      edges: [],
      pipelines: [],
      colors: {},
      status: {},
      info: {},
      header: '',
      message: '',
      collapsed: false,
      selected_pipeline: '',
      selected_node: '',
      details: {}
    };
  }
}

export class StratumGraphView extends DOMWidgetView {
  private index!: GraphIndex;
  private elements = new Map<string, Element>();
  private shownStatus: Record<string, string> = {};
  private headerEl!: HTMLElement;
  private legendEl!: HTMLElement;
  private graphEl!: HTMLElement;
  private detailsEl!: HTMLElement;
  private scale = 1;
  private naturalWidth = 0;
  private detailsId = '';

  render(): void {
    const t0 = performance.now();
    this.el.classList.add('stratum-graph-widget');
    this.el.textContent = '';
    const doc = this.el.ownerDocument;

    this.headerEl = doc.createElement('div');
    this.headerEl.className = 'stratum-header';
    const bar = doc.createElement('div');
    bar.className = 'stratum-toolbar';
    this.legendEl = doc.createElement('div');
    this.legendEl.className = 'stratum-legend';
    const key = doc.createElement('div');
    key.className = 'stratum-key';
    renderStatusKey(key, STATUSES);
    const zoom = doc.createElement('span');
    zoom.className = 'stratum-zoom';
    for (const [label, title, f] of [
      ['−', 'Zoom out', () => this.setScale(this.scale / 1.25)],
      ['+', 'Zoom in', () => this.setScale(this.scale * 1.25)],
      ['fit', 'Fit to width', () => this.fit()],
      ['1:1', 'Natural size', () => this.setScale(1)]
    ] as [string, string, () => void][]) {
      const b = doc.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.title = title;
      b.addEventListener('click', f);
      zoom.appendChild(b);
    }
    bar.append(key, zoom);

    const body = doc.createElement('div');
    body.className = 'stratum-body';
    this.graphEl = doc.createElement('div');
    this.graphEl.className = 'stratum-graph';
    this.graphEl.addEventListener('click', ev => this.onGraphClick(ev));
    this.detailsEl = doc.createElement('div');
    this.detailsEl.className = 'stratum-details';
    this.detailsEl.hidden = true;
    body.append(this.graphEl, this.detailsEl);
    this.el.append(this.headerEl, this.legendEl, bar, body);

    this.listenTo(this.model, 'change:svg change:nodes change:groups change:edges change:message', () =>
      this.renderGraph()
    );
    this.listenTo(this.model, 'change:status change:info', () => this.onStatus());
    this.listenTo(this.model, 'change:header', () => this.renderHeader());
    this.listenTo(this.model, 'change:pipelines change:colors change:selected_pipeline', () => {
      this.renderLegend();
      highlightPipeline(this.graphEl, this.index, this.model.get('selected_pipeline'));
    });
    this.listenTo(this.model, 'change:selected_node', () => this.showDetails(this.model.get('selected_node')));

    this.renderHeader();
    this.renderGraph();
    this.renderLegend();
    const ms = performance.now() - t0;
    this.el.setAttribute('data-render-ms', ms.toFixed(1));
  }

  private state(): GraphState {
    return {
      nodes: this.model.get('nodes') ?? [],
      groups: this.model.get('groups') ?? [],
      edges: this.model.get('edges') ?? [],
      status: this.model.get('status') ?? {},
      info: this.model.get('info') ?? {}
    };
  }

  private renderHeader(): void {
    this.headerEl.textContent = this.model.get('header') ?? '';
  }

  private renderLegend(): void {
    renderLegend(
      this.legendEl,
      this.model.get('pipelines') ?? [],
      this.model.get('colors') ?? {},
      this.model.get('selected_pipeline') ?? '',
      p => {
        this.model.set('selected_pipeline', p);
        this.touch();
      }
    );
  }

  private renderGraph(): void {
    const st = this.state();
    this.index = new GraphIndex(st);
    this.graphEl.textContent = '';
    const svg: string = this.model.get('svg') ?? '';
    const message: string = this.model.get('message') ?? '';
    if (message) {
      const pre = this.el.ownerDocument.createElement('pre');
      pre.className = 'stratum-message';
      pre.textContent = message;
      this.graphEl.appendChild(pre);
    }
    if (svg) {
      // The SVG comes from graphviz in the kernel (labels are escaped there).
      this.graphEl.insertAdjacentHTML('beforeend', svg);
      const root = this.graphEl.querySelector('svg');
      if (root) {
        const vb = root.viewBox?.baseVal;
        this.naturalWidth = vb && vb.width ? vb.width * (4 / 3) : root.getBoundingClientRect().width;
        root.removeAttribute('width');
        root.removeAttribute('height');
        this.setScale(1);
      }
    } else {
      renderFallbackList(this.graphEl, this.index, st.status);
    }
    this.elements = indexDisplayElements(this.graphEl);
    this.shownStatus = {};
    for (const [dom, e] of this.elements) {
      applyStatus(e, this.index.displayStatus(dom, st.status));
    }
    this.shownStatus = { ...st.status };
    markFolds(this.elements, this.index, st.info);
    this.el.setAttribute('data-node-count', String(this.elements.size));
    highlightPipeline(this.graphEl, this.index, this.model.get('selected_pipeline') ?? '');
    this.showDetails(this.model.get('selected_node') ?? '');
  }

  /** Status changes: restyle only the display nodes whose status changed. */
  private onStatus(): void {
    const status = this.model.get('status') ?? {};
    for (const dom of this.index.changedDisplays(this.shownStatus, status)) {
      const e = this.elements.get(dom);
      if (e) {
        applyStatus(e, this.index.displayStatus(dom, status));
      }
    }
    this.shownStatus = { ...status };
    markFolds(this.elements, this.index, this.model.get('info') ?? {});
    if (this.detailsId) {
      this.showDetails(this.detailsId);
    }
  }

  private onGraphClick(ev: Event): void {
    const target = ev.target as Element | null;
    const g = target?.closest('g.node, li.stratum-fallback-node');
    if (!g) {
      return;
    }
    const id = this.index.idOfDom(g.id);
    if (id !== undefined) {
      this.select(id);
    }
  }

  private select(id: string): void {
    this.showDetails(id);
    this.model.set('selected_node', id);
    this.touch();
  }

  private showDetails(id: string): void {
    this.detailsId = id;
    this.graphEl.querySelectorAll('.stratum-current').forEach(e => e.classList.remove('stratum-current'));
    const st = this.state();
    const d = id ? this.index.details(id, st.status, st.info) : null;
    if (d) {
      const dom = this.index.displayOfId.get(id);
      if (dom) {
        this.elements.get(dom)?.classList.add('stratum-current');
      }
    }
    renderDetails(
      this.detailsEl,
      d,
      m => this.select(m),
      () => this.select('')
    );
  }

  private setScale(s: number): void {
    this.scale = Math.min(Math.max(s, 0.05), 8);
    const root = this.graphEl.querySelector('svg') as SVGSVGElement | null;
    if (root && this.naturalWidth) {
      root.style.width = `${Math.round(this.naturalWidth * this.scale)}px`;
      root.style.height = 'auto';
    }
  }

  private fit(): void {
    const avail = this.graphEl.clientWidth - 8;
    if (this.naturalWidth && avail > 0) {
      this.setScale(avail / this.naturalWidth);
    }
  }
}
