/*
 * cli/options: see options.h.
 */
#include "cli/options.h"

#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/error.h"

/* the option `arg` names (its text up to any '='), or NULL */
static const struct opt *find(const struct opt *opts, const char *arg, const char **inline_value)
{
	*inline_value = NULL;
	if (arg[1] != '-') {	/* -x */
		for (const struct opt *o = opts; o->kind != OPT_KIND_END; o++)
			if (o->short_name && arg[1] == o->short_name && !arg[2])
				return o;
		return NULL;
	}
	for (const struct opt *o = opts; o->kind != OPT_KIND_END; o++) {
		size_t len = o->long_name ? strlen(o->long_name) : 0;

		if (!len || strncmp(arg + 2, o->long_name, len))
			continue;
		if (arg[2 + len] == '=') {
			*inline_value = arg + 3 + len;
			return o;
		}
		if (!arg[2 + len])
			return o;
	}
	return NULL;
}

static int takes_value(const struct opt *o)
{
	return o->kind == OPT_KIND_STRING || o->kind == OPT_KIND_COUNT || o->kind == OPT_KIND_STOP ||
	       (o->kind == OPT_KIND_CALLBACK && o->takes_value == 1);
}

static int may_take_value(const struct opt *o)
{
	return takes_value(o) || (o->kind == OPT_KIND_CALLBACK && o->takes_value == OPT_VALUE_OPTIONAL);
}

/* store the value of one option: 0, or -1 after a message */
static int apply(const struct opt *o, const char *arg, const char *value, const char *cmd)
{
	switch (o->kind) {
	case OPT_KIND_FLAG:
		*(int *)o->value = 1;
		return 0;
	case OPT_KIND_SET_BIT:
		*(unsigned *)o->value |= o->bit;
		return 0;
	case OPT_KIND_CLEAR_BIT:
		*(unsigned *)o->value &= ~o->bit;
		return 0;
	case OPT_KIND_STRING:
		*(const char **)o->value = value;
		return 0;
	case OPT_KIND_COUNT:
		return count_arg(cmd, arg, value, o->value) ? -1 : 0;
	case OPT_KIND_CALLBACK:
		return o->cb(o, value, cmd);
	default:
		BUG("option kind %d", (int)o->kind);
	}
}

int options_parse(int argc, char **argv, const char *cmd, const char *usage, const struct opt *opts,
		  unsigned flags)
{
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *value;
		const struct opt *o;
		char name[64];

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			if (flags & OPTIONS_STOP_AT_ARG)
				break;
			argv[n++] = argv[i];
			continue;
		}
		if (is_help(arg)) {
			if (usage)
				fputs(usage, stdout);
			return OPTIONS_HELP;
		}
		o = find(opts, arg, &value);
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
		if (!o)
			return error("%s: unknown option '%s' (see 'memray %s --help')", cmd, name, cmd);
		if (value && !may_take_value(o))
			return error("%s: option '%s' takes no value (see 'memray %s --help')", cmd, name, cmd);
		if (!value && takes_value(o)) {
			if (i + 1 == argc)
				return error("%s: option '%s' needs a value (see 'memray %s --help')", cmd, name,
					     cmd);
			if (o->kind == OPT_KIND_STOP)
				break;	/* the option and its value are the first positionals */
			value = argv[++i];
		}
		if (o->kind == OPT_KIND_STOP)
			return error("%s: option '%s' takes its value as the next argument", cmd, name);
		if (apply(o, name, value, cmd) < 0)
			return -1;
	}
	while (i < argc)
		argv[n++] = argv[i++];
	argv[n] = NULL;
	return n;
}
