/* Opens that pass no path through a syscall argument the open tracepoints read:
 *
 * - open_by_handle_at(2): a file handle names the file. The opened file's absolute path is
 *   built from its dentries at the exit (as for relative opens) and filtered then.
 * - io_uring IORING_OP_OPENAT / IORING_OP_OPENAT2: the request is submitted with
 *   io_uring_enter(2) (or by a polling kernel thread) and may run on an io-wq worker. At
 *   `io_uring_submit_req` (after the request's prep copied the name into the kernel) the
 *   name is read, filtered and kept by request; at `io_uring_complete` of that request the
 *   event is sent with the result, under the submitter's identity. The request's command
 *   data (`struct io_open`) sits at offset 0 of `struct io_kiocb` in every kernel with
 *   io_uring opens (a union before 6.0, `cmd` since). The tracepoints' field offsets are
 *   not ABI: userspace checks them in tracefs before attaching these two programs.
 *
 * Included at the end of aibom.bpf.c. */
#pragma once

#define IORING_OP_OPENAT 18
#define IORING_OP_OPENAT2 28

/* An io_uring open between its submission and its completion. */
struct pending_uring {
	__u64 flags;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__s32 dirfd;
	__u32 syscall;
	__u32 fixed; /* opened into a fixed-file slot: the result is no descriptor */
	__u32 path_len;
	char comm[AIBOM_COMM_LEN];
	char path[AIBOM_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256); /* in-flight io_uring opens of matching paths */
	__type(key, __u64);        /* the request (struct io_kiocb *) */
	__type(value, struct pending_uring);
} PENDING_URING SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending_uring);
} URING_SCRATCH SEC(".maps");

/* tracefs layouts of the two io_uring tracepoints (checked by userspace) */
struct uring_submit_ctx {
	__u64 common;
	__u64 ring;
	__u64 req;
	__u64 user_data;
	__u8 opcode;
};

struct uring_complete_ctx {
	__u64 common;
	__u64 ring;
	__u64 req;
	__u64 user_data;
	__s32 res;
};

/* open_by_handle_at(mount_fd, handle, flags). No name: the handle says which file,
 * resolved at the exit like a /proc magic link (a failure is only counted: there is no
 * name to report). `syscall`: AIBOM_SYS_OPEN_BY_HANDLE_AT, or'ed with AIBOM_SYS_IA32. */
static __always_inline int open_by_handle_enter(__s32 mount_fd, __u64 flags, __u32 syscall)
{
	if (!is_traced(current_tgid()))
		return 0;
	stat_inc(AIBOM_STAT_OPEN_SEEN);
	remember_open(0, flags, mount_fd, syscall | RESOLVE_AT_EXIT);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open_by_handle_at")
int sys_enter_open_by_handle_at(struct sys_enter_ctx *ctx)
{
	return open_by_handle_enter((__s32)ctx->args[0], ctx->args[2],
				    AIBOM_SYS_OPEN_BY_HANDLE_AT);
}

SEC("tracepoint/syscalls/sys_exit_open_by_handle_at")
int sys_exit_open_by_handle_at(struct sys_exit_ctx *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/io_uring/io_uring_submit_req")
int io_uring_submit_req(struct uring_submit_ctx *ctx)
{
	__u8 op = ctx->opcode;
	if (op != IORING_OP_OPENAT && op != IORING_OP_OPENAT2)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	if (!is_traced(current_tgid()))
		return 0;
	stat_inc(AIBOM_STAT_OPEN_SEEN);
	struct io_open *o = (struct io_open *)ctx->req;
	const char *name = BPF_CORE_READ(o, filename, name);
	struct aibom_event *e = scratch();
	__u32 zero = 0;
	struct pending_uring *p = bpf_map_lookup_elem(&URING_SCRATCH, &zero);
	if (!e || !p || !name)
		return 0;
	long len = bpf_probe_read_kernel_str(e->path, AIBOM_PATH_MAX, name);
	__u64 flags = BPF_CORE_READ(o, how.flags);
	if ((flags & O_DIRECTORY_FLAG) || !scratch_path_matches(len)) {
		stat_inc(AIBOM_STAT_OPEN_FILTERED);
		return 0;
	}
	__u64 ug = bpf_get_current_uid_gid();
	p->flags = flags;
	p->pid = (__u32)id;
	p->uid = (__u32)ug;
	p->gid = ug >> 32;
	p->dirfd = BPF_CORE_READ(o, dfd);
	p->syscall = op == IORING_OP_OPENAT ? AIBOM_SYS_IO_URING_OPENAT : AIBOM_SYS_IO_URING_OPENAT2;
	p->fixed = bpf_core_field_exists(o->file_slot) ? BPF_CORE_READ(o, file_slot) != 0 : 0;
	p->path_len = len;
	bpf_get_current_comm(p->comm, sizeof(p->comm));
	bpf_probe_read_kernel_str(p->path, AIBOM_PATH_MAX, name);
	__u64 key = ctx->req;
	bpf_map_update_elem(&PENDING_URING, &key, p, BPF_ANY);
	return 0;
}

SEC("tracepoint/io_uring/io_uring_complete")
int io_uring_complete(struct uring_complete_ctx *ctx)
{
	__u64 key = ctx->req;
	struct pending_uring *p = bpf_map_lookup_elem(&PENDING_URING, &key);
	if (!p)
		return 0;
	long ret = ctx->res;
	if (ret < 0) {
		stat_inc(AIBOM_STAT_OPEN_FAILED);
		if (!report_failed) {
			bpf_map_delete_elem(&PENDING_URING, &key);
			return 0;
		}
	}
	struct aibom_event *e = scratch();
	if (!e) {
		bpf_map_delete_elem(&PENDING_URING, &key);
		return 0;
	}
	fill_header(e, AIBOM_KIND_OPEN, p->syscall);
	/* the submitter, not the io-wq worker that may have run the open */
	e->pid = p->pid;
	e->uid = p->uid;
	e->gid = p->gid;
	__builtin_memcpy(e->comm, p->comm, AIBOM_COMM_LEN);
	e->ret = ret;
	e->flags = p->flags;
	e->dirfd = p->dirfd;
	__u32 len = p->path_len;
	if (len > AIBOM_PATH_MAX)
		len = AIBOM_PATH_MAX;
	/* the whole buffer: a masked length would copy nothing of a 4095-byte name */
	bpf_probe_read_kernel(e->path, AIBOM_PATH_MAX, p->path);
	e->path_len = len;
	__u32 fixed = p->fixed;
	bpf_map_delete_elem(&PENDING_URING, &key);
	if (ret >= 0 && !fixed) {
		/* workers share the submitter's descriptor table */
		struct file *f = fd_file(e, ret);
		if (f && e->path_len > 0 && e->path[0] != '/')
			append_dentry_path(e, f);
		kill_if_denied(e);
	}
	emit(e);
	return 0;
}
