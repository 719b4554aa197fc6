/* Minimal kernel type subset for CO-RE.
 *
 * Hand-written on purpose: it keeps the build hermetic (no bpftool run against the build
 * host's kernel). Every struct carries `preserve_access_index`, so field offsets are
 * relocated by the loader (aya) against the running kernel's BTF at load time; only the
 * fields we read are declared.
 */
#pragma once
#include <linux/types.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct super_block {
	__u32 s_dev;
};

struct timespec64 {
	__s64 tv_sec;
	long tv_nsec;
};

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
	struct super_block *i_sb;
	long long i_size;
};

/* The inode's mtime moved twice; CO-RE flavors (the `___x` suffix is ignored when the
 * loader matches names) let one object read whichever the running kernel has. */
struct inode___v611 { /* Linux >= 6.11 */
	__s64 i_mtime_sec;
	__u32 i_mtime_nsec;
};

struct inode___v67 { /* Linux 6.7 - 6.10 */
	struct timespec64 __i_mtime;
};

struct inode___v0 { /* Linux < 6.7 */
	struct timespec64 i_mtime;
};

struct qstr {
	__u64 hash_len; /* (len << 32) | hash, by definition (hashlen_create) */
	const unsigned char *name;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
};

struct vfsmount {
	struct dentry *mnt_root;
};

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct ns_common {
	unsigned int inum;
};

struct pid_namespace {
	struct ns_common ns;
};

/* A process's number in one pid namespace. */
struct upid {
	int nr;
	struct pid_namespace *ns;
};

/* numbers[0..=level]: its number in each namespace, from the host's down to its own. */
struct pid {
	unsigned int level;
	struct upid numbers[1];
};

/* x86: `status` holds TS_COMPAT while a 32-bit system call runs */
struct thread_info {
	__u32 status;
};

struct task_struct {
	struct thread_info thread_info;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	struct files_struct *files;
};

struct open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

/* io_uring: the name an IORING_OP_OPENAT(2) request opens, copied in at its prep. */
struct filename {
	const char *name;
};

struct io_open {
	struct file *file;
	int dfd;
	__u32 file_slot; /* 5.15+: a fixed-file slot (the result is then 0, not a descriptor) */
	struct filename *filename;
	struct open_how how;
};

#pragma clang attribute pop
