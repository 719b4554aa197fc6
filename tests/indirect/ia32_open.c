/* A 32-bit program without libc (no 32-bit libc is needed to build it: clang -m32
 * -ffreestanding -nostdlib -static): openat(AT_FDCWD, argv[1]), open(argv[2]), then
 * execve(argv[3], argv + 3), all through the 32-bit compat syscall table (`int $0x80`). */
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

#define IA32_EXIT 1
#define IA32_OPEN 5
#define IA32_EXECVE 11
#define IA32_OPENAT 295

__attribute__((used)) void start_c(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	long failed = 0;
	if (argc > 1)
		failed |= sys3(IA32_OPENAT, -100, (long)argv[1], 0) < 0;
	if (argc > 2)
		failed |= sys3(IA32_OPEN, (long)argv[2], 0, 0) < 0;
	if (argc > 3 && !failed)
		sys3(IA32_EXECVE, (long)argv[3], (long)(argv + 3), (long)envp);
	sys3(IA32_EXIT, 1, 0, 0);
}

__asm__(".globl _start\n_start:\n\tpush %esp\n\tcall start_c\n");
