/*
 * The jq-like workload of `make bench`: what a JSON tool does to a big
 * document. It writes N records of JSON text into one buffer, parses the
 * text into a tree (a node per value, a copy per string, member and
 * element arrays grown by realloc), walks the tree, then frees it all.
 * Millions of small blocks are live at once, as in `jq . big.json`.
 *
 *   jqlike N      N records; 300000 give ~6M live blocks, ~15M records
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { NUM, STR, ARR, OBJ };

struct node {
	enum kind kind;
	unsigned n, cap;	/* ARR, OBJ: elements */
	double num;
	char *str;		/* STR */
	char **keys;		/* OBJ */
	struct node **items;	/* ARR, OBJ */
};

static const char *at;

__attribute__((noinline)) static struct node *new_node(enum kind kind)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		abort();
	n->kind = kind;
	return n;
}

__attribute__((noinline)) static char *parse_string(void)
{
	const char *end = strchr(++at, '"');
	char *s = malloc((size_t)(end - at) + 1);

	if (!s)
		abort();
	memcpy(s, at, (size_t)(end - at));
	s[end - at] = '\0';
	at = end + 1;
	return s;
}

__attribute__((noinline)) static void push(struct node *n, char *key, struct node *item)
{
	if (n->n == n->cap) {
		n->cap = n->cap ? n->cap * 2 : 2;
		n->items = realloc(n->items, n->cap * sizeof(*n->items));
		if (n->kind == OBJ)
			n->keys = realloc(n->keys, n->cap * sizeof(*n->keys));
		if (!n->items || (n->kind == OBJ && !n->keys))
			abort();
	}
	if (n->kind == OBJ)
		n->keys[n->n] = key;
	n->items[n->n++] = item;
}

static struct node *parse_value(void);

__attribute__((noinline)) static struct node *parse_object(void)
{
	struct node *n = new_node(OBJ);

	for (at++; *at != '}'; at += *at == ',') {
		char *key = parse_string();

		at++;	/* ':' */
		push(n, key, parse_value());
	}
	at++;
	return n;
}

__attribute__((noinline)) static struct node *parse_array(void)
{
	struct node *n = new_node(ARR);

	for (at++; *at != ']'; at += *at == ',')
		push(n, NULL, parse_value());
	at++;
	return n;
}

static struct node *parse_value(void)
{
	struct node *n;
	char *end;

	switch (*at) {
	case '{':
		return parse_object();
	case '[':
		return parse_array();
	case '"':
		n = new_node(STR);
		n->str = parse_string();
		return n;
	default:
		n = new_node(NUM);
		n->num = strtod(at, &end);
		at = end;
		return n;
	}
}

static double walk(const struct node *n)
{
	double sum = n->kind == NUM ? n->num : n->kind == STR ? (double)strlen(n->str) : 0;

	for (unsigned i = 0; i < n->n; i++)
		sum += walk(n->items[i]) + (n->keys ? (double)strlen(n->keys[i]) : 0);
	return sum;
}

static void drop(struct node *n)
{
	for (unsigned i = 0; i < n->n; i++) {
		if (n->keys)
			free(n->keys[i]);
		drop(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->str);
	free(n);
}

int main(int argc, char **argv)
{
	long records = argc > 1 ? atol(argv[1]) : 300000;
	size_t cap = (size_t)records * 160 + 16, len = 0;
	char *text = malloc(cap);
	struct node *root;

	if (!text)
		return 1;
	len += (size_t)sprintf(text + len, "[");
	for (long i = 0; i < records; i++)
		len += (size_t)sprintf(text + len, "%s{\"id\":%ld,\"name\":\"item-%ld\",\"tags\":[\"a\",\"b%ld\"],"
				       "\"pos\":{\"x\":%ld.5,\"y\":%ld}}", i ? "," : "", i, i, i % 97, i % 1000, i / 7);
	sprintf(text + len, "]");
	at = text;
	root = parse_value();
	printf("%.1f\n", walk(root));
	drop(root);
	free(text);
	return 0;
}
