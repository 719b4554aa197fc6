/* A 64-bit program that opens argv[1] with the 32-bit `open` (`int $0x80`): the way
 * around the syscall tracepoints a native program has. The name is copied below 4 GiB,
 * where a 32-bit pointer reaches. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char *low = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			 -1, 0);
	if (low == MAP_FAILED || strlen(argv[1]) >= 4096)
		return 2;
	strcpy(low, argv[1]);
	long fd;
	__asm__ volatile("int $0x80" : "=a"(fd) : "a"(5L), "b"(low), "c"(0L), "d"(0L) : "memory");
	if (fd < 0) {
		fprintf(stderr, "int80_open: %ld\n", fd);
		return 1;
	}
	char c;
	return read((int)fd, &c, 1) == 1 ? 0 : 1;
}
