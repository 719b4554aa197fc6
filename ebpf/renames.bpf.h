/* Renames and links that hide a file from the filter: rename(2), link(2) or symlink(2)
 * (and their *at forms) that give a file whose name the filter keeps a new name it does
 * not keep. Opens under the new name are then not seen (the filter judges names, and
 * keeping every open to check its inode at the exit would cost every open on the host
 * ~1-2 µs), so each one is counted (AIBOM_STAT_RENAMED_AWAY, the metric
 * `aibom.tracer.renamed_away`). Renames made through io_uring or the 32-bit compat table
 * are not counted.
 *
 * Included at the end of aibom.bpf.c. */
#pragma once

/* `from` is kept by the filter and `to` is not: counted. At the enter: a failed rename
 * is counted too, and so is the one that fails with EXDEV before `mv` copies the file to
 * the new name instead (an exit program per call would also cost `aibomd run` ~70 ms
 * more at its end: detaching waits for a grace period per tracepoint). */
static __always_inline int rename_enter(const char *from, const char *to)
{
	if (!is_traced(current_tgid()))
		return 0;
	struct aibom_event *e = scratch();
	if (!e)
		return 0;
	long len = bpf_probe_read_user_str(e->path, AIBOM_PATH_MAX, from);
	if (scratch_path_matches(len) != 1)
		return 0;
	len = bpf_probe_read_user_str(e->path, AIBOM_PATH_MAX, to);
	if (scratch_path_matches(len) != 1)
		stat_inc(AIBOM_STAT_RENAMED_AWAY);
	return 0;
}

/* One enter program per call, named after its tracepoint: `from` and `to` are the
 * indices of the old and new names among the call's arguments. */
#define RENAME_ENTER(call, from, to)                                               \
	SEC("tracepoint/syscalls/sys_enter_" #call)                                \
	int sys_enter_##call(struct sys_enter_ctx *ctx)                            \
	{                                                                          \
		return rename_enter((const char *)ctx->args[from],                 \
				    (const char *)ctx->args[to]);                  \
	}

/* rename(old, new), link(old, new), symlink(target, linkpath): a symlink's target is the
 * kept name, read as the process passed it */
RENAME_ENTER(rename, 0, 1)
RENAME_ENTER(link, 0, 1)
RENAME_ENTER(symlink, 0, 1)
/* renameat(olddfd, old, newdfd, new), renameat2(…, flags), linkat(…, flags) */
RENAME_ENTER(renameat, 1, 3)
RENAME_ENTER(renameat2, 1, 3)
RENAME_ENTER(linkat, 1, 3)
/* symlinkat(target, newdfd, linkpath) */
RENAME_ENTER(symlinkat, 0, 2)
