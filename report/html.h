/*
 * report/html: the self-contained HTML reports (flame graph, table).
 *
 * One file that works offline: d3 and d3-flame-graph (from npm, pinned in
 * report/web/package.json) are inlined at build time (web_assets.c, made
 * by report/web/embed.py), and so is the data. Every name from a capture
 * reaches the page only as JSON inside a <script type="application/json">
 * element, with <, > and & written as \u escapes so that no name can end
 * the element, and the page puts names into the document as text, never
 * as markup.
 *
 * Leaks of a capture with a reachability scan (report/reach.h) are split
 * by verdict, lost first: the header lists each verdict's bytes, the flame
 * graph holds one tree per leak view (reach_views; lost in #data and shown
 * at load, the others in #data-KEY) behind a selector, and the table has a
 * row per (stack, verdict) with the verdict and, for still reachable
 * memory, what holds it and through how many pointers. Without a scan the
 * pages are as they were.
 */
#ifndef REPORT_HTML_H
#define REPORT_HTML_H

#include "report/analysis.h"
#include "report/figure.h"

struct strbuf;

/* the inlined libraries (web_assets.c, generated) */
extern const char web_d3_js[];
extern const char web_flamegraph_js[];
extern const char web_flamegraph_css[];

/*
 * Append the flame graph page of figure `fig` (peak, leaks or temporary) to out (inverted: rooted at the
 * allocating functions). `title` is the command line shown in the header
 * (escaped here). A chart of live heap and RSS over time sits above it. Frames smaller than 1/1000 of
 * the total are merged into one node per parent, and the page says so.
 * Returns 0, or -1 when out of memory.
 */
int html_flamegraph(struct strbuf *out, struct analysis *a, struct symbolizer *s, enum figure fig,
		    int inverted, const char *title);

/*
 * Append the table page of figure `fig` to out: every (stack, allocator) with
 * its location, bytes, count and whole stack, sortable by any column and
 * filterable by text in the browser. Returns 0, or -1 when out of memory.
 */
int html_table(struct strbuf *out, struct analysis *a, struct symbolizer *s, enum figure fig,
	       const char *title);

/*
 * For the other HTML pages (report/htmldiff): the doctype, style and an
 * open <header> with its <h1> and an open <dl> of facts; one fact as
 * <dt>term</dt><dd>value</dd>, the value escaped (term is ours).
 */
void html_page_open(struct strbuf *out, const char *kind, const char *what);
void html_header_row(struct strbuf *out, const char *term, const char *value);

/* the pages' human(bytes) in JavaScript: "1.000MiB", as common/units */
#define HTML_HUMAN_JS \
	"function human(n){const u=['B','KiB','MiB','GiB','TiB'];let i=0;" \
	"while(n>=1024&&i<u.length-1){n/=1024;i++;}return (i?n.toFixed(3):n)+u[i];}\n"

/* the flame graphs' search box and zoom reset, and the script behind them (after `chart` is drawn) */
#define HTML_SEARCH_TOOLS \
	"<div id=\"tools\"><input id=\"search\" type=\"search\" placeholder=\"Search functions\">" \
	" <button id=\"reset\">Reset zoom</button></div>"
/*
 * Plain-text search (the library's own takes a regular expression, and
 * '(' or 'c++' threw); #search=TEXT searches at load (a link to a search,
 * and a hook for tests).
 */
#define HTML_SEARCH_JS \
	"chart.setSearchMatch((d,q)=>!!q&&(d.data.name+' '+d.data.loc).toLowerCase().includes(q.toLowerCase()))" \
	".setSearchHandler((r,sum,all)=>{document.getElementById('details').textContent=q0()?r.length+' frames match: '" \
	"+human(sum)+' of '+human(all):'';});\n" \
	"function q0(){return document.getElementById('search').value;}\n" \
	"document.getElementById('search').addEventListener('input',e=>chart.search(e.target.value));\n" \
	"{const q=/^#search=(.*)$/.exec(location.hash);if(q){const v=decodeURIComponent(q[1]);" \
	"document.getElementById('search').value=v;chart.search(v);}}\n" \
	"document.getElementById('reset').addEventListener('click',()=>{chart.resetZoom();});\n"

/* the tables' style (table, table --diff) */
extern const char html_table_style[];

/* s with & < > " ' as entities */
int html_escape(struct strbuf *out, const char *s);

#endif
