/*
 * report/html: see html.h.
 */
#include "report/html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/json.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "capture/format.h"
#include "report/calltree.h"
#include "report/frames.h"
#include "report/reach.h"

int html_escape(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		}
		if (rep ? strbuf_addstr(out, rep) : strbuf_addch(out, *s))
			return -1;
	}
	return 0;
}

/* JSON that cannot end a <script> element: < > & as \u escapes */
#define HTML_JSON JSON_SCRIPT_SAFE

/*
 * A browser draws a flame graph only so deep, so a stack deeper than
 * ELIDE_OUTER + ELIDE_INNER frames keeps its outermost ELIDE_OUTER and
 * its innermost ELIDE_INNER (where the allocating function is), with one
 * node "... N frames elided ..." between them, and the page says so.
 */
#define ELIDE_OUTER 1000
#define ELIDE_INNER 1000

struct emit {
	struct json *j;
	const struct calltree *t;
	uint64_t threshold;	/* children below this are merged */
	uint64_t merged;	/* frames merged, for the page */
	uint32_t *height;	/* per node: levels from it to its deepest leaf, itself counted */
	uint64_t elided;	/* elision nodes written, for the page */
};

/* a flame graph node's own members: {"name", "loc", "value", "count", then "children" */
static void json_node_head(struct json *j, const char *name, const char *loc, uint64_t bytes, uint64_t count)
{
	json_object_begin(j);
	json_key(j, "name");
	json_string(j, name);
	json_key(j, "loc");
	json_string(j, loc);
	json_key(j, "value");
	json_uint(j, bytes);
	json_key(j, "count");
	json_uint(j, count);
	json_key(j, "children");
	json_array_begin(j);
}

/* every node's height; children come after their parent in the array */
static uint32_t *heights(const struct calltree *t)
{
	uint32_t *h = calloc(t->n + 1, sizeof(*h));

	for (size_t i = t->n; h && i-- > 0;) {
		h[i] = 1;
		for (size_t c = t->nodes[i].first_child; c; c = t->nodes[c].next_sibling)
			h[i] = h[c] + 1 > h[i] ? h[c] + 1 : h[i];
	}
	return h;
}

static void json_node(struct emit *e, size_t i, int depth);

/* the nodes `kids`, each with its subtree, those below the threshold merged into one */
static void json_children(struct emit *e, const size_t *kids, size_t nk, int depth)
{
	uint64_t small_bytes = 0, small_count = 0, small_n = 0;

	for (size_t k = 0; k < nk; k++) {
		const struct calltree_node *c = &e->t->nodes[kids[k]];

		if (c->bytes < e->threshold) {
			small_bytes += c->bytes;
			small_count += c->count;
			small_n++;
			continue;
		}
		json_node(e, kids[k], depth);
	}
	if (small_n) {
		char name[96];

		snprintf(name, sizeof(name), "(%llu smaller frames merged)", (unsigned long long)small_n);
		json_node_head(e->j, name, "", small_bytes, small_count);
		json_array_end(e->j);
		json_object_end(e->j);
		e->merged += small_n;
	}
}

/*
 * In place of node i (at depth ELIDE_OUTER, too deep below): one elision
 * node holding i's figures, whose children are the first descendants
 * within ELIDE_INNER levels of their deepest leaf. Returns -1 when out
 * of memory (nothing written).
 */
static int json_elided(struct emit *e, size_t i)
{
	const struct calltree_node *n = &e->t->nodes[i];
	size_t *todo = NULL, *frontier = NULL, ntodo = 0, atodo = 0, nf = 0, af = 0;
	uint32_t *skipped = NULL, most = 0;	/* per todo entry: frames elided above it */
	size_t askipped = 0;
	char name[96];
	int ret = -1;

	if (GROW(todo, 1, atodo) < 0 || GROW(skipped, 1, askipped) < 0)
		goto out;
	todo[ntodo] = i;
	skipped[ntodo++] = 0;
	while (ntodo) {
		size_t at = todo[--ntodo];
		uint32_t above = skipped[ntodo];

		if (e->height[at] <= ELIDE_INNER) {
			if (GROW(frontier, nf + 1, af) < 0)
				goto out;
			frontier[nf++] = at;
			most = above > most ? above : most;
			continue;
		}
		for (size_t c = e->t->nodes[at].first_child; c; c = e->t->nodes[c].next_sibling) {
			if (GROW(todo, ntodo + 1, atodo) < 0 || GROW(skipped, ntodo + 1, askipped) < 0)
				goto out;
			todo[ntodo] = c;
			skipped[ntodo++] = above + 1;
		}
	}
	snprintf(name, sizeof(name), "... %u frames elided ...", (unsigned)most);
	json_node_head(e->j, name, "", n->bytes, n->count);
	json_children(e, frontier, nf, ELIDE_OUTER + 1);
	json_array_end(e->j);
	json_object_end(e->j);
	e->elided++;
	ret = 0;
out:
	free(todo);
	free(skipped);
	free(frontier);
	return ret;
}

static void json_node(struct emit *e, size_t i, int depth)
{
	const struct calltree_node *n = &e->t->nodes[i];
	size_t *kids = NULL, nk;
	struct strbuf loc = STRBUF_INIT;

	if (depth == ELIDE_OUTER && e->height[i] > ELIDE_INNER + 1 && json_elided(e, i) == 0)
		return;
	nk = calltree_children(e->t, i, &kids);
	if (i)	/* "file:line"; the root has none */
		strbuf_addf(&loc, "%s:%u", n->file, n->line);
	json_node_head(e->j, n->function, loc.buf, n->bytes, n->count);
	strbuf_release(&loc);
	json_children(e, kids, nk, depth + 1);
	json_array_end(e->j);
	json_object_end(e->j);
	free(kids);
}

static const char page_style[] =
	"body{font-family:system-ui,sans-serif;margin:0 10px;color:#222}"
	"header h1{font-size:20px;margin:12px 0 6px}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:0 0 8px;font-size:14px}"
	"dt{font-weight:600}dd{margin:0;word-break:break-all}"
	"#tools{margin:6px 0}#tools input{width:260px}#note{color:#666;font-size:13px}"
	"#details{min-height:1.3em;font-size:13px;margin:4px 0}";

/* the script that draws the chart; names reach the page only as text */
static const char page_script[] =
	"const data=JSON.parse(document.getElementById('data').textContent);\n"
	HTML_HUMAN_JS
	"const chart=flamegraph.default().width(Math.max(600,document.body.clientWidth-20))"
	".cellHeight(18).transitionDuration(250).minFrameSize(1).selfValue(false)"
	".setLabelHandler(d=>d.data.name+(d.data.loc?' at '+d.data.loc:'')+': '+human(d.data.value)"
	"+' in '+d.data.count+' allocations')"
	".setDetailsHandler(t=>{document.getElementById('details').textContent=t||'';});\n"
	"d3.select('#chart').datum(data).call(chart);\n"
	HTML_SEARCH_JS
	/* live heap and RSS over time, from the tracker's 10 ms samples */
	"(function(){const s=JSON.parse(document.getElementById('samples').textContent);"
	"const svg=d3.select('#memory').attr('width',Math.max(600,document.body.clientWidth-20));"
	"if(s.length<2){svg.attr('height',0);return;}"
	"const w=+svg.attr('width'),h=120,m={l:70,r:10,t:8,b:20};"
	"const x=d3.scaleLinear().domain(d3.extent(s,d=>d[0])).range([m.l,w-m.r]);"
	"const y=d3.scaleLinear().domain([0,d3.max(s,d=>Math.max(d[1],d[2]))]).nice().range([h-m.b,m.t]);"
	"svg.append('g').attr('transform','translate(0,'+(h-m.b)+')').call(d3.axisBottom(x).ticks(6)"
	".tickFormat(v=>v+' ms'));"
	"svg.append('g').attr('transform','translate('+m.l+',0)').call(d3.axisLeft(y).ticks(4).tickFormat(human));"
	"[[1,'#d9480f','heap'],[2,'#1971c2','RSS']].forEach(([k,c,n])=>{svg.append('path').datum(s)"
	".attr('class','line-'+n).attr('fill','none').attr('stroke',c).attr('stroke-width',1.5)"
	".attr('d',d3.line().x(d=>x(d[0])).y(d=>y(d[k])));"
	"svg.append('text').attr('x',m.l+8+(k-1)*60).attr('y',m.t+10).attr('fill',c).text(n);});})();\n";

void html_header_row(struct strbuf *out, const char *term, const char *value)
{
	strbuf_addf(out, "<dt>%s</dt><dd>", term);
	html_escape(out, value);
	strbuf_addstr(out, "</dd>");
}

/* the RSS samples as [ms, heap, rss] triples, at most ~2000 of them */
static void json_samples(struct strbuf *out, const struct analysis *a)
{
	size_t step = a->nsamples / 2000 + 1;
	struct json j;

	json_init(&j, out, HTML_JSON);
	json_array_begin(&j);
	for (size_t i = 0; i < a->nsamples; i += step) {
		json_array_begin(&j);
		json_uint(&j, a->samples[i].ms);
		json_uint(&j, a->samples[i].heap);
		json_uint(&j, a->samples[i].rss);
		json_array_end(&j);
	}
	json_array_end(&j);
	json_finish(&j);
}

void html_page_open(struct strbuf *out, const char *kind, const char *what)
{
	strbuf_addstr(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>memray: ");
	html_escape(out, what);
	strbuf_addstr(out, "</title>\n<style>");
	strbuf_addstr(out, web_flamegraph_css);
	strbuf_addstr(out, page_style);
	strbuf_addf(out, "</style></head>\n<body><header><h1>memray %s: ", kind);
	html_escape(out, what);
	strbuf_addstr(out, "</h1><dl>");
}

/* does the page of figure fig split the leaks by the scan's verdicts? */
static int is_split(const struct analysis *a, enum figure fig)
{
	return a->has_reachability && fig == FIGURE_LEAKS;
}

/* the leaks by verdict among the header's facts: "Definitely lost  48B in 1 allocations" */
static void reach_facts(struct strbuf *out, const struct analysis *a)
{
	char buf[UNITS_BUF], line[128], term[32];

	for (int i = 0; i < CAPTURE_REACH_COUNT; i++) {
		unsigned c = reach_order[i];

		if (c == CAPTURE_REACH_UNKNOWN && !a->reach_count[c])
			continue;
		snprintf(term, sizeof(term), "%s", capture_reach_name(c));
		term[0] = (char)(term[0] - 'a' + 'A');
		snprintf(line, sizeof(line), "%s in %llu allocations", units_human(buf, a->reach_bytes[c]),
			 (unsigned long long)a->reach_count[c]);
		html_header_row(out, term, line);
	}
}

/* doctype to the end of the header's facts (an open <header>, a closed <dl>) */
static void page_head(struct strbuf *out, const struct analysis *a, enum figure fig, const char *kind,
		      const char *what, const char *title)
{
	char buf[UNITS_BUF], line[128];

	html_page_open(out, kind, what);
	html_header_row(out, "Command", title);
	html_header_row(out, "Peak memory", units_human(buf, a->peak_bytes));
	snprintf(line, sizeof(line), "%s in %llu allocations", units_human(buf, a->total_bytes),
		 (unsigned long long)a->total_allocations);
	html_header_row(out, "Allocated in all", line);
	snprintf(line, sizeof(line), "%s in %llu allocations", units_human(buf, a->leaked_bytes),
		 (unsigned long long)a->leaked_allocations);
	html_header_row(out, "Leaked", line);
	if (is_split(a, fig))
		reach_facts(out, a);
	snprintf(line, sizeof(line), "%.3f s", a->end_ns > a->start_ns ? (double)(a->end_ns - a->start_ns) / 1e9 : 0.0);
	html_header_row(out, "Duration", line);
	strbuf_addstr(out, "</dl>");
}

/*
 * --temporal: every stack that appears in the change log as a path of
 * label ids (outermost first, hidden frames left out), the labels as
 * [name, "file:line"], and the log as [sample, entry, bytes, count].
 */
static void json_timeline_paths(struct json *j, struct analysis *a, struct symbolizer *s,
				struct calltree *labels, char *seen)
{
	const struct sym_frame *frames;

	json_key(j, "paths");
	json_object_begin(j);
	for (size_t i = 0; i < a->nchanges; i++) {
		uint32_t entry = a->changes[i].entry;
		char key[16];
		int n;

		if (seen[entry])
			continue;
		seen[entry] = 1;
		n = analysis_stack(a, s, a->entries[entry].stack, &frames);
		snprintf(key, sizeof(key), "%u", entry);
		json_key(j, key);
		json_array_begin(j);
		for (int k = n - 1; k >= 0; k--)
			if (!frames_is_hidden(&frames[k]))
				json_uint(j, calltree_label(labels, &frames[k]));
		json_array_end(j);
	}
	json_object_end(j);
}

static void json_timeline(struct strbuf *out, struct analysis *a, struct symbolizer *s)
{
	struct calltree labels = { 0 };	/* a flat tree: node i is label i, under the root */
	struct strbuf loc = STRBUF_INIT;
	char *seen = calloc(a->nentries + 1, 1);
	struct json j;

	labels.cap = 256;
	labels.n = 1;
	labels.nodes = calloc(labels.cap, sizeof(*labels.nodes));
	if (!seen || !labels.nodes) {
		strbuf_addstr(out, "null");
		goto out;
	}
	json_init(&j, out, HTML_JSON);
	json_object_begin(&j);
	json_timeline_paths(&j, a, s, &labels, seen);
	json_key(&j, "labels");
	json_array_begin(&j);
	for (size_t i = 0; i < labels.n; i++) {
		strbuf_reset(&loc);
		if (i)
			strbuf_addf(&loc, "%s:%u", labels.nodes[i].file, labels.nodes[i].line);
		json_array_begin(&j);
		json_string(&j, labels.nodes[i].function);
		json_string(&j, loc.buf);
		json_array_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "changes");
	json_array_begin(&j);
	for (size_t i = 0; i < a->nchanges; i++) {
		json_array_begin(&j);
		json_uint(&j, a->changes[i].sample);
		json_uint(&j, a->changes[i].entry);
		json_uint(&j, a->changes[i].bytes);
		json_uint(&j, a->changes[i].count);
		json_array_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
out:
	free(seen);
	calltree_release(&labels);
	strbuf_release(&loc);
}

/* --temporal: pick a range on the chart, see the flame graph of its highest sample */
static const char temporal_script[] =
	"(function(){const T=JSON.parse(document.getElementById('timeline').textContent);"
	"const S=JSON.parse(document.getElementById('samples').textContent);if(!T||!S.length)return;\n"
	"function at(k){const live=new Map();for(const c of T.changes){if(c[0]>k)break;live.set(c[1],c);}"
	"const root={name:'<root>',loc:'',value:0,count:0,children:[]};"
	"for(const [e,c] of live){if(!c[2])continue;root.value+=c[2];root.count+=c[3];let n=root;"
	"for(const id of T.paths[e]){let ch=n.children.find(x=>x.id===id);if(!ch){ch={id:id,name:T.labels[id][0],"
	"loc:T.labels[id][1],value:0,count:0,children:[]};n.children.push(ch);}ch.value+=c[2];ch.count+=c[3];n=ch;}}"
	"return root;}\n"
	"function show(t0,t1){let k=-1;S.forEach((s,i)=>{if(s[0]>=t0&&s[0]<=t1&&(k<0||s[1]>S[k][1]))k=i;});"
	"if(k<0)return;chart.update(at(k));document.getElementById('moment').textContent="
	"'Highest live heap between '+t0+' ms and '+t1+' ms: '+human(S[k][1])+' at '+S[k][0]+' ms.';}\n"
	"const svg=d3.select('#memory'),w=+svg.attr('width'),m={l:70,r:10};"
	"const x=d3.scaleLinear().domain(d3.extent(S,d=>d[0])).range([m.l,w-m.r]);"
	"svg.append('g').attr('class','brush').call(d3.brushX().extent([[m.l,0],[w-m.r,100]])"
	".on('end',e=>{if(e.selection)show(Math.round(x.invert(e.selection[0])),Math.round(x.invert(e.selection[1])));}));\n"
	"const r=/^#range=(\\d+)-(\\d+)$/.exec(location.hash);"
	"if(r)show(+r[1],+r[2]);else show(S[0][0],S[S.length-1][0]);})();\n";

/* the leak views' selector, lost first (reach_views); `selected` is the key shown at first */
static void view_selector(struct strbuf *out, const struct analysis *a, const char *selected)
{
	char buf[UNITS_BUF];

	strbuf_addstr(out, " <label>Show <select id=\"view\">");
	for (int k = 0; k < REACH_VIEWS; k++) {
		uint64_t count, bytes = figure_total(a, reach_views[k].fig, &count);

		strbuf_addf(out, "<option value=\"%s\"%s>%s: %s in %llu allocations</option>", reach_views[k].key,
			    strcmp(reach_views[k].key, selected) ? "" : " selected", reach_views[k].label,
			    units_human(buf, bytes), (unsigned long long)count);
	}
	strbuf_addstr(out, "</select></label>");
}

/*
 * The flame graph's view selector: each view's tree is its own JSON
 * element, the first (lost) in #data and the others in #data-KEY, so a
 * page without a scan has just #data as before. #view=KEY picks one at
 * load (a link to it, and a hook for tests).
 */
static const char view_script[] =
	"(function(){const sel=document.getElementById('view');\n"
	"function show(){const k=sel.value,el=document.getElementById(k==='lost'?'data':'data-'+k);"
	"chart.resetZoom();chart.update(JSON.parse(el.textContent));if(q0())chart.search(q0());}\n"
	"sel.addEventListener('change',show);"
	"const m=/^#view=(\\w+)$/.exec(location.hash);"
	"if(m&&[...sel.options].some(o=>o.value===m[1])){sel.value=m[1];show();}})();\n";

/*
 * The tree of figure fig, whole, as JSON in a <script> element of id `id`;
 * the frames it merged and the places it elided are added to *merged and
 * *elided. Returns 0, or -1 when out of memory.
 */
static int json_tree(struct strbuf *out, struct analysis *a, struct symbolizer *s, enum figure fig,
		     int inverted, const char *id, uint64_t *merged, uint64_t *elided)
{
	struct calltree t = { 0 };
	struct json j;
	struct emit e = { &j, &t, 0, 0, NULL, 0 };
	int ret = -1;

	if (calltree_build(&t, a, s, fig, 0, inverted) < 0)
		return -1;
	e.threshold = t.nodes[0].bytes / 1000;
	e.height = heights(&t);
	if (!e.height)
		goto out;
	strbuf_addf(out, "<script type=\"application/json\" id=\"%s\">", id);
	json_init(&j, out, HTML_JSON);
	json_node(&e, 0, 0);
	if (json_finish(&j) < 0)
		goto out;
	strbuf_addstr(out, "</script>\n");
	*merged += e.merged;
	*elided += e.elided;
	ret = 0;
out:
	free(e.height);
	calltree_release(&t);
	return ret;
}

/*
 * The trees the page holds: fig's alone, or with a scan and --leaks one
 * per leak view (reach_views), lost first and shown at load.
 */
static int json_trees(struct strbuf *out, struct analysis *a, struct symbolizer *s, enum figure fig,
		      int inverted, uint64_t *merged, uint64_t *elided)
{
	char id[32];

	if (!is_split(a, fig))
		return json_tree(out, a, s, fig, inverted, "data", merged, elided);
	for (int k = 0; k < REACH_VIEWS; k++) {
		snprintf(id, sizeof(id), k ? "data-%s" : "data", reach_views[k].key);
		if (json_tree(out, a, s, reach_views[k].fig, inverted, id, merged, elided) < 0)
			return -1;
	}
	return 0;
}

int html_flamegraph(struct strbuf *out, struct analysis *a, struct symbolizer *s, enum figure fig,
		    int inverted, const char *title)
{
	const char *what = fig == FIGURE_LEAKS ? "memory leaked (live at exit)"
			   : fig == FIGURE_TEMPORARY ? "temporary allocations" : "memory live at the peak";
	uint64_t merged = 0, elided = 0;

	page_head(out, a, fig, "flame graph", what, title);
	strbuf_addstr(out, HTML_SEARCH_TOOLS);
	if (is_split(a, fig)) {
		strbuf_addstr(out, "<div id=\"views\">");
		view_selector(out, a, reach_views[0].key);
		strbuf_addstr(out, "</div>");
	}
	strbuf_addstr(out, "<p id=\"note\"></p></header>\n<svg id=\"memory\" height=\"120\"></svg>\n"
		      "<p id=\"moment\"></p><div id=\"chart\"></div><div id=\"details\"></div>\n");
	if (a->nchanges) {
		strbuf_addstr(out, "<script type=\"application/json\" id=\"timeline\">");
		json_timeline(out, a, s);
		strbuf_addstr(out, "</script>\n");
	}
	strbuf_addstr(out, "<script type=\"application/json\" id=\"samples\">");
	json_samples(out, a);
	strbuf_addstr(out, "</script>\n");
	if (json_trees(out, a, s, fig, inverted, &merged, &elided) < 0)
		return -1;
	strbuf_addstr(out, "<script>");
	strbuf_addstr(out, web_d3_js);
	strbuf_addstr(out, "</script>\n<script>");
	strbuf_addstr(out, web_flamegraph_js);
	strbuf_addstr(out, "</script>\n<script>");
	strbuf_addstr(out, page_script);
	if (merged)
		strbuf_addf(out, "document.getElementById('note').textContent='Frames smaller than 0.1%% of the "
			    "total are merged: %llu of them.';\n", (unsigned long long)merged);
	if (elided)
		strbuf_addf(out, "document.getElementById('note').textContent+=' Stacks deeper than %d frames "
			    "show their outermost %d and innermost %d, the frames between elided (%llu places).';\n",
			    ELIDE_OUTER + ELIDE_INNER, ELIDE_OUTER, ELIDE_INNER, (unsigned long long)elided);
	if (a->nchanges) {
		strbuf_addstr(out, "document.getElementById('note').textContent='Select a time range on the chart: "
			      "the flame graph shows what was live at its highest 10 ms sample.';\n");
		strbuf_addstr(out, temporal_script);
	}
	if (is_split(a, fig)) {
		uint64_t lost_count, lost = figure_total(a, reach_views[0].fig, &lost_count);

		/* an empty graph at load would look broken: say why and where the memory is */
		if (!lost && !lost_count)
			strbuf_addstr(out, "document.getElementById('note').textContent+=' Nothing was lost "
				      "(definitely or indirectly): pick another view above.';\n");
		strbuf_addstr(out, view_script);
	}
	strbuf_addstr(out, "</script></body></html>\n");
	return 0;
}

const char html_table_style[] =
	"table{border-collapse:collapse;font-size:13px;width:100%}"
	"th{cursor:pointer;text-align:left;border-bottom:2px solid #888;padding:3px 8px;user-select:none}"
	"td{border-bottom:1px solid #ddd;padding:3px 8px;vertical-align:top}"
	"td.n{text-align:right;white-space:nowrap}details summary{cursor:pointer}"
	"details div{font-family:monospace;white-space:pre;font-size:12px;color:#444}";

/*
 * Fills the table from the JSON rows: text only, sortable, filterable.
 * A split table (leaks of a scanned capture, data-split="1") has two more
 * columns, the verdict (sorted by its rank: lost first) and what holds a
 * still reachable block, and a view selector like the flame graph's.
 */
static const char table_script[] =
	"const rows=JSON.parse(document.getElementById('data').textContent);\n"
	HTML_HUMAN_JS
	"const split=document.getElementById('table').dataset.split==='1';"
	"const cols=split?[0,5,1,2,3,7]:[0,1,2,3];\n"
	"const views={lost:[0,1],possibly:[2],reachable:[3]};\n"
	"let key=split?5:1,desc=!split;const body=document.querySelector('#table tbody');\n"
	"function text(r,k){return k==1?human(r[1]):k==2?String(r[2]):k==5?r[6]:k==7?(r[7]?r[7]+', chain '+r[8]:''):r[k];}\n"
	"function draw(){const f=document.getElementById('filter').value.toLowerCase();"
	"const v=split?views[document.getElementById('view').value]:null;"
	"const shown=rows.filter(r=>(!v||v.includes(r[5]))&&(!f||r[0].toLowerCase().includes(f)"
	"||r[4].join('\\n').toLowerCase().includes(f)||(split&&(r[6]+' '+r[7]).toLowerCase().includes(f))));"
	"shown.sort((a,b)=>{const x=a[key],y=b[key];return (x<y?-1:x>y?1:0)*(desc?-1:1)||b[1]-a[1];});"
	"body.replaceChildren();for(const r of shown){const tr=document.createElement('tr');"
	"cols.forEach(k=>{const td=document.createElement('td');"
	"if(k==1||k==2)td.className='n';if(k==0){const d=document.createElement('details');"
	"const s=document.createElement('summary');s.textContent=r[0];const st=document.createElement('div');"
	"st.textContent=r[4].join('\\n');d.append(s,st);td.append(d);}else{td.textContent=text(r,k);}tr.append(td);});"
	"body.append(tr);}document.getElementById('shown').textContent=shown.length+' of '+rows.length+' rows';}\n"
	"document.querySelectorAll('#table th').forEach((th,i)=>th.addEventListener('click',()=>"
	"{const k=cols[i];desc=key===k?!desc:k===1||k===2;key=k;draw();}));\n"
	"document.getElementById('filter').addEventListener('input',draw);"
	"if(split)document.getElementById('view').addEventListener('change',draw);draw();\n";

/* the frames of an entry's stack, "function at file:line", innermost first */
static void json_frames(struct json *j, struct analysis *a, struct symbolizer *s, uint32_t stack)
{
	const struct sym_frame *frames;
	struct strbuf loc = STRBUF_INIT;
	int n = analysis_stack(a, s, stack, &frames);

	json_array_begin(j);
	for (int k = 0; k < n; k++) {
		strbuf_reset(&loc);
		strbuf_addf(&loc, "%s at %s:%u", frames[k].function, frames[k].file ? frames[k].file : frames[k].module,
			    frames[k].line);
		json_string(j, loc.buf);
	}
	json_array_end(j);
	strbuf_release(&loc);
}

/*
 * The split table's rows of entry e, one per verdict it has, lost first:
 * [location, bytes, count, allocator, [frame, ...], rank (0 definitely
 * lost .. 4 not scanned), verdict, holder, chain]. The holder (what holds
 * the entry's first still reachable block, reach_holder) and its chain
 * length are "" and 0 on the other rows.
 */
static void json_split_rows(struct json *j, struct analysis *a, struct symbolizer *s,
			    const struct analysis_entry *e)
{
	char who[512];

	for (int i = 0; i < CAPTURE_REACH_COUNT; i++) {
		unsigned c = reach_order[i];
		const char *holder = NULL;

		if (!e->reach_count[c] && !e->reach_bytes[c])
			continue;
		if (c == CAPTURE_REACH_REACHABLE)
			holder = reach_holder(a, s, e, who, sizeof(who));
		json_array_begin(j);
		json_string(j, analysis_location(a, s, e->stack));
		json_uint(j, e->reach_bytes[c]);
		json_uint(j, e->reach_count[c]);
		json_string(j, capture_allocator_name(e->kind));
		json_frames(j, a, s, e->stack);
		json_uint(j, (uint64_t)i);
		json_string(j, capture_reach_name(c));
		json_string(j, holder ? holder : "");
		json_uint(j, holder ? e->hold_chain : 0);
		json_array_end(j);
	}
}

/* the table's rows: [location, bytes, count, allocator, [frame, ...]], split by verdict when scanned */
static void json_rows(struct json *j, struct analysis *a, struct symbolizer *s, enum figure fig)
{
	json_array_begin(j);
	for (size_t i = 0; i < a->nentries; i++) {
		const struct analysis_entry *e = &a->entries[i];
		uint64_t bytes, count;

		if (!figure_of(e, fig, &bytes, &count))
			continue;
		if (is_split(a, fig)) {
			json_split_rows(j, a, s, e);
			continue;
		}
		json_array_begin(j);
		json_string(j, analysis_location(a, s, e->stack));
		json_uint(j, bytes);
		json_uint(j, count);
		json_string(j, capture_allocator_name(e->kind));
		json_frames(j, a, s, e->stack);
		json_array_end(j);
	}
	json_array_end(j);
}

int html_table(struct strbuf *out, struct analysis *a, struct symbolizer *s, enum figure fig,
	       const char *title)
{
	const char *what = fig == FIGURE_LEAKS ? "allocations leaked (live at exit)"
			   : fig == FIGURE_TEMPORARY ? "temporary allocations" : "allocations live at the peak";
	int split = is_split(a, fig);
	struct json j;

	page_head(out, a, fig, "table", what, title);
	strbuf_addstr(out, "<style>");
	strbuf_addstr(out, html_table_style);
	strbuf_addstr(out, "</style><div id=\"tools\"><input id=\"filter\" type=\"search\" "
		      "placeholder=\"Filter by function or file\">");
	if (split)
		view_selector(out, a, "all");
	strbuf_addf(out, " <span id=\"shown\"></span></div></header>\n"
		    "<table id=\"table\" data-split=\"%d\"><thead><tr><th>Location</th>%s<th>Size</th>"
		    "<th>Allocations</th><th>Allocator</th>%s</tr></thead><tbody></tbody></table>\n"
		    "<script type=\"application/json\" id=\"data\">", split, split ? "<th>Category</th>" : "",
		    split ? "<th>Held by</th>" : "");
	json_init(&j, out, HTML_JSON);
	json_rows(&j, a, s, fig);
	if (json_finish(&j) < 0)
		return -1;
	strbuf_addstr(out, "</script>\n<script>");
	strbuf_addstr(out, table_script);
	strbuf_addstr(out, "</script></body></html>\n");
	return 0;
}
