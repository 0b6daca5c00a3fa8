"""The batch-graph widget behind ``%stratum show``.

Layout happens here, in Python, with graphviz (``dot`` -> SVG). Every node of the SVG carries a
stable id (``stratum_<node id>``) so the browser view (``labextension/src/view.ts``) can restyle
nodes when their status changes during ``%stratum run`` without a new layout.

Data flow::

    batch.graph_view()  ->  GraphWidget.from_view()  ->  render_svg()      (layout, once)
    batch listener      ->  GraphWidget.handle_event()  ->  ``status``/``info`` traits
                                                          ->  view restyles the SVG

The widget's mimebundle also carries ``image/svg+xml`` (with the current statuses baked in) and a
``text/plain`` summary, so nbconvert, GitHub and plain terminals show something useful.

Big batches (hundreds of pipelines) are collapsed: the steps private to one pipeline become a single
"chain" node, which keeps both ``dot`` and the browser responsive. Collapsing never creates cycles:
a step shared by several pipelines has inputs identical for all of them, so it can only depend on
other shared steps.
"""

from __future__ import annotations

import html
import re
import subprocess
import threading
import time
import weakref
from typing import Any, Callable, Iterable

import ipywidgets
import traitlets

__all__ = [
    "GraphWidget",
    "GraphvizMissing",
    "render_svg",
    "restyle_svg",
    "show_graph",
    "text_summary",
    "collapse_view",
    "STATUS_COLORS",
]

# Must equal labextension/package.json "name" and "version".
NPM_PACKAGE = "stratum-jupyter"
NPM_VERSION = "0.1.0"

STATUSES = ("pending", "running", "done", "cached", "failed", "skipped", "cancelled", "timeout")
TERMINAL = frozenset({"done", "cached", "failed", "skipped", "cancelled", "timeout"})

# Keep in sync with labextension/src/logic.ts (STATUS_COLORS).
STATUS_COLORS = {
    "pending": "#eceff1",
    "running": "#ffe082",
    "done": "#a5d6a7",
    "cached": "#90caf9",
    "failed": "#ef9a9a",
    "skipped": "#e0e0e0",
    "cancelled": "#cfd8dc",
    "timeout": "#ffab91",
}

# Pipeline colours (Tableau 10), cycled.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)

#: above this many unique steps, steps private to one pipeline are collapsed into one node
COLLAPSE_THRESHOLD = 150
LABEL_MAX = 40

INSTALL_HINT = (
    "graphviz's `dot` program was not found, so the batch graph cannot be laid out.\n"
    "Install graphviz and restart the kernel:\n"
    "  Debian/Ubuntu: sudo apt-get install graphviz\n"
    "  conda:         conda install graphviz\n"
    "  macOS:         brew install graphviz"
)


class GraphvizMissing(RuntimeError):
    """graphviz (the ``dot`` binary, or the ``graphviz`` Python package) is not available."""

    def __init__(self, detail: str = ""):
        msg = INSTALL_HINT + (f"\n({detail})" if detail else "")
        super().__init__(msg)


# --------------------------------------------------------------------------- view helpers


def dom_id(node_id: str) -> str:
    """The SVG/DOM id of a node: stable, and safe inside an XML id attribute."""
    # only [A-Za-z0-9_]: graphviz would escape '-' as '&#45;' in the SVG text
    return "stratum_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", str(node_id))


def short_label(text: str, limit: int = LABEL_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pipeline_colors(pipelines: Iterable[str]) -> dict[str, str]:
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(pipelines)}


def normalize_view(view: dict) -> dict:
    """Validate and complete an engine ``graph_view()`` dict (missing keys get defaults)."""
    if not isinstance(view, dict):
        raise TypeError(f"graph_view() must return a dict, got {type(view).__name__}")
    nodes = []
    seen = set()
    for raw in view.get("nodes", []):
        nid = str(raw["id"])
        if nid in seen:
            raise ValueError(f"graph_view(): duplicate node id {nid!r}")
        seen.add(nid)
        pls = [str(p) for p in raw.get("pipelines", [])]
        nodes.append(
            {
                "id": nid,
                "label": str(raw.get("label", nid)),
                "code": str(raw.get("code", raw.get("label", ""))),
                "pipelines": pls,
                "shared": int(raw.get("shared", len(pls)) or 0),
                "dom_id": dom_id(nid),
            }
        )
    status, info = {}, {}
    for raw in view.get("nodes", []):  # engines may already know results (a batch that ran before)
        nid = str(raw["id"])
        if raw.get("status") in STATUSES:
            status[nid] = raw["status"]
        extra = {k: raw[k] for k in ("seconds", "output", "error") if raw.get(k) is not None}
        if extra:
            info[nid] = extra
    edges = []
    for e in view.get("edges", []):
        a, b = str(e[0]), str(e[1])
        if a in seen and b in seen and a != b:
            edges.append([a, b])
    pipelines = [str(p) for p in view.get("pipelines", [])]
    for n in nodes:  # pipelines only mentioned by nodes still get a legend entry
        for p in n["pipelines"]:
            if p not in pipelines:
                pipelines.append(p)
    return {
        "pipelines": pipelines,
        "nodes": nodes,
        "edges": edges,
        "captured_steps": int(view.get("captured_steps", sum(max(n["shared"], 1) for n in nodes))),
        "unique_steps": int(view.get("unique_steps", len(nodes))),
        "status": status,
        "info": info,
    }


def collapse_view(view: dict, threshold: int = COLLAPSE_THRESHOLD) -> tuple[list[dict], list[list[str]], dict[str, str]]:
    """Display nodes and edges for a (normalized) view, plus original id -> display id.

    Below ``threshold`` nodes, display nodes are the nodes themselves. Above it, the nodes used by
    exactly one pipeline are merged into one node per pipeline (when it has two or more of them).
    """
    nodes = view["nodes"]
    display_of = {n["id"]: n["id"] for n in nodes}
    if len(nodes) <= threshold:
        return [dict(n, members=[n["id"]]) for n in nodes], [list(e) for e in view["edges"]], display_of

    private: dict[str, list[dict]] = {}
    for n in nodes:
        if len(n["pipelines"]) == 1:
            private.setdefault(n["pipelines"][0], []).append(n)
    display: list[dict] = []
    grouped: set[str] = set()
    for p, members in private.items():
        if len(members) < 2:
            continue
        gid = f"chain:{p}"
        for m in members:
            display_of[m["id"]] = gid
            grouped.add(m["id"])
        display.append(
            {
                "id": gid,
                "label": f"{p}: {len(members)} steps",
                "code": "\n".join(m["code"] for m in members),
                "pipelines": [p],
                "shared": 1,
                "dom_id": dom_id(gid),
                "members": [m["id"] for m in members],
            }
        )
    display = [dict(n, members=[n["id"]]) for n in nodes if n["id"] not in grouped] + display
    edges, seen = [], set()
    for a, b in view["edges"]:
        da, db = display_of[a], display_of[b]
        if da != db and (da, db) not in seen:
            seen.add((da, db))
            edges.append([da, db])
    return display, edges, display_of


def aggregate_status(statuses: Iterable[str]) -> str:
    """The status shown for a collapsed node. Keep in sync with logic.ts (aggregateStatus)."""
    s = list(statuses)
    if not s:
        return "pending"
    for bad in ("failed", "timeout"):
        if bad in s:
            return bad
    if "running" in s:
        return "running"
    if all(x == "pending" for x in s):
        return "pending"
    if "pending" in s:
        return "running"
    for x in ("skipped", "cancelled"):
        if x in s:
            return x
    if all(x == "cached" for x in s):
        return "cached"
    return "done"


# --------------------------------------------------------------------------- SVG


def _node_label(n: dict) -> str:
    """An HTML-like graphviz label: the short label, plus a badge ×N for shared steps."""
    label = html.escape(short_label(n["label"]))
    if n.get("shared", 1) > 1:
        return (
            '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2"><TR>'
            f'<TD>{label}</TD>'
            f'<TD BGCOLOR="#37474f"><FONT COLOR="white" POINT-SIZE="9"> ×{int(n["shared"])} </FONT></TD>'
            "</TR></TABLE>>"
        )
    return f"<{label}>"


_SHAPE_RE = re.compile(
    r'(<g id="(stratum_[^"]+)" class="node[^"]*">\s*<title>[^<]*</title>\s*<(?:path|polygon|ellipse))'
)
_STYLED_RE = re.compile(
    r'(<g id="(stratum_[^"]+)" class="node[^"]*">\s*<title>[^<]*</title>\s*'
    r'<(?:path|polygon|ellipse) class="stratum-shape" fill=")([^"]*)(")'
)


def render_svg(
    view: dict,
    status: dict[str, str] | None = None,
    threshold: int = COLLAPSE_THRESHOLD,
    timeout: float | None = 120,
) -> str:
    """Lay out the batch graph with graphviz ``dot`` and return the SVG text.

    Node groups have ``id="stratum_<node id>"``; their outline shape has
    ``class="stratum-shape"`` (the element the browser view recolours). Edges have
    ``id="stratum_edge_<i>"``. Raises :class:`GraphvizMissing` when ``dot`` is not installed.
    """
    try:
        import graphviz
    except ImportError as e:  # pragma: no cover - graphviz is a hard dependency
        raise GraphvizMissing("the 'graphviz' Python package is not installed: pip install graphviz") from e

    view = normalize_view(view)
    colors = pipeline_colors(view["pipelines"])
    display, edges, display_of = collapse_view(view, threshold)
    status = status or {}

    big = len(display) > 60
    g = graphviz.Digraph("stratum", format="svg")
    g.attr(rankdir="LR" if big else "TB", bgcolor="transparent", nodesep="0.15", ranksep="0.35")
    g.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="10",
           fillcolor=STATUS_COLORS["pending"], color="#546e7a", height="0.3", margin="0.08,0.03")
    g.attr("edge", color="#78909c", arrowsize="0.6")
    for n in display:
        st = aggregate_status(status.get(m, "pending") for m in n["members"])
        attrs = {
            "id": n["dom_id"],
            "class": "stratum_node" + (" stratum_shared" if n["shared"] > 1 else ""),
            "fillcolor": STATUS_COLORS.get(st, STATUS_COLORS["pending"]),
        }
        if len(n["pipelines"]) == 1:
            attrs["color"] = colors[n["pipelines"][0]]
            attrs["penwidth"] = "1.5"
        else:
            attrs["penwidth"] = "2.2"
        g.node(n["id"], label=_node_label(n), **attrs)
    pls = {n["id"]: set(n["pipelines"]) for n in display}
    for i, (a, b) in enumerate(edges):
        common = pls[a] & pls[b]
        attrs = {"id": f"stratum_edge_{i}"}
        if len(common) == 1:
            attrs["color"] = colors[next(iter(common))]
        elif len(common) > 1:
            attrs["penwidth"] = str(min(1 + 0.4 * (len(common) - 1), 4))
        g.edge(a, b, **attrs)
    try:
        proc = subprocess.run(
            ["dot", "-Tsvg"], input=g.source.encode("utf-8"), capture_output=True, timeout=timeout
        )
    except FileNotFoundError as e:
        raise GraphvizMissing(f"no 'dot' on PATH: {e}") from e
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"graphviz 'dot' took more than {timeout} s to lay out {len(display)} nodes") from e
    if proc.returncode != 0:
        raise RuntimeError(f"graphviz 'dot' failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    svg = proc.stdout.decode("utf-8")
    # drop the XML prolog/doctype so the text can be inlined into HTML
    svg = svg[svg.index("<svg"):]
    return _SHAPE_RE.sub(lambda m: m.group(1) + ' class="stratum-shape"', svg)


def restyle_svg(svg: str, display_status: dict[str, str]) -> str:
    """Recolour node shapes of an SVG from :func:`render_svg` (``dom id -> status``), no re-layout."""

    def sub(m: re.Match) -> str:
        st = display_status.get(m.group(2))
        if st is None:
            return m.group(0)
        return m.group(1) + STATUS_COLORS.get(st, STATUS_COLORS["pending"]) + m.group(4)

    return _STYLED_RE.sub(sub, svg)


# --------------------------------------------------------------------------- text


def _fmt_seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s"


def header_text(view: dict, info: dict[str, dict], status: dict[str, str]) -> str:
    """One line: pipelines, steps captured vs unique after merging, estimated time saved."""
    n_p = len(view["pipelines"])
    cap, uniq = view["captured_steps"], view["unique_steps"]
    merged = max(cap - uniq, 0)
    parts = [
        f"{n_p} pipeline{'s' if n_p != 1 else ''}",
        f"{cap} steps captured → {uniq} unique after merging",
    ]
    saved = 0.0
    known = False
    for n in view["nodes"]:
        sec = (info.get(n["id"]) or {}).get("seconds")
        if sec is not None and n["shared"] > 1:
            saved += float(sec) * (n["shared"] - 1)
            known = True
        elif sec is not None:
            known = True
    if known:
        parts.append(f"time saved ≈ {_fmt_seconds(saved)} ({merged} repeated step runs avoided)")
    elif cap:
        parts.append(f"est. time saved: {merged} of {cap} step runs avoided ({100 * merged / cap:.0f}%)")
    counts: dict[str, int] = {}
    for n in view["nodes"]:
        st = status.get(n["id"], "pending")
        counts[st] = counts.get(st, 0) + 1
    if any(k != "pending" for k in counts):
        parts.append(", ".join(f"{counts[k]} {k}" for k in STATUSES if counts.get(k)))
    return " · ".join(parts)


def text_summary(
    view: dict, status: dict[str, str] | None = None, info: dict[str, dict] | None = None, limit: int = 60
) -> str:
    """A plain-text rendering of the graph (used without graphviz, and as text/plain)."""
    view = normalize_view(view)
    status = status or {}
    lines = [header_text(view, info or {}, status)]
    preds: dict[str, list[str]] = {}
    for a, b in view["edges"]:
        preds.setdefault(b, []).append(a)
    for n in view["nodes"][:limit]:
        shared = f" ×{n['shared']}" if n["shared"] > 1 else ""
        after = f"  ← {', '.join(preds[n['id']])}" if n["id"] in preds else ""
        lines.append(
            f"  [{status.get(n['id'], 'pending'):>9}] {n['id']}: {short_label(n['label'], 60)}{shared}"
            f"  ({', '.join(n['pipelines'])}){after}"
        )
        # the fold-level nodes a statement ran (model selection), folded into it
        lines.extend(f"      folds: {line}" for line in (info or {}).get(n["id"], {}).get("folds") or [])
    if len(view["nodes"]) > limit:
        lines.append(f"  … {len(view['nodes']) - limit} more steps")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the widget


@ipywidgets.register
class GraphWidget(ipywidgets.DOMWidget):
    """The batched dataflow graph, with live step statuses. Build it with :meth:`from_view`."""

    _model_name = traitlets.Unicode("StratumGraphModel").tag(sync=True)
    _view_name = traitlets.Unicode("StratumGraphView").tag(sync=True)
    _model_module = traitlets.Unicode(NPM_PACKAGE).tag(sync=True)
    _view_module = traitlets.Unicode(NPM_PACKAGE).tag(sync=True)
    _model_module_version = traitlets.Unicode(NPM_VERSION).tag(sync=True)
    _view_module_version = traitlets.Unicode(NPM_VERSION).tag(sync=True)

    #: laid-out SVG (empty when graphviz is missing; ``message`` then says why)
    svg = traitlets.Unicode("").tag(sync=True)
    #: every step: id, dom_id, label, code, pipelines, shared, display (dom id of the SVG node showing it)
    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: display nodes that stand for several steps (collapsed graphs): id, dom_id, label, pipelines, members
    groups = traitlets.List(traitlets.Dict()).tag(sync=True)
    edges = traitlets.List().tag(sync=True)
    pipelines = traitlets.List(traitlets.Unicode()).tag(sync=True)
    colors = traitlets.Dict().tag(sync=True)
    #: node id -> status
    status = traitlets.Dict().tag(sync=True)
    #: node id -> {"seconds", "output", "error", "folds" (lines: fold-level nodes the statement ran)}
    info = traitlets.Dict().tag(sync=True)
    header = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    collapsed = traitlets.Bool(False).tag(sync=True)
    selected_pipeline = traitlets.Unicode("").tag(sync=True)
    selected_node = traitlets.Unicode("").tag(sync=True)
    #: details of ``selected_node`` (also computed by the view itself, for speed)
    details = traitlets.Dict().tag(sync=True)

    #: seconds between two pushes of status changes to the browser during a run
    flush_interval = 0.1

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._view: dict = normalize_view({})
        self._lock = threading.RLock()
        self._pending: dict[str, dict] = {}
        self._timer: threading.Timer | None = None
        self._last_flush = 0.0
        self._static_handle = None
        self._displayed_version = 0
        self._version = 0
        self._unsubscribe: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_view(cls, view: dict, threshold: int = COLLAPSE_THRESHOLD, **kwargs: Any) -> "GraphWidget":
        """Build the widget from an engine ``graph_view()`` dict (lays the graph out once)."""
        view = normalize_view(view)
        status, info = view["status"], view["info"]
        display, edges, display_of = collapse_view(view, threshold)
        by_display = {d["id"]: d for d in display}
        nodes = [dict(n, display=by_display[display_of[n["id"]]]["dom_id"]) for n in view["nodes"]]
        groups = [
            {k: d[k] for k in ("id", "dom_id", "label", "pipelines", "members")}
            for d in display
            if len(d["members"]) > 1
        ]
        w = cls(**kwargs)
        w._view = view
        try:
            svg, message = render_svg(view, status, threshold=threshold), ""
        except GraphvizMissing as e:
            svg, message = "", str(e)
        with w.hold_sync():
            w.pipelines = view["pipelines"]
            w.colors = pipeline_colors(view["pipelines"])
            w.nodes = nodes
            w.groups = groups
            w.edges = edges
            w.collapsed = bool(groups)
            w.status = {n["id"]: status.get(n["id"], "pending") for n in view["nodes"]}
            w.info = info
            w.svg = svg
            w.message = message
            w.header = header_text(view, info, w.status)
        return w

    # ------------------------------------------------------------------ live updates
    def handle_event(self, event: dict) -> None:
        """Listener for ``batch.add_listener``: safe to call from any thread, coalesced and throttled."""
        try:
            nid = str(event["node"])
        except (KeyError, TypeError):
            return
        with self._lock:
            cur = self._pending.setdefault(nid, {})
            cur.update({k: v for k, v in event.items() if k != "node"})
            self._version += 1
            now = time.monotonic()
            if now - self._last_flush >= self.flush_interval or self._all_terminal_after_pending():
                self._flush_locked()
            elif self._timer is None:
                self._timer = threading.Timer(self.flush_interval, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def _all_terminal_after_pending(self) -> bool:
        status = self.status
        for n in self._view["nodes"]:
            st = self._pending.get(n["id"], {}).get("status") or status.get(n["id"], "pending")
            if st not in TERMINAL:
                return False
        return True

    def flush(self) -> None:
        """Push coalesced status changes to the browser now."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        known = {n["id"] for n in self._view["nodes"]}
        status = dict(self.status)
        info = dict(self.info)
        for nid, ev in pending.items():
            if nid not in known:
                continue
            if ev.get("status"):
                status[nid] = str(ev["status"])
            entry = dict(info.get(nid, {}))
            for k in ("seconds", "output", "error", "folds"):
                if k in ev:
                    entry[k] = ev[k]
            info[nid] = entry
        with self.hold_sync():
            self.status = status
            self.info = info
            self.header = header_text(self._view, info, status)
            if self.selected_node:
                self.details = self.node_details(self.selected_node)

    # ------------------------------------------------------------------ details
    @traitlets.observe("selected_node")
    def _on_selected(self, change: dict) -> None:
        self.details = self.node_details(change["new"]) if change["new"] else {}

    def node_details(self, node_id: str) -> dict:
        """What the details panel shows for a node (or a collapsed group): code, pipelines, result."""
        for n in self.nodes:
            if n["id"] == node_id:
                inf = self.info.get(node_id, {})
                return {
                    "id": node_id,
                    "label": n["label"],
                    "code": n["code"],
                    "pipelines": list(n["pipelines"]),
                    "shared": n["shared"],
                    "status": self.status.get(node_id, "pending"),
                    "seconds": inf.get("seconds"),
                    "output": inf.get("output"),
                    "error": inf.get("error"),
                    "folds": inf.get("folds") or [],
                }
        for g in self.groups:
            if g["id"] == node_id:
                return {
                    "id": node_id,
                    "label": g["label"],
                    "pipelines": list(g["pipelines"]),
                    "members": list(g["members"]),
                    "status": aggregate_status(self.status.get(m, "pending") for m in g["members"]),
                }
        return {}

    # ------------------------------------------------------------------ static output
    def display_status(self) -> dict[str, str]:
        """dom id -> status shown, aggregating collapsed groups."""
        out = {n["dom_id"]: self.status.get(n["id"], "pending") for n in self.nodes if n["display"] == n["dom_id"]}
        for g in self.groups:
            out[g["dom_id"]] = aggregate_status(self.status.get(m, "pending") for m in g["members"])
        return out

    def static_svg(self) -> str:
        return restyle_svg(self.svg, self.display_status()) if self.svg else ""

    def text_summary(self) -> str:
        return text_summary(self._view, self.status, self.info)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):  # pragma: no cover - defensive
            data = data[0]
        data = dict(data)
        text = self.text_summary()
        if self.message:
            text = self.message + "\n\n" + text
        data["text/plain"] = text
        svg = self.static_svg()
        if svg:
            data["image/svg+xml"] = svg
        return data

    # ------------------------------------------------------------------ display updates
    def static_bundle(self) -> dict:
        """The companion output for frontends without the extension (nbconvert HTML, viewers).

        nbconvert prefers the widget view whenever the widget state was stored (as
        ``nbconvert --execute`` does), and that view cannot load outside JupyterLab; so
        :func:`show_graph` also displays this inline-SVG output, which the lab extension hides.
        """
        svg = self.static_svg()
        body = svg if svg else f"<pre>{html.escape(self.message)}</pre>"
        return {
            "text/html": f'<div class="stratum-static-graph"><div>{html.escape(self.header)}</div>{body}</div>',
            "text/plain": "",
        }

    def _post_run_cell(self, *args: Any) -> None:
        """After each cell: push pending changes and refresh the static companion output."""
        self.flush()
        if self._static_handle is not None and self._displayed_version != self._version:
            self._displayed_version = self._version
            try:
                self._static_handle.update(self.static_bundle(), raw=True)
            except Exception:  # pragma: no cover - display is best effort
                pass

    def close(self) -> None:
        for unsub in self._unsubscribe:
            try:
                unsub()
            except Exception:  # pragma: no cover
                pass
        self._unsubscribe.clear()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        super().close()


def show_graph(
    batch: Any, display: bool = True, threshold: int = COLLAPSE_THRESHOLD, static: bool = True
) -> GraphWidget:
    """Build the graph widget for ``batch``, subscribe it to live statuses, display it, return it.

    With ``static`` (default), a companion inline-SVG output follows the widget for nbconvert/HTML
    viewers (hidden in JupyterLab by the extension's CSS); it is refreshed after each cell.
    """
    w = GraphWidget.from_view(batch.graph_view(), threshold=threshold)

    ref = weakref.ref(w)

    def listener(event: dict) -> None:
        widget = ref()
        if widget is not None:
            widget.handle_event(event)

    if hasattr(batch, "add_listener"):
        batch.add_listener(listener)
        if hasattr(batch, "remove_listener"):
            w._unsubscribe.append(lambda: batch.remove_listener(listener))
    w._listener = listener  # keep alive with the widget

    if display:
        from IPython import get_ipython
        from IPython.display import display as ipy_display

        if w.message:
            print(w.message)
        ipy_display(w)
        if static:
            w._static_handle = ipy_display(w.static_bundle(), raw=True, display_id=True)
        ip = get_ipython()
        if ip is not None:
            hook = _PostRunHook(w, ip)
            ip.events.register("post_run_cell", hook)
            w._unsubscribe.append(hook.unregister)
    return w


class _PostRunHook:
    """post_run_cell callback holding the widget weakly; unregisters itself once the widget is gone."""

    def __init__(self, widget: GraphWidget, ip: Any):
        self.ref = weakref.ref(widget)
        self.ip = ip

    def __call__(self, *args: Any) -> None:
        w = self.ref()
        if w is None or w.comm is None:
            self.unregister()
            return
        w._post_run_cell()

    def unregister(self) -> None:
        try:
            self.ip.events.unregister("post_run_cell", self)
        except ValueError:
            pass
