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

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
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

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct files_struct *files;
};

struct open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

#pragma clang attribute pop
