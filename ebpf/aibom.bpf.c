// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* aibomd kernel side: file opens, execs and exits of traced processes.
 *
 * Design (figures in shared/notes/ebpf.md):
 *  - syscall tracepoints, enter + exit: the enter side filters on the path and parks the
 *    user pointer; the exit side drops failed opens and emits the event with the fd's inode.
 *  - in-kernel filter: one read of the path, one LPM-trie lookup on its first 64 bytes
 *    (prefix rules: keep/drop) and one on its last 32 bytes reversed+lowercased (suffix
 *    allow-list). Both tries are filled from the daemon's config at start. Suffix-less
 *    store blobs are kept by shape (see is_store_blob), other suffix-less files inside
 *    known store folders by a third trie (see in_store_dir).
 *  - ring buffer written with BPF_RB_NO_WAKEUP; userspace drains on a timer and is only
 *    woken when `wakeup_bytes` are pending, never once per event.
 *  - follow mode (`aibomd run`): only tgids in TRACKED are traced; forks of tracked
 *    processes are added in the kernel, so no short-lived child is missed.
 *  - deferral (host mode): an `aibomd run` that exports its own records adds itself and its
 *    command to DEFERRED (pinned by the daemon); the daemon then leaves that tree to the run,
 *    so a store does not get its accesses twice. Forks inherit the entry; when the run
 *    exits, its whole tree is traced by the daemon again (see undefer).
 *  - pid namespaces: processes are numbered as the daemon's /proc numbers them (that is
 *    what every later stage reads); with a /proc of another pid namespace than the host's
 *    (a container without the host's pids, one "host" of a nested setup) only processes
 *    in that namespace or below it are traced at all (see tgid_of).
 */
#include <linux/bpf.h>
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "aibom_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define O_DIRECTORY_FLAG 00200000
#define O_CREAT_FLAG 00000100
#define O_WRONLY_FLAG 00000001
#define O_TRUNC_FLAG 00001000

/* Set by the loader before load (read-only data). */
const volatile __u32 follow_mode = 0;   /* 1: trace only TRACKED tgids */
const volatile __u32 self_tgid = 0;     /* the daemon itself: never traced */
const volatile __u32 defer_enabled = 0; /* host mode: DEFERRED is pinned for runs */
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile __u32 report_failed = 0; /* 1: emit failed opens (ret < 0) too */
const volatile __u32 store_blobs = 1;   /* 1: keep `blobs/sha256-<64 hex>` (model stores) */
/* inode of the pid namespace of the daemon's /proc; 0: the host's (no translation) */
const volatile __u32 pidns_inum = 0;
const volatile __u32 store_dirs = 1;    /* 1: STORE_DIRS has entries (see in_store_dir) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} EVENTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIBOM_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aibom_event);
} SCRATCH SEC(".maps");

/* Scratch for building a dentry path backwards: PATH_MAX plus room for one name. */
struct dpath_buf {
	char buf[AIBOM_PATH_MAX + 256];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dpath_buf);
} DPATH SEC(".maps");

struct pending_open {
	__u64 filename; /* user pointer */
	__u64 flags;
	__s32 dirfd;
	__u32 syscall;  /* AIBOM_SYS_*, | RESOLVE_AT_EXIT */
};

/* In pending_open.syscall: the open named no file of its own — a /proc magic link
 * (`/proc/self/fd/N`, `…/root/…`, `/dev/fd/N`) or a handle (open_by_handle_at): the opened
 * file's own path is filtered and reported at the exit (see emit_resolved). */
#define RESOLVE_AT_EXIT 0x100

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct pending_open);
} PENDING_OPEN SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct aibom_event);
} PENDING_EXEC SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} TRACKED SEC(".maps");

/* Host mode: tgid -> the tgid of the `aibomd run` that traces it (itself for the run), or
 * 0 for a run that hands over only itself (its own reads of the files it identifies, not
 * its command). Written by `aibomd run` through the pinned map; deferred tgids are not
 * traced here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} DEFERRED SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct aibom_prefix_key);
	__type(value, __u8);
} PREFIX_RULES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct aibom_suffix_key);
	__type(value, __u8);
} SUFFIX_RULES SEC(".maps");

/* Store folders (`.cache/kagglehub/`, ...) as written, matched against the 32 bytes that
 * follow any '/' of a path (see in_store_dir). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct aibom_suffix_key);
	__type(value, __u8);
} STORE_DIRS SEC(".maps");

/* Files whose identity a `kill` policy rule denied: a process that opens one is sent
 * SIGKILL as the open returns, before it can read a byte (filled by userspace). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct aibom_kill_key);
	__type(value, __u8);
} KILL_INODES SEC(".maps");

/* Syscall tracepoint contexts (layout of tracefs `format`, stable ABI). */
struct sys_enter_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 args[6];
};

struct sys_exit_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__s64 ret;
};

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&STATS, &idx);
	if (v)
		*v += 1;
}

/* MAX_PID_NS_LEVEL: pid namespaces nest at most this deep. */
#define AIBOM_PIDNS_LEVELS 32

/* The number `p` has in the namespace `pidns_inum`; 0 when it has none there (the
 * process lives above it or beside it). */
static __always_inline __u32 nr_in_pidns(struct pid *p)
{
	if (!p)
		return 0;
	__u32 level = BPF_CORE_READ(p, level);
	char *numbers = (char *)p + bpf_core_field_offset(struct pid, numbers);
	__u32 size = bpf_core_type_size(struct upid);
	for (__u32 i = 0; i < AIBOM_PIDNS_LEVELS && i <= level; i++) {
		struct upid *u = (struct upid *)(numbers + i * size);
		if (BPF_CORE_READ(u, ns, ns.inum) == pidns_inum)
			return BPF_CORE_READ(u, nr);
	}
	return 0;
}

/* The process id of `t` as the daemon's /proc shows it; 0: not visible there. */
static __always_inline __u32 tgid_of(struct task_struct *t)
{
	if (!pidns_inum)
		return BPF_CORE_READ(t, tgid);
	return nr_in_pidns(BPF_CORE_READ(t, group_leader, thread_pid));
}

/* The current process's id as the daemon's /proc shows it; 0: not visible there. */
static __always_inline __u32 current_tgid(void)
{
	if (!pidns_inum)
		return bpf_get_current_pid_tgid() >> 32;
	return tgid_of((struct task_struct *)bpf_get_current_task());
}

/* `tgid`: from current_tgid/tgid_of. */
static __always_inline int is_traced(__u32 tgid)
{
	if (tgid == 0 || tgid == self_tgid)
		return 0;
	if (!follow_mode)
		return !defer_enabled || bpf_map_lookup_elem(&DEFERRED, &tgid) == 0;
	return bpf_map_lookup_elem(&TRACKED, &tgid) != 0;
}

static __always_inline struct aibom_event *scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&SCRATCH, &zero);
}

/* Content-addressed store blobs (Ollama: `…/blobs/sha256-<64 hex>`) have no suffix. They are
 * kept by their shape, checked at a fixed offset from the end: `blobs/sha256-` preceded by
 * '/' (or starting the path), then exactly 64 lowercase hex digits. No scan of the path
 * and no per-user prefix ($OLLAMA_MODELS can be anywhere, every home has its own store);
 * nothing but a content-addressed store names files so, and the first mismatching byte
 * ends the check for every other suffix-less path. Twin: `filter::is_store_blob`. */
#define STORE_BLOB_MARK_LEN 13 /* "blobs/sha256-" */
#define STORE_BLOB_LEN (STORE_BLOB_MARK_LEN + 64)

static __always_inline int is_store_blob(struct aibom_event *e, long n)
{
	const char mark[STORE_BLOB_MARK_LEN + 1] = "blobs/sha256-";
	if (!store_blobs || n < STORE_BLOB_LEN)
		return 0;
	long at = n - STORE_BLOB_LEN;
	if (at > 0 && e->path[(at - 1) & (AIBOM_PATH_MAX - 1)] != '/')
		return 0;
#pragma unroll
	for (int i = 0; i < STORE_BLOB_MARK_LEN; i++)
		if (e->path[(at + i) & (AIBOM_PATH_MAX - 1)] != mark[i])
			return 0;
#pragma unroll
	for (int i = STORE_BLOB_MARK_LEN; i < STORE_BLOB_LEN; i++) {
		char c = e->path[(at + i) & (AIBOM_PATH_MAX - 1)];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

/* Suffix-less files inside known store folders (KaggleHub, ModelScope, LM Studio, PyTorch
 * Hub checkpoints, NIM; the list comes from the config). A path is kept when its last
 * component has no '.' and a store folder follows one of the '/' before it. Matching after
 * any '/' rather than at the start is what makes `/home/ann/.cache/kagglehub/` match the
 * same entry as `/root/.cache/kagglehub/`: no per-user prefix. Cost: the last 32 bytes are
 * already at hand (reversed, in the suffix key), so a name with a '.' there is dismissed
 * at once (most of a program's opens: sources, libraries, data files); only a dot-less name
 * walks the folder part, 8 bytes per bpf_loop step, with one LPM lookup per '/' (the next
 * 32 bytes as key, prefixlen clipped to the bytes left so stale bytes past the NUL never
 * match). A dot-less tail longer than 32 bytes is walked back by a bpf_loop too. bpf_loop
 * callbacks are verified once, whatever the path length. Twin: `filter::in_store_dir`. */
#define STORE_STEP 8

struct store_ctx {
	struct aibom_event *e;
	long n;      /* path length */
	long from;   /* where the backward walk starts */
	long last;   /* index of the last '/', -1 when none */
	int dotted;  /* the last component has a '.' */
	int found;
	char tail[AIBOM_SUFFIX_KEY_LEN]; /* the last bytes of the path, reversed */
};

/* One byte of the reversed tail: a '.' ends the check, a '/' ends the name. A callback,
 * not an unrolled loop: each byte's outcome would otherwise be a state of its own for
 * the verifier (the inlined loop cost ~0.8 s per program that filters). */
static long tail_step(__u32 i, void *data)
{
	struct store_ctx *x = data;
	if ((long)i >= x->n)
		return 1;
	char c = x->tail[i & (AIBOM_SUFFIX_KEY_LEN - 1)];
	if (c == '.') {
		x->dotted = 1;
		return 1;
	}
	if (c == '/') {
		x->last = x->n - 1 - (long)i;
		return 1;
	}
	return 0;
}

static long name_step(__u32 i, void *data)
{
	struct store_ctx *x = data;
	long at = x->from - (long)i;
	if (at < 0)
		return 1;
	char c = x->e->path[at & (AIBOM_PATH_MAX - 1)];
	if (c == '/') {
		x->last = at;
		return 1;
	}
	if (c == '.') {
		x->dotted = 1;
		return 1;
	}
	return 0;
}

static long dir_step(__u32 j, void *data)
{
	struct store_ctx *x = data;
	long base = (long)j * STORE_STEP;
#pragma unroll
	for (int k = 0; k < STORE_STEP; k++) {
		long i = base + k;
		if (i >= x->last)
			return 1;
		if (x->e->path[i & (AIBOM_PATH_MAX - 1)] == '/') {
			long rest = x->n - (i + 1);
			struct aibom_suffix_key key = {};
			key.prefixlen = (rest < AIBOM_SUFFIX_KEY_LEN ? rest : AIBOM_SUFFIX_KEY_LEN) * 8;
			bpf_probe_read_kernel(key.data, AIBOM_SUFFIX_KEY_LEN,
					      &x->e->path[(i + 1) & (AIBOM_PATH_MAX - 1)]);
			if (bpf_map_lookup_elem(&STORE_DIRS, &key)) {
				x->found = 1;
				return 1;
			}
		}
	}
	return 0;
}

/* `tail` holds the last min(n, 32) bytes of the path reversed (the suffix key). */
static __always_inline int in_store_dir(struct aibom_event *e, long n,
					const struct aibom_suffix_key *tail)
{
	if (!store_dirs)
		return 0;
	struct store_ctx x = { .e = e, .n = n, .last = -1 };
	__builtin_memcpy(x.tail, tail->data, AIBOM_SUFFIX_KEY_LEN);
	bpf_loop(AIBOM_SUFFIX_KEY_LEN, tail_step, &x, 0);
	if (x.dotted)
		return 0;
	if (x.last < 0) {
		if (n <= AIBOM_SUFFIX_KEY_LEN)
			return 0; /* no '/' at all */
		x.from = n - 1 - AIBOM_SUFFIX_KEY_LEN;
		bpf_loop(x.from + 1, name_step, &x, 0);
		if (x.dotted)
			return 0;
	}
	if (x.last <= 0)
		return 0;
	bpf_loop((x.last + STORE_STEP - 1) / STORE_STEP, dir_step, &x, 0);
	return x.found;
}

#define PATH_AT(e, i) ((e)->path[(i) & (AIBOM_PATH_MAX - 1)])

/* Digits (1 to 10) at e->path[at] followed by '/', else 0. */
static __always_inline int digits_then_slash(struct aibom_event *e, int at)
{
	int d = 0;
#pragma unroll
	for (int i = 0; i < 10; i++) {
		char c = PATH_AT(e, at + i);
		if (c < '0' || c > '9')
			break;
		d++;
	}
	return d > 0 && PATH_AT(e, at + d) == '/' ? d : 0;
}

/* Where the rest of a /proc process path starts ("/fd/3" of "/proc/PID/task/TID/fd/3"),
 * when e->path is "/proc/PID/…" or "/proc/self/…", either followed by "task/TID/…";
 * else 0. Such a path is looked up as "/proc/self" + the rest: another process's (or
 * thread's) magic links resolve like the opener's own. */
static __always_inline int proc_link_rest(struct aibom_event *e)
{
	if (e->path[0] != '/' || e->path[1] != 'p' || e->path[2] != 'r' || e->path[3] != 'o' ||
	    e->path[4] != 'c' || e->path[5] != '/')
		return 0;
	int at;
	if (e->path[6] == 's' && e->path[7] == 'e' && e->path[8] == 'l' && e->path[9] == 'f' &&
	    e->path[10] == '/') {
		at = 10;
	} else {
		int d = digits_then_slash(e, 6);
		if (!d)
			return 0;
		at = 6 + d;
	}
	if (PATH_AT(e, at + 1) == 't' && PATH_AT(e, at + 2) == 'a' && PATH_AT(e, at + 3) == 's' &&
	    PATH_AT(e, at + 4) == 'k' && PATH_AT(e, at + 5) == '/') {
		int d = digits_then_slash(e, at + 6);
		if (!d)
			return 0;
		at += 6 + d;
	}
	return at;
}

/* proc_link_rest() on the per-CPU scratch event's path. A global function, verified once
 * on its own: inlined, its digit loops multiplied the states of the filter it feeds
 * (~0.45 s more verification at every start). */
__attribute__((noinline)) int scratch_proc_link_rest(void)
{
	struct aibom_event *e = scratch();
	if (!e)
		return 0;
	return proc_link_rest(e);
}

/* Decide on a path already read into e->path (len includes the NUL). */
static __always_inline int path_matches(struct aibom_event *e, long len)
{
	long n = len - 1;
	if (n <= 0 || n >= AIBOM_PATH_MAX)
		return 0;

	if (e->path[0] == '/') {
		struct aibom_prefix_key pk = {};
		long kn = n;
		int rest = scratch_proc_link_rest();
		if (rest > 0 && rest < 64) {
			__builtin_memcpy(pk.data, "/proc/self", 10);
			bpf_probe_read_kernel(&pk.data[10], AIBOM_PREFIX_KEY_LEN - 10,
					      &e->path[rest & (AIBOM_PATH_MAX - 1)]);
			kn = n - rest + 10;
		} else {
			__builtin_memcpy(pk.data, e->path, AIBOM_PREFIX_KEY_LEN);
		}
		pk.prefixlen = (kn < AIBOM_PREFIX_KEY_LEN ? kn : AIBOM_PREFIX_KEY_LEN) * 8;
		__u8 *rule = bpf_map_lookup_elem(&PREFIX_RULES, &pk);
		if (rule) {
			if (*rule == AIBOM_RULE_KEEP)
				return 1;
			if (*rule == AIBOM_RULE_DROP)
				return 0;
			if (*rule == AIBOM_RULE_RESOLVE)
				return 2;
		}
	}

	struct aibom_suffix_key sk = {};
	sk.prefixlen = (n < AIBOM_SUFFIX_KEY_LEN ? n : AIBOM_SUFFIX_KEY_LEN) * 8;
#pragma unroll
	for (int i = 0; i < AIBOM_SUFFIX_KEY_LEN; i++) {
		if (i < n) {
			char c = e->path[(n - 1 - i) & (AIBOM_PATH_MAX - 1)];
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			sk.data[i] = c;
		}
	}
	__u8 *rule = bpf_map_lookup_elem(&SUFFIX_RULES, &sk);
	if (rule && *rule == AIBOM_RULE_KEEP)
		return 1;
	return is_store_blob(e, n) || in_store_dir(e, n, &sk);
}

/* path_matches() on the per-CPU scratch event's path of `len` bytes (with its NUL). A
 * global function: verified once on its own instead of once per program that filters
 * (inlined in six programs, the filter's unrolled loops and store-folder walk took the
 * verifier ~0.8 s each, and past its budget in the io_uring one). */
__attribute__((noinline)) int scratch_path_matches(long len)
{
	struct aibom_event *e = scratch();
	if (!e)
		return 0;
	return path_matches(e, len);
}

static __always_inline void fill_header(struct aibom_event *e, __u32 kind, __u32 syscall)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->kind = kind;
	e->syscall = syscall;
	e->pid = (__u32)id;
	e->tgid = current_tgid();
	e->ppid = tgid_of(BPF_CORE_READ(task, real_parent));
	e->uid = (__u32)ug;
	e->gid = ug >> 32;
	e->ino = 0;
	e->dev = 0;
	e->size = 0;
	e->mtime_sec = 0;
	e->mtime_nsec = 0;
	e->i_mode = 0;
	e->ret = 0;
	e->flags = 0;
	e->dirfd = 0;
	e->path_len = 0;
	e->dpath_len = 0;
	e->dpath_flags = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline void emit(struct aibom_event *e)
{
	__u32 len = e->path_len;
	if (len > AIBOM_PATH_MAX)
		len = AIBOM_PATH_MAX;
	__u32 dlen = e->dpath_len;
	if (dlen > AIBOM_PATH_MAX)
		dlen = AIBOM_PATH_MAX;
	len += dlen;
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&EVENTS, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
		stat_inc(AIBOM_STAT_WAKEUPS);
	}
	if (bpf_ringbuf_output(&EVENTS, e, AIBOM_EVENT_HDR_SIZE + len, flags) < 0)
		stat_inc(AIBOM_STAT_RB_DROPPED);
	else
		stat_inc(AIBOM_STAT_EMITTED);
}

/* ---- opens ---- */

/* Keeps what the exit of the current thread's open needs (PENDING_OPEN). */
static __always_inline void remember_open(__u64 filename, __u64 flags, __s32 dirfd, __u32 syscall)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_open p = {
		.filename = filename,
		.flags = flags,
		.dirfd = dirfd,
		.syscall = syscall,
	};
	bpf_map_update_elem(&PENDING_OPEN, &id, &p, BPF_ANY);
}

/* Takes (and forgets) what remember_open kept for the current thread; 0 when nothing. */
static __always_inline int take_open(struct pending_open *out)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_open *pp = bpf_map_lookup_elem(&PENDING_OPEN, &id);
	if (!pp)
		return 0;
	*out = *pp;
	bpf_map_delete_elem(&PENDING_OPEN, &id);
	return 1;
}

static __always_inline int open_enter(__s32 dirfd, const char *filename, __u64 flags, __u32 syscall)
{
	if (!is_traced(current_tgid()))
		return 0;
	stat_inc(AIBOM_STAT_OPEN_SEEN);

	struct aibom_event *e = scratch();
	if (!e)
		return 0;
	long len = bpf_probe_read_user_str(e->path, AIBOM_PATH_MAX, filename);
	int m = (flags & O_DIRECTORY_FLAG) ? 0 : scratch_path_matches(len);
	if (!m) {
		stat_inc(AIBOM_STAT_OPEN_FILTERED);
		return 0;
	}
	remember_open((__u64)filename, flags, dirfd, syscall | (m == 2 ? RESOLVE_AT_EXIT : 0));
	return 0;
}

/* Size, mtime and mode of `ino` as the kernel has them at open: userspace then needs no
 * stat(2) of its own (and sees the version that was opened, even if it changes later). */
static __always_inline void inode_meta(struct aibom_event *e, struct inode *ino)
{
	if (bpf_core_field_exists(((struct inode___v611 *)0)->i_mtime_sec)) {
		struct inode___v611 *i = (void *)ino;
		e->mtime_sec = BPF_CORE_READ(i, i_mtime_sec);
		e->mtime_nsec = BPF_CORE_READ(i, i_mtime_nsec);
	} else if (bpf_core_field_exists(((struct inode___v67 *)0)->__i_mtime)) {
		struct inode___v67 *i = (void *)ino;
		e->mtime_sec = BPF_CORE_READ(i, __i_mtime.tv_sec);
		e->mtime_nsec = BPF_CORE_READ(i, __i_mtime.tv_nsec);
	} else if (bpf_core_field_exists(((struct inode___v0 *)0)->i_mtime)) {
		struct inode___v0 *i = (void *)ino;
		e->mtime_sec = BPF_CORE_READ(i, i_mtime.tv_sec);
		e->mtime_nsec = BPF_CORE_READ(i, i_mtime.tv_nsec);
	} else {
		return; /* unknown layout: userspace stats the file */
	}
	e->size = BPF_CORE_READ(ino, i_size);
	e->i_mode = (__u32)BPF_CORE_READ(ino, i_mode) | AIBOM_META_OK;
}

/* Inode and device of fd `fd` of the current task (0 when unavailable); returns the file. */
static __always_inline struct file *fd_file(struct aibom_event *e, long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return 0;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || fd >= max)
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	if (ino) {
		e->ino = BPF_CORE_READ(ino, i_ino);
		e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
		inode_meta(e, ino);
	}
	return f;
}

struct walk_ctx {
	struct dentry *d;
	struct mount *mnt;
	struct dpath_buf *b;
	__u32 off;   /* start of what is built so far in b->buf */
	__u32 flags; /* AIBOM_DPATH_* */
};

/* One step of the dentry walk (bpf_loop callback: verified once, not per iteration). */
static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct dentry *d = c->d;
	struct mount *mnt = c->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt) {
			c->flags = 0; /* reached the root of the mount tree */
			return 1;
		}
		c->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = mp;
		return 0;
	}
	if (d == parent) {
		c->flags = 0; /* root of a detached filesystem */
		return 1;
	}
	__u32 len = BPF_CORE_READ(d, d_name.hash_len) >> 32;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 off = c->off;
	len &= 255;
	if (len + 1 > off)
		return 1; /* too long: stays flagged truncated */
	off -= len;
	bpf_probe_read_kernel(&c->b->buf[off & (AIBOM_PATH_MAX - 1)], len, name);
	off -= 1;
	c->b->buf[off & (AIBOM_PATH_MAX - 1)] = '/';
	c->off = off;
	c->d = parent;
	return 0;
}

/* Appends to e->path (after the path as passed) the absolute path of `f`, by walking its
 * dentries and mounts up to the root, as the kernel's d_path() does. Used for relative
 * opens: userspace cannot always resolve them later (the process may have moved or gone). */
static __always_inline void append_dentry_path(struct aibom_event *e, struct file *f)
{
	__u32 zero = 0;
	struct walk_ctx c = {};
	c.b = bpf_map_lookup_elem(&DPATH, &zero);
	if (!c.b)
		return;
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	c.d = BPF_CORE_READ(f, f_path.dentry);
	c.mnt = (struct mount *)((char *)vm - bpf_core_field_offset(struct mount, mnt));
	c.off = AIBOM_PATH_MAX - 1; /* the NUL goes last */
	c.flags = AIBOM_DPATH_TRUNCATED;
	c.b->buf[AIBOM_PATH_MAX - 1] = 0;
	bpf_loop(AIBOM_DPATH_DEPTH, walk_step, &c, 0);

	__u32 off = c.off;
	if (off == AIBOM_PATH_MAX - 1) {
		/* the file is the root itself */
		off -= 1;
		c.b->buf[off & (AIBOM_PATH_MAX - 1)] = '/';
	}
	__u32 dlen = AIBOM_PATH_MAX - off; /* with the NUL */
	__u32 at = e->path_len;
	if (at > AIBOM_PATH_MAX)
		at = AIBOM_PATH_MAX;
	if (dlen > AIBOM_PATH_MAX - 1)
		return;
	/* keep clang from dropping the masks the verifier needs to bound the copy */
	asm volatile("" : "+r"(dlen), "+r"(at), "+r"(off));
	bpf_probe_read_kernel(&e->path[at & (AIBOM_PATH_AREA - 1)], dlen & (AIBOM_PATH_MAX - 1),
			      &c.b->buf[off & (AIBOM_PATH_MAX - 1)]);
	e->dpath_len = dlen;
	e->dpath_flags = c.flags;
}

/* A `kill` policy rule denied the opened file (its identity is in KILL_INODES): the
 * opener gets SIGKILL as the open returns, before it runs another instruction. */
static __always_inline void kill_if_denied(struct aibom_event *e)
{
	if (!e->ino)
		return;
	struct aibom_kill_key k = { .dev = e->dev, .ino = e->ino };
	if (bpf_map_lookup_elem(&KILL_INODES, &k)) {
		bpf_send_signal(9 /* SIGKILL */);
		stat_inc(AIBOM_STAT_KILLED);
	}
}

/* An open that named no file of its own (a handle, a /proc magic link) made descriptor
 * `fd`: the file's absolute path from its dentries stands as the path passed, filtered as
 * one, then the event is sent. */
static __always_inline int emit_resolved(struct aibom_event *e, long fd)
{
	struct file *f = fd_file(e, fd);
	if (!f)
		return 0;
	e->path_len = 0;
	append_dentry_path(e, f);
	__u32 n = e->dpath_len;
	if (n == 0 || (e->dpath_flags & AIBOM_DPATH_TRUNCATED) || scratch_path_matches(n) != 1) {
		stat_inc(AIBOM_STAT_OPEN_FILTERED);
		return 0;
	}
	e->path_len = n;
	e->dpath_len = 0;
	e->dpath_flags = 0;
	kill_if_denied(e);
	emit(e);
	return 0;
}

static __always_inline int open_exit(long ret)
{
	struct pending_open p;
	if (!take_open(&p))
		return 0;

	if (ret < 0) {
		stat_inc(AIBOM_STAT_OPEN_FAILED);
		if (!report_failed || (p.syscall & RESOLVE_AT_EXIT))
			return 0;
	}
	struct aibom_event *e = scratch();
	if (!e)
		return 0;
	fill_header(e, AIBOM_KIND_OPEN, p.syscall & ~RESOLVE_AT_EXIT);
	e->ret = ret;
	e->flags = p.flags;
	e->dirfd = p.dirfd;
	if (p.syscall & RESOLVE_AT_EXIT)
		return emit_resolved(e, ret);
	long len = bpf_probe_read_user_str(e->path, AIBOM_PATH_MAX, (const char *)p.filename);
	e->path_len = len > 0 ? len : 0;
	if (ret >= 0) {
		struct file *f = fd_file(e, ret);
		if (f && e->path_len > 0 && e->path[0] != '/')
			append_dentry_path(e, f);
		kill_if_denied(e);
	}
	emit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int sys_enter_openat(struct sys_enter_ctx *ctx)
{
	return open_enter((__s32)ctx->args[0], (const char *)ctx->args[1], ctx->args[2], AIBOM_SYS_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int sys_exit_openat(struct sys_exit_ctx *ctx)
{
	return open_exit(ctx->ret);
}

/* openat2(dirfd, filename, how, size): the flags are in the user's struct open_how.
 * `syscall`: AIBOM_SYS_OPENAT2, or'ed with AIBOM_SYS_IA32 for the compat call. */
static __always_inline int openat2_enter(__s32 dirfd, const char *filename, const void *how_ptr,
					 __u32 syscall)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), how_ptr);
	return open_enter(dirfd, filename, how.flags, syscall);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int sys_enter_openat2(struct sys_enter_ctx *ctx)
{
	return openat2_enter((__s32)ctx->args[0], (const char *)ctx->args[1],
			     (const void *)ctx->args[2], AIBOM_SYS_OPENAT2);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int sys_exit_openat2(struct sys_exit_ctx *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_open")
int sys_enter_open(struct sys_enter_ctx *ctx)
{
	return open_enter(-100, (const char *)ctx->args[0], ctx->args[1], AIBOM_SYS_OPEN);
}

SEC("tracepoint/syscalls/sys_exit_open")
int sys_exit_open(struct sys_exit_ctx *ctx)
{
	return open_exit(ctx->ret);
}

/* creat(filename, mode): open with O_CREAT | O_WRONLY | O_TRUNC from the cwd. */
static __always_inline int creat_enter(const char *filename, __u32 syscall)
{
	return open_enter(-100, filename, O_CREAT_FLAG | O_WRONLY_FLAG | O_TRUNC_FLAG, syscall);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int sys_enter_creat(struct sys_enter_ctx *ctx)
{
	return creat_enter((const char *)ctx->args[0], AIBOM_SYS_CREAT);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int sys_exit_creat(struct sys_exit_ctx *ctx)
{
	return open_exit(ctx->ret);
}

/* ---- execs: the path is copied at enter, because a successful exec replaces the
 * memory it points into; the event is emitted at exit only when the exec succeeded. */

static __always_inline int exec_enter(__s32 dirfd, const char *filename, __u64 flags, __u32 syscall)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!is_traced(current_tgid()))
		return 0;
	struct aibom_event *e = scratch();
	if (!e)
		return 0;
	fill_header(e, AIBOM_KIND_EXEC, syscall);
	e->dirfd = dirfd;
	e->flags = flags;
	long len = bpf_probe_read_user_str(e->path, AIBOM_PATH_MAX, filename);
	e->path_len = len > 0 ? len : 0;
	bpf_map_update_elem(&PENDING_EXEC, &id, e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int sys_enter_execve(struct sys_enter_ctx *ctx)
{
	return exec_enter(-100, (const char *)ctx->args[0], 0, AIBOM_SYS_EXECVE);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int sys_enter_execveat(struct sys_enter_ctx *ctx)
{
	return exec_enter((__s32)ctx->args[0], (const char *)ctx->args[1], ctx->args[4], AIBOM_SYS_EXECVEAT);
}

static __always_inline int exec_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aibom_event *e = bpf_map_lookup_elem(&PENDING_EXEC, &id);
	if (!e)
		return 0;
	if (ret == 0) {
		stat_inc(AIBOM_STAT_EXEC_SEEN);
		e->ts_ns = bpf_ktime_get_boot_ns();
		e->ret = 0;
		/* the comm of the new image */
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		emit(e);
	}
	bpf_map_delete_elem(&PENDING_EXEC, &id);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int sys_exit_execve(struct sys_exit_ctx *ctx)
{
	return exec_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int sys_exit_execveat(struct sys_exit_ctx *ctx)
{
	return exec_exit(ctx->ret);
}

/* ---- process lifetime ---- */

/* raw_tracepoint/sched_process_fork: args[0] = parent task, args[1] = child task.
 * A raw tracepoint because the sched tracepoints' field layout changes between kernels. */
SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	if (!follow_mode && !defer_enabled)
		return 0;
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ptgid = tgid_of(parent);
	if (!ptgid)
		return 0;
	/* follow mode: TRACKED; host mode: DEFERRED (the child stays with the run) */
	__u32 *run = follow_mode ? 0 : bpf_map_lookup_elem(&DEFERRED, &ptgid);
	if (follow_mode ? !bpf_map_lookup_elem(&TRACKED, &ptgid) : !run)
		return 0;
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a new thread of a tracked process */
	__u32 ctgid = tgid_of(child);
	if (!ctgid)
		return 0;
	if (run) {
		__u32 r = *run;
		if (r) /* 0: the run itself only (its own reads), not what it starts */
			bpf_map_update_elem(&DEFERRED, &ctgid, &r, BPF_ANY);
		return 0;
	}
	__u8 one = 1;
	bpf_map_update_elem(&TRACKED, &ctgid, &one, BPF_ANY);
	return 0;
}

/* bpf_for_each_map_elem callback: drops the entries of the run whose tgid is `ctx`. */
static long undefer_step(void *map, __u32 *tgid, __u32 *run, void *ctx)
{
	if (*run == *(__u32 *)ctx)
		bpf_map_delete_elem(map, tgid);
	return 0;
}

/* Host mode, a process exits: it leaves DEFERRED; when it is a deferring run (its entry
 * names itself), every process it deferred is traced here again. */
static __always_inline void undefer(__u32 tgid)
{
	__u32 *run = bpf_map_lookup_elem(&DEFERRED, &tgid);
	if (!run)
		return;
	__u32 r = *run;
	bpf_map_delete_elem(&DEFERRED, &tgid);
	if (r == tgid)
		bpf_for_each_map_elem(&DEFERRED, undefer_step, &r, 0);
}

SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)id != id >> 32)
		return 0; /* a thread, not the process */
	__u32 tgid = current_tgid();
	int traced = is_traced(tgid);
	if (!follow_mode && defer_enabled)
		undefer(tgid);
	if (!traced)
		return 0;
	struct aibom_event *e = scratch();
	if (e) {
		fill_header(e, AIBOM_KIND_EXIT, AIBOM_SYS_EXIT);
		emit(e);
	}
	if (follow_mode)
		bpf_map_delete_elem(&TRACKED, &tgid);
	return 0;
}

#include "api.bpf.h"
#include "indirect.bpf.h"
#include "compat.bpf.h"
#include "renames.bpf.h"
