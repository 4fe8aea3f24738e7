/*
 * junit/fixtures: how a pytest fixture's setup reads in the reports; see
 * struct check_fixture in junit.h.
 */
#include "junit/junit.h"

#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"

int check_fixture_line(struct strbuf *sb, const struct check_fixture *f, const char *name)
{
	char a[UNITS_BUF], b[UNITS_BUF];
	int bad = strbuf_addf(sb, "%s (%s): setup peak %s (%llu bytes), held after setup %s (%llu bytes)", name, f->scope,
			      units_human(a, f->peak), (unsigned long long)f->peak, units_human(b, f->held),
			      (unsigned long long)f->held);

	if (f->started)
		bad |= strbuf_addf(sb, ", of which processes it started %s (%llu bytes)", units_human(a, f->started),
				   (unsigned long long)f->started);
	return bad;
}

void check_fixtures_text(struct strbuf *out, const struct check_run *run)
{
	struct strbuf name = STRBUF_INIT;

	strbuf_addstr(out, "pytest fixtures' setup (shown, not judged):\n");
	for (size_t i = 0; i < run->nfixtures; i++) {
		strbuf_reset(&name);
		utf8_add_printable(&name, run->fixtures[i].name, 0);
		check_fixture_line(out, &run->fixtures[i], name.buf);
		strbuf_addch(out, '\n');
	}
	strbuf_release(&name);
}
