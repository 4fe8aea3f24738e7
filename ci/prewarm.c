/*
 * ci/prewarm: see prewarm.h.
 */
#include "ci/prewarm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/reader.h"
#include "report/symbols.h"

#define MAX_MODULES 64
#define POLL_US (10 * 1000)	/* the tracker's writer writes its first block on its first 10 ms tick */

struct module_copy {
	char *path;
	uint8_t *build_id;
	size_t build_id_len;
	uint64_t bias;
	struct sym_segment seg;	/* the one an address is looked up in */
};

static int is_done(struct ci_prewarm *p)
{
	return __atomic_load_n(&p->is_done, __ATOMIC_ACQUIRE);
}

static void modules_release(struct module_copy *mods, int n)
{
	for (int i = 0; i < n; i++) {
		free(mods[i].path);
		free(mods[i].build_id);
	}
}

/* keep a copy of a MODULE record: 0, or -1 out of memory */
static int keep_module(struct module_copy *m, const struct capture_record *rec)
{
	int k = rec->nseg > 1;	/* the text: after the headers' segment when there are several */

	m->path = strndup(rec->path.s, rec->path.len);
	m->build_id = malloc(rec->build_id.len ? rec->build_id.len : 1);
	if (!m->path || !m->build_id) {
		free(m->path);
		free(m->build_id);
		return -1;
	}
	memcpy(m->build_id, rec->build_id.s, rec->build_id.len);
	m->build_id_len = rec->build_id.len;
	m->bias = rec->bias;
	m->seg = (struct sym_segment){ rec->segs[2 * k], rec->segs[2 * k + 1] };
	return 0;
}

/*
 * The first module list of the capture, read as it is written (a stream
 * reader fed from the file): the module count, 0 if the command ended or
 * the capture went wrong before the list was whole. The file is opened
 * once.
 */
static int read_modules(struct ci_prewarm *p, struct module_copy *mods)
{
	struct capture_reader *r = capture_reader_stream(p->capture);
	struct capture_record rec;
	int fd = open(p->capture, O_RDONLY | O_CLOEXEC), n = 0;
	char buf[64 * 1024];

	while (r && fd >= 0) {
		ssize_t got;

		if (capture_reader_next(r, &rec)) {
			if (rec.type == CAPTURE_REC_MODULE && n < MAX_MODULES && rec.nseg > 0) {
				if (keep_module(&mods[n], &rec) < 0)
					break;
				n++;
			} else if (n && rec.type != CAPTURE_REC_MODULE) {
				goto out;	/* the list is whole */
			}
			continue;
		}
		if (!capture_reader_is_waiting(r))
			break;	/* damaged: the analysis will say so */
		got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || (got == 0 && is_done(p)))
			break;
		if (got == 0)
			usleep(POLL_US);
		else if (capture_reader_feed(r, buf, (size_t)got) < 0)
			break;
	}
	modules_release(mods, n);
	n = 0;
out:
	if (fd >= 0)
		close(fd);
	capture_reader_free(r);
	return n;
}

static void *prewarm_main(void *arg)
{
	struct ci_prewarm *p = arg;
	struct module_copy mods[MAX_MODULES];
	int n = read_modules(p, mods);

	for (int i = 0; i < n && !is_done(p); i++) {
		struct sym_module m = { .path = mods[i].path, .bias = mods[i].bias, .build_id = mods[i].build_id,
					.build_id_len = mods[i].build_id_len, .nseg = 1, .segs = &mods[i].seg };
		struct sym_frame f;
		struct stat st;

		/* one that cannot be read is left to the judging, which warns only if a frame needs it */
		if (!mods[i].seg.memsz || stat(m.path, &st) < 0 || !S_ISREG(st.st_mode) || access(m.path, R_OK) < 0)
			continue;
		/* any address in the text opens the module and its debug info; the ip is a return address */
		symbolizer_lookup(p->sym, &m, m.bias + mods[i].seg.vaddr + mods[i].seg.memsz / 2 + 1, &f, 1);
	}
	modules_release(mods, n);
	return NULL;
}

void ci_prewarm_start(struct ci_prewarm *p)
{
	p->is_done = 0;
	p->is_started = p->sym && pthread_create(&p->thread, NULL, prewarm_main, p) == 0;
}

void ci_prewarm_finish(struct ci_prewarm *p)
{
	__atomic_store_n(&p->is_done, 1, __ATOMIC_RELEASE);
	if (p->is_started)
		pthread_join(p->thread, NULL);
	p->is_started = 0;
}
