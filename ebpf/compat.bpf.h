/* 32-bit (ia32) system calls on x86-64: a 32-bit program, or a 64-bit one using
 * `int $0x80`, opens and execs through the compat syscall table, for which the kernel runs
 * no `syscalls:*` tracepoint (its syscall events skip compat calls on x86). The raw
 * `sys_enter`/`sys_exit` tracepoints fire for every system call, compat or not: these two
 * programs pick the compat opens and execs by number (a compare for every other call; the
 * few native calls with the same numbers also read the task's compat bit) and run the
 * native programs' enter and exit, reporting the call as `ia32_<name>` (AIBOM_SYS_IA32).
 * Arguments of an ia32 call are in ebx, ecx, edx, esi, edi; pointers are 32-bit.
 *
 * Included at the end of aibom.bpf.c; attached only when `[ebpf] compat_syscalls` is on
 * and the daemon runs on x86-64. */
#pragma once

#if defined(__TARGET_ARCH_x86)

/* arch/x86/entry/syscalls/syscall_32.tbl */
#define IA32_OPEN 5
#define IA32_CREAT 8
#define IA32_EXECVE 11
#define IA32_OPENAT 295
#define IA32_OPEN_BY_HANDLE_AT 342
#define IA32_EXECVEAT 358
#define IA32_OPENAT2 437

/* arch/x86/include/asm/thread_info.h: a 32-bit system call is running */
#define TS_COMPAT 0x0002

static __always_inline int ia32_call(long id)
{
	return id == IA32_OPEN || id == IA32_CREAT || id == IA32_EXECVE || id == IA32_OPENAT ||
	       id == IA32_OPEN_BY_HANDLE_AT || id == IA32_EXECVEAT || id == IA32_OPENAT2;
}

/* True while the current task runs a compat system call (the kernel's in_ia32_syscall). */
static __always_inline int in_ia32_syscall(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return (BPF_CORE_READ(task, thread_info.status) & TS_COMPAT) != 0;
}

/* raw_tracepoint/sys_enter: args[0] = struct pt_regs *, args[1] = syscall number. */
SEC("raw_tracepoint/sys_enter")
int compat_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long id = ctx->args[1];
	if (!ia32_call(id) || !in_ia32_syscall())
		return 0;
	struct pt_regs regs;
	if (bpf_probe_read_kernel(&regs, sizeof(regs), (void *)ctx->args[0]))
		return 0;
	__u32 a0 = regs.rbx, a1 = regs.rcx, a2 = regs.rdx, a4 = regs.rdi;
	switch (id) {
	case IA32_OPEN:
		return open_enter(-100, (const char *)(__u64)a0, a1, AIBOM_SYS_OPEN | AIBOM_SYS_IA32);
	case IA32_CREAT:
		return creat_enter((const char *)(__u64)a0, AIBOM_SYS_CREAT | AIBOM_SYS_IA32);
	case IA32_OPENAT:
		return open_enter((__s32)a0, (const char *)(__u64)a1, a2,
				  AIBOM_SYS_OPENAT | AIBOM_SYS_IA32);
	case IA32_OPENAT2:
		return openat2_enter((__s32)a0, (const char *)(__u64)a1, (const void *)(__u64)a2,
				     AIBOM_SYS_OPENAT2 | AIBOM_SYS_IA32);
	case IA32_OPEN_BY_HANDLE_AT:
		return open_by_handle_enter((__s32)a0, a2,
					    AIBOM_SYS_OPEN_BY_HANDLE_AT | AIBOM_SYS_IA32);
	case IA32_EXECVE:
		return exec_enter(-100, (const char *)(__u64)a0, 0, AIBOM_SYS_EXECVE | AIBOM_SYS_IA32);
	case IA32_EXECVEAT:
		return exec_enter((__s32)a0, (const char *)(__u64)a1, a4,
				  AIBOM_SYS_EXECVEAT | AIBOM_SYS_IA32);
	}
	return 0;
}

/* raw_tracepoint/sys_exit: args[0] = struct pt_regs *, args[1] = return value. An exec
 * that loaded a 32-bit program also ends here (the kernel makes its return a compat
 * execve's), whatever its enter was; one that loaded a 64-bit program ends as a native
 * execve, at the native exit program. */
SEC("raw_tracepoint/sys_exit")
int compat_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	if (!in_ia32_syscall())
		return 0;
	/* pt_regs is the x86-64 ABI's layout (uapi), not a CO-RE type */
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = -1;
	bpf_probe_read_kernel(&id, sizeof(id), &regs->orig_rax);
	if (!ia32_call(id))
		return 0;
	long ret = ctx->args[1];
	if (id == IA32_EXECVE || id == IA32_EXECVEAT)
		return exec_exit(ret);
	return open_exit(ret);
}

#endif
