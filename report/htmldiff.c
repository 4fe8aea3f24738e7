/*
 * report/htmldiff: see htmldiff.h.
 */
#include "report/htmldiff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/json.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "report/html.h"

/* one frame of the merged tree, with the chosen figure on both sides */
struct dnode {
	const struct sym_frame *frame;	/* NULL: the root */
	uint64_t v[2];			/* by enum diff_side */
	uint32_t parent, first_child, last_child, next_sibling;	/* 0: none (node 0 is the root) */
};

struct dtree {
	const struct diff *d;
	struct dnode *nodes;
	size_t n, alloc;
	struct hashidx index;	/* (parent, frame) -> node */
	uint64_t gone, gone_bytes;	/* stacks with nothing in the head, and their base bytes */
};

struct child_key {
	const struct dtree *t;
	uint32_t parent;
	const struct sym_frame *frame;
};

static const struct sym_frame elided_frame = { "... frames elided ...", NULL, 0, "", 0 };

static int same_child(const void *ctx, uint32_t pos)
{
	const struct child_key *k = ctx;
	const struct dnode *n = &k->t->nodes[pos];

	return n->parent == k->parent && diff_same_frame(k->t->d, n->frame, k->frame);
}

/* the child of parent for frame f, added if new; 0 when out of memory */
static uint32_t child(struct dtree *t, uint32_t parent, const struct sym_frame *f)
{
	struct child_key k = { t, parent, f };
	uint64_t h = hash_u64(parent ^ diff_hash_frames(t->d, f, 1));
	uint32_t i = hashidx_find(&t->index, h, same_child, &k);

	if (i != HASHIDX_NONE)
		return i;
	if (GROW(t->nodes, t->n + 1, t->alloc) < 0 || hashidx_add(&t->index, h, (uint32_t)t->n) < 0)
		return 0;
	t->nodes[t->n] = (struct dnode){ .frame = f, .parent = parent };
	if (t->nodes[parent].last_child)
		t->nodes[t->nodes[parent].last_child].next_sibling = (uint32_t)t->n;
	else
		t->nodes[parent].first_child = (uint32_t)t->n;
	t->nodes[parent].last_child = (uint32_t)t->n;
	return (uint32_t)t->n++;
}

static void add_to(struct dnode *n, const struct diff_row *r, enum diff_figure fig)
{
	n->v[DIFF_BASE] = units_add(n->v[DIFF_BASE], r->v[DIFF_BASE][fig]);
	n->v[DIFF_HEAD] = units_add(n->v[DIFF_HEAD], r->v[DIFF_HEAD][fig]);
}

static int build(struct dtree *t, const struct diff *d, enum diff_figure fig, int inverted)
{
	t->d = d;
	if (GROW(t->nodes, 1, t->alloc) < 0)
		return -1;
	t->nodes[0] = (struct dnode){ 0 };
	t->n = 1;
	for (size_t i = 0; i < d->nstacks; i++) {
		const struct diff_row *r = &d->stacks[i];
		uint32_t at = 0, n = r->nframes;

		if (!r->v[DIFF_BASE][fig] && !r->v[DIFF_HEAD][fig])
			continue;
		if (!r->v[DIFF_HEAD][fig]) {
			t->gone++;
			t->gone_bytes = units_add(t->gone_bytes, r->v[DIFF_BASE][fig]);
		}
		add_to(&t->nodes[0], r, fig);
		for (uint32_t j = 0; j < n; j++) {
			/* from the outermost frame in, or, inverted, from the innermost out */
			const struct sym_frame *f = &d->frames[r->frame + (inverted ? j : n - 1 - j)];

			if (n > 2 * HTMLDIFF_ELIDE && j >= HTMLDIFF_ELIDE && j < n - HTMLDIFF_ELIDE) {
				if (j > HTMLDIFF_ELIDE)
					continue;
				f = &elided_frame;
			}
			at = child(t, at, f);
			if (!at)
				return -1;
			add_to(&t->nodes[at], r, fig);
		}
	}
	return 0;
}

static void release(struct dtree *t)
{
	free(t->nodes);
	hashidx_release(&t->index);
}

static uint64_t larger(const struct dnode *n)
{
	return n->v[DIFF_HEAD] > n->v[DIFF_BASE] ? n->v[DIFF_HEAD] : n->v[DIFF_BASE];
}

static void json_head(struct json *j, const char *name, const char *loc, const uint64_t v[2])
{
	json_object_begin(j);
	json_key(j, "name");
	json_string(j, name);
	json_key(j, "loc");
	json_string(j, loc);
	json_key(j, "value");
	json_uint(j, v[DIFF_HEAD]);
	json_key(j, "base");
	json_uint(j, v[DIFF_BASE]);
	json_key(j, "children");
	json_array_begin(j);
}

/* node i and its subtree; children below `threshold` on both sides merged into one */
static void json_node(struct json *j, const struct dtree *t, uint32_t i, uint64_t threshold)
{
	const struct dnode *n = &t->nodes[i];
	struct strbuf loc = STRBUF_INIT;
	uint64_t small[2] = { 0, 0 }, nsmall = 0;

	if (n->frame && (n->frame->file || n->frame->module))
		strbuf_addstr(&loc, n->frame->file ? n->frame->file : n->frame->module);
	if (n->frame && n->frame->line)
		strbuf_addf(&loc, ":%u", n->frame->line);
	json_head(j, n->frame ? n->frame->function : "<root>", loc.buf, n->v);
	strbuf_release(&loc);
	for (uint32_t c = n->first_child; c; c = t->nodes[c].next_sibling) {
		if (larger(&t->nodes[c]) < threshold) {
			small[DIFF_BASE] += t->nodes[c].v[DIFF_BASE];
			small[DIFF_HEAD] += t->nodes[c].v[DIFF_HEAD];
			nsmall++;
			continue;
		}
		json_node(j, t, c, threshold);
	}
	if (nsmall) {
		char name[96];

		snprintf(name, sizeof(name), "(%llu smaller frames merged)", (unsigned long long)nsmall);
		json_head(j, name, "", small);
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static const char *const figure_what[DIFF_NFIGURES] = {
	[DIFF_PEAK] = "memory live at the peak", [DIFF_LEAKED] = "memory leaked (live at exit)",
	[DIFF_ALLOCATED] = "memory allocated", [DIFF_ALLOCATIONS] = "allocations",
};

/* "1.000MiB -> 2.000MiB (+1.000MiB, +1048576 B)" */
static void change_text(struct strbuf *sb, const uint64_t v[2][DIFF_NFIGURES], enum diff_figure f)
{
	char b[UNITS_BUF], h[UNITS_BUF], c[UNITS_BUF];
	int64_t ch = diff_change(v, f);
	uint64_t mag = ch < 0 ? (uint64_t)-ch : (uint64_t)ch;
	const char *sign = ch < 0 ? "-" : "+";

	strbuf_reset(sb);
	if (f == DIFF_ALLOCATIONS)
		strbuf_addf(sb, "%llu -> %llu (%s%llu)", (unsigned long long)v[DIFF_BASE][f],
			    (unsigned long long)v[DIFF_HEAD][f], sign, (unsigned long long)mag);
	else
		strbuf_addf(sb, "%s -> %s (%s%s, %s%llu B)", units_human(b, v[DIFF_BASE][f]),
			    units_human(h, v[DIFF_HEAD][f]), sign, units_human(c, mag), sign, (unsigned long long)mag);
}

/* the page up to the end of its facts: both captures and the four totals */
static void page_head(struct strbuf *out, const struct diff *d, const char *kind, enum diff_figure fig,
		      const struct htmldiff_titles *t)
{
	static const char *const terms[DIFF_NFIGURES] = { "Peak memory", "Leaked", "Allocated in all", "Allocations" };
	struct strbuf what = STRBUF_INIT, line = STRBUF_INIT;

	strbuf_addf(&what, "%s, head against base", figure_what[fig]);
	html_page_open(out, kind, what.buf);
	strbuf_reset(&line);
	strbuf_addf(&line, "%s: %s", t->base_path, t->base_command);
	html_header_row(out, "Base", line.buf);
	strbuf_reset(&line);
	strbuf_addf(&line, "%s: %s", t->head_path, t->head_command);
	html_header_row(out, "Head", line.buf);
	for (int f = 0; f < DIFF_NFIGURES; f++) {
		change_text(&line, d->total, f);
		html_header_row(out, terms[f], line.buf);
	}
	html_header_row(out, "Matched by", d->match == DIFF_MATCH_FUNCTION ? "function name" : "function, file and line");
	strbuf_addstr(out, "</dl>");
	strbuf_release(&what);
	strbuf_release(&line);
}

static const char flame_script[] =
	"const data=JSON.parse(document.getElementById('data').textContent);\n"
	HTML_HUMAN_JS
	"function signed(n){return (n<0?'-':'+')+human(Math.abs(n));}\n"
	/* red grew, blue shrank, grey unchanged; deeper as the change nears the frame's size */
	"function tint(d,orig){if(d.highlight)return orig;const v=d.data.value,b=d.data.base,c=v-b;"
	"if(!c)return 'rgb(221,221,221)';const k=Math.min(1,Math.abs(c)/Math.max(v,b)),t=Math.round(215*(1-k)+20);"
	"return c>0?'rgb(255,'+t+','+t+')':'rgb('+t+','+t+',255)';}\n"
	"const chart=flamegraph.default().width(Math.max(600,document.body.clientWidth-20))"
	".cellHeight(18).transitionDuration(250).minFrameSize(1).selfValue(false).setColorMapper(tint)"
	".setLabelHandler(d=>d.data.name+(d.data.loc?' at '+d.data.loc:'')+': head '+human(d.data.value)"
	"+', base '+human(d.data.base)+', change '+signed(d.data.value-d.data.base))"
	".setDetailsHandler(t=>{document.getElementById('details').textContent=t||'';});\n"
	"d3.select('#chart').datum(data).call(chart);\n"
	HTML_SEARCH_JS;

int htmldiff_flamegraph(struct strbuf *out, struct diff *d, enum diff_figure fig, int inverted,
			const struct htmldiff_titles *t)
{
	struct dtree tree = { 0 };
	struct json j;
	char gone[UNITS_BUF];
	int ret = -1;

	if (build(&tree, d, fig, inverted) < 0)
		goto out;
	page_head(out, d, "differential flame graph", fig, t);
	strbuf_addstr(out, HTML_SEARCH_TOOLS);
	strbuf_addf(out, "<p id=\"note\">Widths are the head's; <span style=\"background:#fbb\">red grew</span>, "
		    "<span style=\"background:#bbf\">blue shrank</span>, grey is unchanged. Frames under 0.1%% "
		    "are merged. Stacks gone from the head have no width: %llu, %s in the base.</p></header>\n"
		    "<div id=\"chart\"></div><div id=\"details\"></div>\n"
		    "<script type=\"application/json\" id=\"data\">",
		    (unsigned long long)tree.gone, units_human(gone, tree.gone_bytes));
	json_init(&j, out, JSON_SCRIPT_SAFE);
	json_node(&j, &tree, 0, larger(&tree.nodes[0]) / 1000);
	if (json_finish(&j) < 0)
		goto out;
	strbuf_addstr(out, "</script>\n<script>");
	strbuf_addstr(out, web_d3_js);
	strbuf_addstr(out, "</script>\n<script>");
	strbuf_addstr(out, web_flamegraph_js);
	strbuf_addstr(out, "</script>\n<script>");
	strbuf_addstr(out, flame_script);
	strbuf_addstr(out, "</script></body></html>\n");
	ret = 0;
out:
	release(&tree);
	return ret;
}

static const char table_script[] =
	"const rows=JSON.parse(document.getElementById('data').textContent);\n"
	HTML_HUMAN_JS
	"const isCount=document.getElementById('table').dataset.count==='1';\n"
	"function fmt(n,s){if(isCount)return (s&&n>0?'+':'')+n;return (n<0?'-':s&&n>0?'+':'')+human(Math.abs(n));}\n"
	"let key=3,desc=true;const body=document.querySelector('#table tbody');\n"
	"function draw(){const f=document.getElementById('filter').value.toLowerCase();"
	"const shown=rows.filter(r=>!f||r[0].toLowerCase().includes(f)||r[6].join('\\n').toLowerCase().includes(f));"
	"shown.sort((a,b)=>{const x=a[key],y=b[key];return (x<y?-1:x>y?1:0)*(desc?-1:1);});"
	"body.replaceChildren();for(const r of shown){const tr=document.createElement('tr');"
	"const cells=[r[0],fmt(r[1]),fmt(r[2]),fmt(r[3],1),String(r[4]),(r[5]>0?'+':'')+r[5]];"
	"cells.forEach((v,i)=>{const td=document.createElement('td');"
	"if(i){td.className='n';td.textContent=v;if(i==3&&r[3])td.style.color=r[3]>0?'#c92a2a':'#1864ab';}"
	"else{const d=document.createElement('details');const s=document.createElement('summary');s.textContent=v;"
	"const st=document.createElement('div');st.textContent=r[6].join('\\n');d.append(s,st);td.append(d);}"
	"tr.append(td);});body.append(tr);}"
	"document.getElementById('shown').textContent=shown.length+' of '+rows.length+' stacks';}\n"
	"document.querySelectorAll('#table th').forEach((th,i)=>th.addEventListener('click',()=>"
	"{desc=key===i?!desc:i!==0;key=i;draw();}));\n"
	"document.getElementById('filter').addEventListener('input',draw);draw();\n";

static const char *frame_text(struct strbuf *sb, const struct sym_frame *f)
{
	strbuf_reset(sb);
	if (!f)
		strbuf_addstr(sb, "<stack trace unavailable>");
	else
		strbuf_addf(sb, "%s at %s:%u", f->function, f->file ? f->file : f->module, f->line);
	return sb->buf;
}

/* [location, head, base, change, head allocations, allocations change, [frame, ...]] per changed stack */
static void json_table_rows(struct json *j, const struct diff *d, enum diff_figure fig)
{
	struct strbuf text = STRBUF_INIT;

	json_array_begin(j);
	for (size_t i = 0; i < d->nstacks; i++) {
		const struct diff_row *r = &d->stacks[i];

		if (!diff_is_changed(r->v))
			continue;
		json_array_begin(j);
		json_string(j, frame_text(&text, r->nframes ? &d->frames[r->frame] : NULL));
		json_uint(j, r->v[DIFF_HEAD][fig]);
		json_uint(j, r->v[DIFF_BASE][fig]);
		json_int(j, diff_change(r->v, fig));
		json_uint(j, r->v[DIFF_HEAD][DIFF_ALLOCATIONS]);
		json_int(j, diff_change(r->v, DIFF_ALLOCATIONS));
		json_array_begin(j);
		for (uint32_t k = 0; k < r->nframes; k++)
			json_string(j, frame_text(&text, &d->frames[r->frame + k]));
		json_array_end(j);
		json_array_end(j);
	}
	json_array_end(j);
	strbuf_release(&text);
}

int htmldiff_table(struct strbuf *out, struct diff *d, enum diff_figure fig, const struct htmldiff_titles *t)
{
	struct json j;

	page_head(out, d, "table diff", fig, t);
	strbuf_addstr(out, "<style>");
	strbuf_addstr(out, html_table_style);
	strbuf_addstr(out, "</style><div id=\"tools\"><input id=\"filter\" type=\"search\" placeholder=\"Filter by function or file\">"
		      " <span id=\"shown\"></span></div></header>\n");
	strbuf_addf(out, "<table id=\"table\" data-count=\"%d\"><thead><tr><th>Location</th><th>Head</th><th>Base</th>"
		    "<th>Change</th><th>Allocations</th><th>Allocations change</th></tr></thead><tbody></tbody></table>\n"
		    "<script type=\"application/json\" id=\"data\">", fig == DIFF_ALLOCATIONS);
	json_init(&j, out, JSON_SCRIPT_SAFE);
	json_table_rows(&j, d, fig);
	if (json_finish(&j) < 0)
		return -1;
	strbuf_addstr(out, "</script>\n<script>");
	strbuf_addstr(out, table_script);
	strbuf_addstr(out, "</script></body></html>\n");
	return 0;
}
