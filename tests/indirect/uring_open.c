/* Opens each path given with io_uring (IORING_OP_OPENAT, or IORING_OP_OPENAT2 with -2),
 * reads its first byte and prints "opened PATH fd N". Raw syscalls: no liburing needed.
 * Used by tests/indirect.rs to show that aibomd sees opens that never call open(2).
 *
 * `-t N PATH` times instead (benches/uring.rs): N io_uring opens (+ close(2)) of PATH, then
 * N no-op requests, then N getppid(2) calls, and prints `open_ns=… nop_ns=… syscall_ns=…`. */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	int two = argc > 1 && strcmp(argv[1], "-2") == 0;
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0) {
		perror("io_uring_setup");
		return 2;
	}
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(__u32);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(0, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	char *cq = mmap(0, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail);
	unsigned *sq_array = (unsigned *)(sq + p.sq_off.array);
	unsigned *cq_head = (unsigned *)(cq + p.cq_off.head);
	unsigned *cq_tail = (unsigned *)(cq + p.cq_off.tail);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	struct open_how how = { .flags = O_RDONLY };
	if (argc == 4 && strcmp(argv[1], "-t") == 0) {
		long n = atol(argv[2]);
		double ns[2];
		for (int nop = 0; nop < 2; nop++) {
			double t0 = now_ns();
			for (long k = 0; k < n; k++) {
				unsigned tail = *sq_tail;
				struct io_uring_sqe *s = &sqes[tail & (p.sq_entries - 1)];
				memset(s, 0, sizeof(*s));
				if (nop) {
					s->opcode = IORING_OP_NOP;
				} else {
					s->opcode = IORING_OP_OPENAT;
					s->fd = AT_FDCWD;
					s->addr = (unsigned long)argv[3];
				}
				sq_array[tail & (p.sq_entries - 1)] = tail & (p.sq_entries - 1);
				__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
				if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, 0, 0) < 0)
					return 2;
				unsigned head = *cq_head;
				int res = cqes[head & (p.cq_entries - 1)].res;
				__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
				if (!nop) {
					if (res < 0)
						return 1;
					close(res);
				}
			}
			ns[nop] = (now_ns() - t0) / n;
		}
		/* the floor: any syscall pays the syscall tracepoints once they are on */
		double t0 = now_ns();
		for (long k = 0; k < n; k++)
			syscall(__NR_getppid);
		double sys_ns = (now_ns() - t0) / n;
		printf("open_ns=%.1f nop_ns=%.1f syscall_ns=%.1f\n", ns[0], ns[1], sys_ns);
		return 0;
	}
	for (int i = 1 + two; i < argc; i++) {
		unsigned tail = *sq_tail;
		struct io_uring_sqe *s = &sqes[tail & (p.sq_entries - 1)];
		memset(s, 0, sizeof(*s));
		s->fd = AT_FDCWD;
		s->addr = (unsigned long)argv[i];
		s->user_data = i;
		if (two) {
			s->opcode = IORING_OP_OPENAT2;
			s->len = sizeof(how);
			s->off = (unsigned long)&how;
		} else {
			s->opcode = IORING_OP_OPENAT;
			s->open_flags = O_RDONLY;
		}
		sq_array[tail & (p.sq_entries - 1)] = tail & (p.sq_entries - 1);
		__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
		if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, 0, 0) < 0) {
			perror("io_uring_enter");
			return 2;
		}
		unsigned head = *cq_head;
		if (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) {
			fprintf(stderr, "no completion\n");
			return 2;
		}
		int fd = cqes[head & (p.cq_entries - 1)].res;
		__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
		if (fd < 0) {
			fprintf(stderr, "open %s: %s\n", argv[i], strerror(-fd));
			return 1;
		}
		char b;
		if (read(fd, &b, 1) < 0)
			perror("read");
		printf("opened %s fd %d\n", argv[i], fd);
		close(fd);
	}
	return 0;
}
