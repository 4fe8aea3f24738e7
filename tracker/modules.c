/*
 * tracker/modules: the loaded ELF objects (path, load address, build id,
 * PT_LOAD segments), so reports can symbolize later, elsewhere.
 *
 * The list is read with dl_iterate_phdr, which takes the loader's lock, so
 * never under tracker_lock: the records are encoded into a strbuf first
 * (under the recursion guard, so the strbuf's malloc goes to the real
 * allocator) and handed to the ring one by one under the lock. The
 * loader's add/remove counters tell whether anything changed since the
 * last scan; see "WHY NO dlopen HOOK" in tracker.h.
 */
#include <elf.h>
#include <link.h>

#include "common/strbuf.h"
#include "tracker/internal.h"

/*
 * adds, subs: the loader's counters when the set was last written. The
 * last scan's records are kept with the counters they were read at: a
 * forked child (same modules) writes them again without reading every
 * module's notes, whose pages it would fault in one by one.
 */
static struct {
	unsigned long long adds, subs;
	uint64_t generation;
	struct strbuf last;
	unsigned long long last_adds, last_subs;
} mods = { .last = STRBUF_INIT };

struct module_scan {
	struct strbuf out;	/* encoded MODULE records, each after its size_t length */
	unsigned long long adds, subs;
	char exe[PATH_MAX_LEN];
};

static void note_build_id(const struct dl_phdr_info *info, const uint8_t **id, size_t *len)
{
	*id = NULL;
	*len = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);

			if (desc + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
				*id = desc;
				*len = nh->n_descsz;
				return;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
}

static int scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_scan *scan = arg;
	const char *path = info->dlpi_name;
	uint8_t tmp[CAPTURE_STRING_MAX * 2 + 64 * 24], *p = tmp;
	const uint8_t *build_id;
	size_t id_len;
	unsigned nload = 0;

	(void)size;
	scan->adds = info->dlpi_adds;
	scan->subs = info->dlpi_subs;
	if (!path || !*path)
		path = scan->exe;	/* the main program */
	if (path[0] != '/')
		return 0;	/* the vdso: nothing to read later */
	note_build_id(info, &build_id, &id_len);
	if (id_len > 64)
		id_len = 64;
	*p++ = CAPTURE_REC_MODULE;
	p = codec_put_string(p, path, strlen(path), CAPTURE_STRING_MAX);
	p = codec_put_varint(p, info->dlpi_addr);
	p = codec_put_string(p, (const char *)build_id, id_len, 64);
	for (int i = 0; i < info->dlpi_phnum; i++)
		nload += info->dlpi_phdr[i].p_type == PT_LOAD;
	if (nload > 64)
		nload = 64;
	p = codec_put_varint(p, nload);
	for (int i = 0, k = 0; i < info->dlpi_phnum && k < 64; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		p = codec_put_varint(p, info->dlpi_phdr[i].p_vaddr);
		p = codec_put_varint(p, info->dlpi_phdr[i].p_memsz);
		k++;
	}
	/* each record behind its length, so the lock holder can hand them out one by one */
	size_t len = (size_t)(p - tmp);
	strbuf_add(&scan->out, &len, sizeof(len));
	strbuf_add(&scan->out, tmp, len);
	return 0;
}

static int counters_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;

	(void)size;
	c[0] = info->dlpi_adds;
	c[1] = info->dlpi_subs;
	return 1;
}

void tracker_module_counters(unsigned long long c[2])
{
	c[0] = c[1] = 0;
	dl_iterate_phdr(counters_one, c);
}

void tracker_record_modules(int force)
{
	unsigned long long c[2];
	uint8_t head[1 + CODEC_VARINT_MAX];

	pthread_mutex_lock(&tracker_modules_lock);	/* the cache is shared; fork waits */
	tracker_module_counters(c);
	if (!force && c[0] == mods.adds && c[1] == mods.subs) {
		pthread_mutex_unlock(&tracker_modules_lock);
		return;
	}
	if (!mods.last.len || c[0] != mods.last_adds || c[1] != mods.last_subs) {
		struct module_scan scan = { .adds = c[0], .subs = c[1] };
		ssize_t n = readlink("/proc/self/exe", scan.exe, sizeof(scan.exe) - 1);

		scan.exe[n > 0 ? n : 0] = '\0';
		strbuf_init(&scan.out, 0);
		dl_iterate_phdr(scan_one, &scan);
		strbuf_release(&mods.last);
		mods.last = scan.out;
		mods.last_adds = scan.adds;
		mods.last_subs = scan.subs;
	}
	tracker_lock_take();
	if (tracker_active) {
		head[0] = CAPTURE_REC_MODULES;
		tracker_emit(head, (size_t)(codec_put_varint(head + 1, ++mods.generation) - head));
		/* MODULE records one by one: each fits a block, the set may not */
		for (size_t off = 0; off + sizeof(size_t) <= mods.last.len;) {
			size_t len;

			memcpy(&len, mods.last.buf + off, sizeof(len));
			off += sizeof(len);
			tracker_emit((uint8_t *)mods.last.buf + off, len);
			off += len;
		}
	}
	pthread_mutex_unlock(&tracker_lock);
	mods.adds = c[0];
	mods.subs = c[1];
	pthread_mutex_unlock(&tracker_modules_lock);
}


void tracker_modules_reset(void)
{
	mods.adds = mods.subs = 0;
}
