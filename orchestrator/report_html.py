"""index.html: the report as one page a person reads top-down, plain HTML plus a few lines of JavaScript.

At the top: the runs, a banner when they are not at paper scale, the flags (chance, collapsed attention, fell back to
chance, identical results, trials that did not finish), the paper-layout tables with each experiment's figures folded
under its row (<details>), and the figures comparing experiments. Below: how to read the numbers, focus outcomes, every
trial, nodes. Every table sorts by a click on a column header (no server, no library); figures are linked by relative
path.
"""

from __future__ import annotations

import html
import re

import pandas as pd

from .report_text import (
    ReportContent,
    all_finished_text,
    best_configs_table,
    common_changes,
    flag_lines,
    focus_table,
    nodes_table,
    paper_table,
    problems_table,
    ran_with,
    reading_notes,
    runs_lines,
    search_changes,
    table_note,
    table_parts,
    trials_table,
)

CSS = """
body { font-family: sans-serif; margin: 1.5em; max-width: 1500px; }
table { border-collapse: collapse; font-size: 0.85em; margin-bottom: 1em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #999; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; color: #333; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; color: #333; }
tr.folded td { border-top: none; text-align: left; background: #fafafa; }
tr.folded summary { cursor: pointer; color: #246; font-size: 0.9em; }
.figures { display: flex; flex-wrap: wrap; gap: 8px; }
.figures figure { margin: 0; max-width: 49%; } .figures img { max-width: 100%; }
figure.wide { max-width: 100%; } figure.wide img { max-width: 100%; }
figcaption { font-size: 0.8em; color: #555; }
.banner { background: #fff4d6; border: 2px solid #e0a800; padding: 0.6em 1em; margin: 1em 0; }
.flags { background: #fdecea; border: 1px solid #d9534f; padding: 0.4em 1em; margin: 1em 0; }
.note { color: #555; font-size: 0.9em; }
"""

# Sort a table by the clicked column: numbers (the leading number of '0.61 ± 0.02 (n=3)') before text, missing
# cells ('-', 'not published') last either way; each <tbody> (a row and its folded figures) moves as one.
SORT_JS = """
function sortKey(tbody, col) {
  var cell = tbody.rows[0].cells[col];
  var text = cell ? cell.textContent.trim() : "";
  var number = parseFloat(text);
  if (text === "" || text === "-" || /^not /.test(text)) return {missing: true};
  return isNaN(number) ? {text: text} : {number: number};
}
function compareKeys(a, b, sign) {
  if (a.missing || b.missing) return (a.missing ? 1 : 0) - (b.missing ? 1 : 0);
  if ("number" in a && "number" in b) return sign * (a.number - b.number);
  if ("number" in a || "number" in b) return "number" in a ? -1 : 1;
  return sign * a.text.localeCompare(b.text, undefined, {numeric: true});
}
function sortTable(table, col, th) {
  var ascending = th.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  var bodies = Array.prototype.slice.call(table.tBodies);
  var keyed = bodies.map(function (b, i) { return {body: b, key: sortKey(b, col), i: i}; });
  keyed.sort(function (x, y) { return compareKeys(x.key, y.key, ascending ? 1 : -1) || x.i - y.i; });
  keyed.forEach(function (k) { table.appendChild(k.body); });
}
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.title = "sort by this column";
    th.addEventListener("click", function () { sortTable(table, col, th); });
  });
});
"""

e = html.escape


def html_table(table: pd.DataFrame, folded: dict[int, str] | None = None, grouped: bool = False) -> str:
    """A sortable table: one <tbody> per row, holding the row and, where `folded` has HTML for its position, a
    second row with that folded under <details>. `grouped`: consecutive rows with the same first cell share a
    tbody (e.g. ours and the published values of one experiment) and sort together."""
    if table.empty:
        return "<p><em>none</em></p>"
    folded = folded or {}
    head = "".join(f"<th>{e(str(c))}</th>" for c in table.columns)
    bodies, previous = [], None
    for i, row in enumerate(table.itertuples(index=False)):
        cells = "".join(f"<td>{e(str(v))}</td>" for v in row)
        if grouped and bodies and row[0] == previous:
            bodies[-1].append(f"<tr>{cells}</tr>")
        else:
            bodies.append([f"<tr>{cells}</tr>"])
        previous = row[0]
        if i in folded:
            bodies[-1].append(f'<tr class="folded"><td colspan="{len(table.columns)}">{folded[i]}</td></tr>')
    rows = "".join(f"<tbody>{''.join(b)}</tbody>" for b in bodies)
    return f'<table class="sortable"><thead><tr>{head}</tr></thead>{rows}</table>'


def figure_html(fig, wide: bool = False) -> str:
    path = e(fig.path)
    return (
        f'<figure{" class=wide" if wide else ""}><a href="{path}"><img src="{path}" alt="{e(fig.caption)}"></a>'
        f"<figcaption>{e(fig.caption)}</figcaption></figure>"
    )


def _folded_figures(content: ReportContent, experiment_id: str) -> str | None:
    """The figures of one experiment, folded: its curves and its attention picture, and why any is missing."""
    s = content.section(experiment_id)
    if s is None or (not s.figures and s.attention is None):
        return None
    figures = [figure_html(f, wide=True) for f in s.figures]
    if s.attention is not None:
        figures.append(figure_html(s.attention, wide=True))
    what = ["curves"] * bool(s.figures) + ["attention"] * (s.attention is not None)
    summary = f"figures of {e(experiment_id)}: {', '.join(what)}" + (f" ({e(s.note)})" if s.note else "")
    return f'<details><summary>{summary}</summary><div class="figures">{"".join(figures)}</div></details>'


def _tables_html(content: ReportContent) -> list[str]:
    out = []
    for space, parts in table_parts(content):
        out.append(f"<h3>Space {e(space)}</h3>")
        for name, part in parts:
            out.append(f"<h4>{e(name)}</h4>")
            if common_changes(part):
                out.append(f"<p class='note'>{e(ran_with(common_changes(part)))}</p>")
            folded = {i: _folded_figures(content, exp_id) for i, exp_id in enumerate(part["experiment_id"])}
            out.append(html_table(paper_table(part), {i: h for i, h in folded.items() if h}))
            out.append(f"<p class='note'>{_inline(table_note(content, part))}</p>")
    return out


def _searches_html(content: ReportContent) -> list[str]:
    out = []
    for block in content.searches:
        g = block.group
        table = best_configs_table(content.summary, g)
        folded = {i: _folded_figures(content, exp_id) for i, exp_id in enumerate(table["experiment"])}
        out += [
            f"<h3>Search {e(g.name)}: every sample, best final test accuracy first</h3>",
            f"<p class='note'>{len(g.experiments)} samples of {e(', '.join(g.keys))}. "
            f"{e(ran_with(search_changes(content.summary, g), 'Every sample'))}</p>",
            html_table(table, {i: h for i, h in folded.items() if h}),
            '<div class="figures">' + "".join(figure_html(f, wide=True) for f in block.figures) + "</div>",
        ]
    return out


def render_html(content: ReportContent) -> str:
    names = ", ".join(r["name"] for r in content.runs)
    out = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Report: {e(names)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>Report: {e(names)}</h1><ul>",
    ]
    out += [f"<li>{_inline(line)}</li>" for line in runs_lines(content)]
    out.append("</ul><p>" + " · ".join(f'<a href="{e(f)}">{e(f)}</a>' for f in content.files) + "</p>")
    if content.findings.banner:
        out.append('<div class="banner" id="banner">' + "<br>".join(_inline(b) for b in content.findings.banner))
        out.append("</div>")
    flags = flag_lines(content)
    if flags:
        out.append('<div class="flags" id="flags"><b>Flags</b><ul>')
        out += [f"<li>{_inline(f)}</li>" for f in flags] + ["</ul></div>"]
    out.append("<h2>Summary</h2>")
    out += _tables_html(content)
    out += _searches_html(content)
    if content.comparisons:
        out += ["<h3>Comparisons</h3>", '<div class="figures">']
        out += [figure_html(f) for f in content.comparisons] + ["</div>"]
    out += ["<h2>What the numbers mean</h2><ul>"] + [f"<li>{_inline(n)}</li>" for n in reading_notes(content)]
    out.append("</ul>")
    out += _details_html(content)
    out.append(f"<script>{SORT_JS}</script></body></html>")
    return "\n".join(out)


def _details_html(content: ReportContent) -> list[str]:
    plain = content.summary[~content.summary["experiment_id"].isin(content.sampled)]
    out = []
    if not plain.empty:
        out += ["<h2>Focus outcomes at the final epoch</h2>", html_table(focus_table(plain), grouped=True)]
    out.append("<h2>Trials that did not finish</h2>")
    out.append(
        f"<p>{all_finished_text(content)}</p>"
        if content.problems.empty
        else html_table(problems_table(content.problems))
    )
    out += [
        "<h2>All trials</h2>",
        html_table(trials_table(content.results)),
        "<h2>Trials per node</h2>",
        html_table(nodes_table(content.nodes)),
        "<h2>Attention pictures</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in content.attention_notes) + "</ul>",
    ]
    return out


def _inline(text: str) -> str:
    """Escaped text with markdown's `code` spans as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", e(text))
