/* Wire format of one event in the `EVENTS` ring buffer.
 * Mirrored by `daemon/src/tracer/ebpf/wire.rs`; a unit test there checks the size and offsets.
 */
#pragma once
#include <linux/types.h>

#define AIBOM_PATH_MAX 4096
#define AIBOM_COMM_LEN 16
#define AIBOM_PATH_AREA (2 * AIBOM_PATH_MAX)
#define AIBOM_DPATH_DEPTH 48 /* path components the dentry walk follows */

/* event kinds */
#define AIBOM_KIND_OPEN 1
#define AIBOM_KIND_EXEC 2
#define AIBOM_KIND_EXIT 3

/* syscalls, as reported in `syscall` */
#define AIBOM_SYS_OPENAT 1
#define AIBOM_SYS_OPENAT2 2
#define AIBOM_SYS_OPEN 3
#define AIBOM_SYS_CREAT 4
#define AIBOM_SYS_EXECVE 5
#define AIBOM_SYS_EXECVEAT 6
#define AIBOM_SYS_EXIT 7
#define AIBOM_SYS_OPEN_BY_HANDLE_AT 8
#define AIBOM_SYS_IO_URING_OPENAT 9
#define AIBOM_SYS_IO_URING_OPENAT2 10
#define AIBOM_SYS_IA32 0x80 /* | a syscall above: made through the 32-bit compat table */

/* indices of the per-CPU `STATS` array */
#define AIBOM_STAT_OPEN_SEEN 0      /* open enters of traced processes */
#define AIBOM_STAT_OPEN_FILTERED 1  /* dropped by the in-kernel path filter */
#define AIBOM_STAT_OPEN_FAILED 2    /* matching opens that returned an error */
#define AIBOM_STAT_EMITTED 3        /* events written to the ring buffer */
#define AIBOM_STAT_RB_DROPPED 4     /* events lost: ring buffer full */
#define AIBOM_STAT_EXEC_SEEN 5      /* successful execs of traced processes */
#define AIBOM_STAT_WAKEUPS 6        /* forced ring-buffer wakeups */
#define AIBOM_STAT_KILLED 7         /* processes sent SIGKILL for opening a denied file */
#define AIBOM_STAT_RENAMED_AWAY 8   /* renames/links giving a kept file a name not kept */
#define AIBOM_STAT_MAX 9

struct aibom_event {
	__u64 ts_ns;      /* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u64 ino;        /* inode of the opened file (0 if unknown) */
	__s64 ret;        /* syscall return value (fd, or -errno) */
	__u64 flags;      /* open flags (O_*), execveat flags */
	__u64 size;       /* i_size of the opened file at open (valid with AIBOM_META_OK) */
	__s64 mtime_sec;  /* its mtime, seconds (valid with AIBOM_META_OK) */
	__u32 kind;       /* AIBOM_KIND_* */
	__u32 syscall;    /* AIBOM_SYS_* */
	__u32 pid;        /* thread id (the host's numbering) */
	__u32 tgid;       /* process id, as the daemon's /proc numbers it */
	__u32 ppid;       /* parent process id, likewise (0: not visible there) */
	__u32 uid;
	__u32 gid;
	__s32 dirfd;
	__u32 dev;        /* kernel-encoded s_dev of the opened file (0 if unknown) */
	__u32 path_len;   /* bytes of the path as passed, including its NUL; 0 if unreadable */
	__u32 dpath_len;  /* bytes of the kernel-resolved path that follows it (relative opens) */
	__u32 dpath_flags; /* AIBOM_DPATH_* */
	__u32 mtime_nsec; /* its mtime, nanoseconds */
	__u32 i_mode;     /* its i_mode (file type and permissions), AIBOM_META_OK or'ed in bit 31 */
	char comm[AIBOM_COMM_LEN];
	/* the path as passed (path_len bytes), then the opened file's absolute path as the
	 * kernel's dentry tree spells it (dpath_len bytes, NUL-terminated), for relative opens */
	char path[AIBOM_PATH_AREA];
};

#define AIBOM_EVENT_HDR_SIZE (sizeof(struct aibom_event) - AIBOM_PATH_AREA)

/* set in i_mode when size, mtime and mode were read from the opened file's inode */
#define AIBOM_META_OK 0x80000000u

/* dpath_flags */
#define AIBOM_DPATH_TRUNCATED 1 /* more components than the walk follows, or too long */

/* Keys of the two LPM tries that hold the path filter. */
#define AIBOM_PREFIX_KEY_LEN 64
#define AIBOM_SUFFIX_KEY_LEN 32

struct aibom_prefix_key {
	__u32 prefixlen; /* in bits */
	__u8 data[AIBOM_PREFIX_KEY_LEN];
};

/* the suffix is stored reversed and lowercased, so a longest-prefix match finds it */
struct aibom_suffix_key {
	__u32 prefixlen; /* in bits */
	__u8 data[AIBOM_SUFFIX_KEY_LEN];
};

/* values of the rule maps */
#define AIBOM_RULE_KEEP 1
#define AIBOM_RULE_DROP 2
#define AIBOM_RULE_PASS 3 /* neither: the suffix decides */
#define AIBOM_RULE_RESOLVE 4 /* a /proc magic link: the opened file's own path decides */

/* Key of `KILL_INODES`: a file whose opening is punished with SIGKILL (policy `kill`).
 * `dev` is the kernel's `s_dev` (major << 20 | minor). */
struct aibom_kill_key {
	__u64 dev;
	__u64 ino;
};
