/* AI API calls: which hosted and local model APIs a traced process calls.
 * Included by aibom.bpf.c (one object, one TRACKED map); wire format in aibom_api.h.
 *
 * Three ways in, cheapest first (figures in benches/README.md):
 *  - `connect` remembers (tgid, fd) -> destination for inet sockets (port 53 skipped);
 *    only those sockets are ever looked at again, once, at their first write:
 *      - a TLS ClientHello: its server_name extension gives the host (any TLS stack:
 *        Go, rustls, GnuTLS, Node's bundled OpenSSL) -> AIBOM_API_SNI, nothing more;
 *      - a plain-HTTP POST to an inference-shaped path (/v1/, /v1beta/, /api/chat,
 *        /api/generate, /api/embed, /completion, /embedding): the connection is watched:
 *        each request line and its JSON body are parsed, and the responses.
 *      - anything else: never looked at again.
 *  - uprobes on the OpenSSL a process maps (attached by userspace per library file):
 *    SSL_set_fd links SSL -> socket; SSL_ctrl(SSL_CTRL_SET_TLSEXT_HOSTNAME) names the
 *    server: only names in AI_HOSTS (or marked later by userspace) make a watched
 *    connection, whose SSL_write/_ex plaintext and SSL_read/_ex responses are parsed.
 *    Every other SSL_write costs one hash lookup.
 *  - parsing is a bounded streaming JSON tokenizer (bpf_loop over 256-byte chunks read
 *    into per-CPU scratch) that skips the HTTP headers and reports only the string value
 *    of a known key (the model) or a number (token counts); keys come from
 *    API_JSON_KEYS, taken only at the nesting depth given there. Nothing else read is
 *    ever copied to the ring buffer: no header (Authorization, x-api-key), no prompt,
 *    no response text, no query string (request lines are cut at '?').
 */
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "aibom_api.h"

const volatile __u32 api_enabled = 1;
const volatile __u32 api_scan_bytes = 65536; /* per request or response */

#define AF_INET_ 2
#define AF_INET6_ 10
#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55

#define SOCK_NEW 1
#define SOCK_TLS 2   /* a TLS client: its ClientHello was read, nothing more is */
#define SOCK_HTTP 3  /* plain HTTP to an inference-shaped path: watched */
#define SOCK_OTHER 4 /* never looked at again */

#define CHUNK 256
#define HELLO_MAX 1024

struct sock_info {
	__u8 addr[16];
	__u16 port;
	__u16 family;
	__u8 state;
	__u8 pad[3];
};

struct conn_key {
	__u32 tgid;
	__u32 kind; /* AIBOM_CONN_* */
	__u64 id;   /* fd or SSL pointer */
};

/* A streaming JSON tokenizer's state for one direction of a watched connection. */
struct api_scanner {
	__u32 scanned; /* bytes scanned since the request (response) started */
	__u32 pad0;
	__u64 num;     /* the number being read */
	__u8 in_str;
	__u8 esc;
	__u8 klen;     /* bytes of the current string kept as a key candidate (25: too long) */
	__u8 key_done; /* a short string just ended: a ':' makes it a key */
	__u8 field;    /* the field whose value comes next */
	__u8 capture;  /* the current string is that field's value */
	__u8 vlen;
	__u8 depth;
	__u8 hdr;      /* progress through "\r\n\r\n"; 4: in the body */
	__u8 digits;
	__u8 truncated;
	__u8 pad1[5];
	char key[32];
	char val[AIBOM_API_VALUE_MAX];
};

struct api_conn {
	struct api_scanner req;
	struct api_scanner resp;
	__u8 addr[16];
	__u16 port;
	__u16 family;
	__s32 fd;
};

struct ssl_key {
	__u32 tgid;
	__u32 pad;
	__u64 ssl;
};

struct read_args {
	__u64 buf;
	__u64 readbytes; /* SSL_read_ex's out parameter, 0 for SSL_read and read(2) */
	__u64 conn;
	__u32 kind;      /* AIBOM_CONN_* */
	__u32 pad;
};

struct api_chunk {
	char b[HELLO_MAX + AIBOM_API_VALUE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} API_EVENTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIBOM_API_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} API_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aibom_api_event);
} API_SCRATCH SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct api_chunk);
} API_CHUNK SEC(".maps");

/* never written: the zero value new connections start from (too big for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct api_conn);
} API_ZERO SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* tgid << 32 | fd */
	__type(value, struct sock_info);
} SOCKS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct conn_key);
	__type(value, struct api_conn);
} AI_CONNS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ssl_key);
	__type(value, __s32);
} SSL_FDS SEC(".maps");

/* a thread inside SSL_write/SSL_read of a watched SSL whose socket is not known yet
 * (clients that give OpenSSL a BIO, like curl): its next socket syscall names it */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, __u64); /* SSL pointer */
} SSL_NEED_FD SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct read_args);
} API_READS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct aibom_host_key);
	__type(value, __u8);
} AI_HOSTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct aibom_json_key);
	__type(value, struct aibom_json_field);
} API_JSON_KEYS SEC(".maps");

static __always_inline void api_stat(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&API_STATS, &idx);
	if (v)
		*v += n;
}

/* A zeroed event in per-CPU scratch with the current task's identity. */
static __always_inline struct aibom_api_event *api_event(__u32 kind, __u32 conn_kind, __u64 conn)
{
	__u32 zero = 0;
	struct aibom_api_event *e = bpf_map_lookup_elem(&API_SCRATCH, &zero);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->kind = kind;
	e->tgid = current_tgid();
	e->ppid = tgid_of(BPF_CORE_READ(task, real_parent));
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->fd = -1;
	e->conn_kind = conn_kind;
	e->conn = conn;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void api_emit(struct aibom_api_event *e)
{
	if (bpf_ringbuf_output(&API_EVENTS, e, sizeof(*e), BPF_RB_NO_WAKEUP))
		api_stat(AIBOM_API_STAT_DROPPED, 1);
	else
		api_stat(AIBOM_API_STAT_EMITTED, 1);
}

static __always_inline void api_dest(struct aibom_api_event *e, struct api_conn *c)
{
	__builtin_memcpy(e->addr, c->addr, 16);
	e->port = c->port;
	e->family = c->family;
	e->fd = c->fd;
}

static __always_inline struct api_chunk *api_chunk(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&API_CHUNK, &zero);
}

/* A new watched connection (zeroed), or the one there. */
static __always_inline struct api_conn *watch(struct conn_key *k)
{
	struct api_conn *c = bpf_map_lookup_elem(&AI_CONNS, k);
	if (c)
		return c;
	__u32 zero = 0;
	struct api_conn *z = bpf_map_lookup_elem(&API_ZERO, &zero);
	if (!z)
		return 0;
	bpf_map_update_elem(&AI_CONNS, k, z, BPF_NOEXIST);
	c = bpf_map_lookup_elem(&AI_CONNS, k);
	if (c)
		c->fd = -1;
	return c;
}

/* ---- the streaming JSON tokenizer ---- */

struct scan_ctx {
	struct api_scanner *sc;
	struct api_conn *c;
	struct api_chunk *ch;
	const char *buf;
	__u64 conn;
	__u32 len;
	__u32 conn_kind;
	__u32 dir;
};

static __always_inline void emit_field(struct scan_ctx *x, __u8 field, int is_num)
{
	struct api_scanner *sc = x->sc;
	struct aibom_api_event *e = api_event(AIBOM_API_FIELD, x->conn_kind, x->conn);
	if (!e)
		return;
	api_dest(e, x->c);
	e->dir = x->dir;
	e->field = field;
	if (is_num) {
		e->num = sc->num;
	} else {
		__u32 n = sc->vlen;
		if (n > AIBOM_API_VALUE_MAX - 1)
			n = AIBOM_API_VALUE_MAX - 1;
		__builtin_memcpy(e->value, sc->val, AIBOM_API_VALUE_MAX);
		e->value_len = n;
	}
	api_emit(e);
}

static __always_inline void end_number(struct scan_ctx *x)
{
	struct api_scanner *sc = x->sc;
	if (sc->digits && sc->field > AIBOM_FIELD_MODEL)
		emit_field(x, sc->field, 1);
	sc->digits = 0;
	sc->field = 0;
}

static long scan_step(__u32 i, void *data)
{
	struct scan_ctx *x = data;
	struct api_scanner *sc = x->sc;
	struct api_chunk *ch = x->ch;
	__u32 w = i & (CHUNK - 1);
	if (w == 0) {
		__u32 left = x->len - i;
		__u32 n = CHUNK;
		if (left < CHUNK)
			n = left & (CHUNK - 1);
		asm volatile("" : "+r"(n)); /* keep the bound where the verifier sees it */
		if (n > CHUNK)
			return 1;
		if (bpf_probe_read_user(ch->b, n, x->buf + i))
			return 1;
	}
	char c = ch->b[w];

	if (sc->hdr < 4) { /* skip the HTTP head up to "\r\n\r\n" */
		if (c == ((sc->hdr & 1) ? '\n' : '\r'))
			sc->hdr++;
		else
			sc->hdr = c == '\r' ? 1 : 0;
		return 0;
	}
	if (sc->in_str) {
		if (sc->esc) {
			sc->esc = 0;
		} else if (c == '\\') {
			sc->esc = 1;
			return 0;
		} else if (c == '"') {
			sc->in_str = 0;
			if (sc->capture) {
				emit_field(x, sc->field, 0);
				sc->capture = 0;
				sc->field = 0;
			} else {
				sc->key_done = sc->klen <= AIBOM_API_KEY_LEN;
			}
			return 0;
		}
		if (sc->capture) {
			if (sc->vlen < AIBOM_API_VALUE_MAX - 1) {
				sc->val[sc->vlen & (AIBOM_API_VALUE_MAX - 1)] = c;
				sc->vlen++;
			}
		} else if (sc->klen < AIBOM_API_KEY_LEN) {
			sc->key[sc->klen & 31] = c;
			sc->klen++;
		} else {
			sc->klen = AIBOM_API_KEY_LEN + 1;
		}
		return 0;
	}
	switch (c) {
	case '"':
		sc->in_str = 1;
		sc->klen = 0;
		sc->key_done = 0;
		sc->capture = sc->field == AIBOM_FIELD_MODEL;
		sc->vlen = 0;
		if (!sc->capture) {
			sc->field = 0;
			__builtin_memset(sc->key, 0, sizeof(sc->key));
		} else {
			__builtin_memset(sc->val, 0, sizeof(sc->val));
		}
		return 0;
	case ':':
		if (sc->key_done) {
			struct aibom_json_field *f = bpf_map_lookup_elem(&API_JSON_KEYS, sc->key);
			sc->field = 0;
			if (f) {
				__u8 field = x->dir == AIBOM_DIR_REQUEST ? f->field : f->resp_field;
				__u8 depth = x->dir == AIBOM_DIR_REQUEST ? f->req_depth : f->resp_depth;
				if (field && sc->depth <= depth)
					sc->field = field;
			}
			sc->num = 0;
			sc->digits = 0;
		}
		sc->key_done = 0;
		return 0;
	case '{':
	case '[':
		sc->depth++;
		sc->field = 0;
		sc->key_done = 0;
		return 0;
	case '}':
	case ']':
		end_number(x);
		if (sc->depth)
			sc->depth--;
		sc->key_done = 0;
		return 0;
	case ',':
		end_number(x);
		sc->key_done = 0;
		return 0;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		if (sc->digits)
			end_number(x);
		return 0;
	default:
		if (c >= '0' && c <= '9' && sc->field > AIBOM_FIELD_MODEL) {
			if (sc->digits < 19) {
				sc->num = sc->num * 10 + (c - '0');
				sc->digits++;
			}
			return 0;
		}
		sc->key_done = 0;
		if (sc->field != AIBOM_FIELD_MODEL)
			sc->field = 0;
		return 0;
	}
}

static __always_inline void scan_json(struct api_scanner *sc, struct api_conn *c, __u32 conn_kind,
				      __u64 conn, __u32 dir, const char *buf, __u64 len)
{
	struct api_chunk *ch = api_chunk();
	if (!ch || !len)
		return;
	__u32 budget = api_scan_bytes > sc->scanned ? api_scan_bytes - sc->scanned : 0;
	__u32 n = len < budget ? (__u32)len : budget;
	if (n < len && !sc->truncated) {
		sc->truncated = 1;
		api_stat(AIBOM_API_STAT_TRUNCATED, 1);
	}
	if (!n)
		return;
	struct scan_ctx x = {
		.sc = sc,
		.c = c,
		.ch = ch,
		.buf = buf,
		.conn = conn,
		.len = n,
		.conn_kind = conn_kind,
		.dir = dir,
	};
	bpf_loop(n, scan_step, &x, 0);
	sc->scanned += n;
	api_stat(AIBOM_API_STAT_PARSED, 1);
}

/* ---- requests and responses ---- */

static __always_inline int is_method(const char *h)
{
	return (h[0] == 'P' && h[1] == 'O' && h[2] == 'S' && h[3] == 'T' && h[4] == ' ') ||
	       (h[0] == 'G' && h[1] == 'E' && h[2] == 'T' && h[3] == ' ') ||
	       (h[0] == 'P' && h[1] == 'U' && h[2] == 'T' && h[3] == ' ');
}

static __always_inline int starts(const char *s, const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] != p[i])
			return 0;
	return 1;
}

/* "POST " followed by a path inference servers use (plain HTTP only). */
static __always_inline int inference_path(const char *h)
{
	if (!starts(h, "POST /", 6))
		return 0;
	const char *p = h + 5;
	return starts(p, "/v1/", 4) || starts(p, "/v1beta/", 8) || starts(p, "/api/chat", 9) ||
	       starts(p, "/api/generate", 13) || starts(p, "/api/embed", 10) ||
	       starts(p, "/completion", 11) || starts(p, "/embedding", 10);
}

/* Finds where a request line's path ends (the second space, or '?', '#', ';', CR, LF)
 * and zeroes everything from there: the query string never leaves the kernel. A
 * bpf_loop callback, not an unrolled loop, so the verifier checks it once. */
struct cut_ctx {
	char *v;
	__u32 n;
	__u32 cut;
	__u32 spaces;
	__u32 done;
};

static long cut_step(__u32 i, void *data)
{
	struct cut_ctx *x = data;
	__u32 at = i & (AIBOM_API_VALUE_MAX - 1);
	if (!x->done) {
		if (at >= x->n) {
			x->done = 1;
		} else {
			char ch = x->v[at];
			if ((ch == ' ' && ++x->spaces == 2) || ch == '?' || ch == '#' || ch == '\r' ||
			    ch == '\n' || ch == ';') {
				x->cut = at;
				x->done = 1;
			}
		}
	}
	if (x->done)
		x->v[at] = 0;
	return 0;
}

/* Emits the request line of `buf` cut at its query string, and restarts the request
 * scanner. */
static __always_inline void request_line(struct api_conn *c, __u32 conn_kind, __u64 conn,
					 const char *buf, __u64 len)
{
	struct aibom_api_event *e = api_event(AIBOM_API_REQUEST, conn_kind, conn);
	if (!e)
		return;
	api_dest(e, c);
	__u32 n = len < AIBOM_API_VALUE_MAX - 1 ? (__u32)len : AIBOM_API_VALUE_MAX - 1;
	if (bpf_probe_read_user(e->value, n & (AIBOM_API_VALUE_MAX - 1), buf))
		return;
	struct cut_ctx x = {.v = e->value, .n = n, .cut = n};
	bpf_loop(AIBOM_API_VALUE_MAX, cut_step, &x, 0);
	__u32 cut = x.cut;
	e->value_len = cut;
	api_emit(e);
	__builtin_memset(&c->req, 0, sizeof(c->req));
}

/* Bytes a watched connection sends. */
static __always_inline void request_bytes(struct api_conn *c, __u32 conn_kind, __u64 conn,
					  const char *buf, __u64 len)
{
	char h[8] = {};
	if (len >= 5 && !bpf_probe_read_user(h, sizeof(h), buf) && is_method(h))
		request_line(c, conn_kind, conn, buf, len);
	scan_json(&c->req, c, conn_kind, conn, AIBOM_DIR_REQUEST, buf, len);
}

/* Bytes a watched connection receives. */
static __always_inline void response_bytes(struct api_conn *c, __u32 conn_kind, __u64 conn,
					   const char *buf, __u64 len)
{
	char h[12] = {};
	if (len >= 12 && !bpf_probe_read_user(h, sizeof(h), buf) && starts(h, "HTTP/1.", 7) &&
	    h[8] == ' ') {
		__builtin_memset(&c->resp, 0, sizeof(c->resp));
		struct aibom_api_event *e = api_event(AIBOM_API_STATUS, conn_kind, conn);
		if (e && h[9] >= '0' && h[9] <= '9' && h[10] >= '0' && h[10] <= '9' && h[11] >= '0' &&
		    h[11] <= '9') {
			api_dest(e, c);
			e->dir = AIBOM_DIR_RESPONSE;
			e->num = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
			api_emit(e);
		}
	}
	scan_json(&c->resp, c, conn_kind, conn, AIBOM_DIR_RESPONSE, buf, len);
}

/* ---- sockets: connect, first write, close ---- */

static __always_inline __u64 sock_key(__u32 tgid, __u32 fd)
{
	return ((__u64)tgid << 32) | fd;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sys_enter_connect(struct sys_enter_ctx *ctx)
{
	if (!api_enabled)
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!is_traced(current_tgid()))
		return 0;
	const char *sa = (const char *)ctx->args[1];
	struct sock_info si = {};
	__u16 be_port = 0;
	if (bpf_probe_read_user(&si.family, 2, sa))
		return 0;
	if (si.family == AF_INET_) {
		bpf_probe_read_user(&be_port, 2, sa + 2);
		bpf_probe_read_user(si.addr, 4, sa + 4);
	} else if (si.family == AF_INET6_) {
		bpf_probe_read_user(&be_port, 2, sa + 2);
		bpf_probe_read_user(si.addr, 16, sa + 8);
	} else {
		return 0;
	}
	si.port = bpf_ntohs(be_port);
	if (si.port == 53)
		return 0;
	si.state = SOCK_NEW;
	__u64 key = sock_key(tgid, (__u32)ctx->args[0]);
	bpf_map_update_elem(&SOCKS, &key, &si, BPF_ANY);
	api_stat(AIBOM_API_STAT_CONNECTS, 1);
	return 0;
}

/* One extension of a ClientHello per call, until server_name (type 0). */
struct hello_ctx {
	const __u8 *b;
	__u32 off;
	__u32 n;
	__u32 name;  /* offset of the host name in the buffer */
	__u32 nlen;
	__u32 found;
};

static long hello_step(__u32 i, void *data)
{
	struct hello_ctx *x = data;
	const __u8 *b = x->b;
	__u32 off = x->off;
	if (off + 9 > x->n || off > HELLO_MAX)
		return 1;
	__u32 type = (b[off & (HELLO_MAX - 1)] << 8) | b[(off + 1) & (HELLO_MAX - 1)];
	__u32 elen = (b[(off + 2) & (HELLO_MAX - 1)] << 8) | b[(off + 3) & (HELLO_MAX - 1)];
	if (type == 0) {
		/* list length(2), name type(1), name length(2), name */
		__u32 nlen = (b[(off + 7) & (HELLO_MAX - 1)] << 8) | b[(off + 8) & (HELLO_MAX - 1)];
		if (nlen > AIBOM_API_VALUE_MAX - 1)
			nlen = AIBOM_API_VALUE_MAX - 1;
		x->name = off + 9;
		x->nlen = nlen;
		x->found = 1;
		return 1;
	}
	x->off = off + 4 + elen;
	return 0;
}

/* The server_name of a ClientHello in `buf`: emitted as AIBOM_API_SNI. */
static __always_inline void client_hello(struct sock_info *si, __u32 fd, const char *buf, __u64 len)
{
	struct api_chunk *ch = api_chunk();
	if (!ch)
		return;
	__u32 n = len < HELLO_MAX ? (__u32)len : HELLO_MAX;
	if (n < 48 || bpf_probe_read_user(ch->b, n & (HELLO_MAX * 2 - 1), buf))
		return;
	const __u8 *b = (const __u8 *)ch->b;
	if (b[5] != 1) /* not a ClientHello */
		return;
	/* record(5) handshake(4) version(2) random(32) */
	__u32 off = 43;
	off += 1 + b[off & (HELLO_MAX - 1)];                                        /* session id */
	off += 2 + ((b[off & (HELLO_MAX - 1)] << 8) | b[(off + 1) & (HELLO_MAX - 1)]); /* ciphers */
	off += 1 + b[off & (HELLO_MAX - 1)];                                        /* compression */
	off += 2;                                                                   /* extensions length */
	struct hello_ctx x = {.b = b, .off = off, .n = n};
	bpf_loop(32, hello_step, &x, 0);
	if (!x.found)
		return;
	__u32 nlen = x.nlen;
	struct aibom_api_event *e = api_event(AIBOM_API_SNI, AIBOM_CONN_SOCK, fd);
	if (!e)
		return;
	bpf_probe_read_kernel(e->value, nlen & (AIBOM_API_VALUE_MAX - 1),
			      &ch->b[x.name & (HELLO_MAX - 1)]);
	e->value_len = nlen;
	__builtin_memcpy(e->addr, si->addr, 16);
	e->port = si->port;
	e->family = si->family;
	e->fd = fd;
	api_emit(e);
}

static __always_inline void link_ssl(__u32 tgid, __u64 ssl, __s32 fd)
{
	struct ssl_key k = {.tgid = tgid, .ssl = ssl};
	bpf_map_update_elem(&SSL_FDS, &k, &fd, BPF_ANY);
	struct aibom_api_event *e = api_event(AIBOM_API_LINK, AIBOM_CONN_SSL, ssl);
	if (!e)
		return;
	e->fd = fd;
	__u64 sk = sock_key(tgid, fd);
	struct sock_info *si = bpf_map_lookup_elem(&SOCKS, &sk);
	if (si) {
		__builtin_memcpy(e->addr, si->addr, 16);
		e->port = si->port;
		e->family = si->family;
	}
	api_emit(e);
	/* a watched SSL learns where it goes */
	struct conn_key ck = {.tgid = tgid, .kind = AIBOM_CONN_SSL, .id = ssl};
	struct api_conn *c = bpf_map_lookup_elem(&AI_CONNS, &ck);
	if (c) {
		c->fd = fd;
		if (si) {
			__builtin_memcpy(c->addr, si->addr, 16);
			c->port = si->port;
			c->family = si->family;
		}
	}
}

/* A thread inside SSL_write/SSL_read of an SSL without a known socket uses `fd`. */
static __always_inline void maybe_link(__u64 id, __u32 fd)
{
	__u64 *ssl = bpf_map_lookup_elem(&SSL_NEED_FD, &id);
	if (!ssl)
		return;
	__u64 s = *ssl;
	bpf_map_delete_elem(&SSL_NEED_FD, &id);
	link_ssl(id >> 32, s, fd);
}

/* A global function (not inlined, scalar arguments): the verifier checks it once for
 * the write, writev and sendmsg programs instead of once per caller (startup time). */
__attribute__((noinline)) int sock_write(__u32 fd, __u64 ubuf, __u64 len)
{
	const char *buf = (const char *)ubuf;
	if (!api_enabled)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	maybe_link(id, fd);
	__u64 key = sock_key(tgid, fd);
	struct sock_info *si = bpf_map_lookup_elem(&SOCKS, &key);
	if (!si)
		return 0;
	if (si->state == SOCK_NEW) {
		char h[32] = {};
		if (len < 6 || bpf_probe_read_user(h, sizeof(h), buf)) {
			si->state = SOCK_OTHER;
			return 0;
		}
		if (h[0] == 0x16 && h[1] == 0x03) {
			si->state = SOCK_TLS;
			client_hello(si, fd, buf, len);
			return 0;
		}
		if (!inference_path(h)) {
			si->state = SOCK_OTHER;
			return 0;
		}
		si->state = SOCK_HTTP;
		struct conn_key ck = {.tgid = tgid, .kind = AIBOM_CONN_SOCK, .id = fd};
		struct api_conn *c = watch(&ck);
		if (!c)
			return 0;
		__builtin_memcpy(c->addr, si->addr, 16);
		c->port = si->port;
		c->family = si->family;
		c->fd = fd;
		request_bytes(c, AIBOM_CONN_SOCK, fd, buf, len);
		return 0;
	}
	if (si->state == SOCK_HTTP) {
		struct conn_key ck = {.tgid = tgid, .kind = AIBOM_CONN_SOCK, .id = fd};
		struct api_conn *c = bpf_map_lookup_elem(&AI_CONNS, &ck);
		if (c)
			request_bytes(c, AIBOM_CONN_SOCK, fd, buf, len);
	}
	return 0;
}

/* Attached to sys_enter_write and sys_enter_sendto (same argument positions): one
 * program verified once. */
SEC("tracepoint/syscalls/sys_enter_write")
int sys_enter_write(struct sys_enter_ctx *ctx)
{
	return sock_write((__u32)ctx->args[0], ctx->args[1], ctx->args[2]);
}


struct iovec_ {
	__u64 base;
	__u64 len;
};

/* Vectored writes: the first buffer is what is looked at (a ClientHello or a request
 * line is never split before its interesting part by the clients measured). */
static __always_inline int sock_writev(__u32 fd, const void *iov)
{
	struct iovec_ v = {};
	if (bpf_probe_read_user(&v, sizeof(v), iov))
		return 0;
	return sock_write(fd, v.base, v.len);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int sys_enter_writev(struct sys_enter_ctx *ctx)
{
	return sock_writev((__u32)ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sys_enter_sendmsg(struct sys_enter_ctx *ctx)
{
	__u64 iov = 0; /* struct user_msghdr: name, namelen, then the iovec pointer */
	if (bpf_probe_read_user(&iov, sizeof(iov), (const char *)ctx->args[1] + 16) || !iov)
		return 0;
	return sock_writev((__u32)ctx->args[0], (const void *)iov);
}

static __always_inline int sock_read_enter(__u32 fd, const char *buf)
{
	if (!api_enabled)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	maybe_link(id, fd);
	__u64 key = sock_key(id >> 32, fd);
	struct sock_info *si = bpf_map_lookup_elem(&SOCKS, &key);
	if (!si || si->state != SOCK_HTTP)
		return 0;
	struct read_args a = {.buf = (__u64)buf, .conn = fd, .kind = AIBOM_CONN_SOCK};
	bpf_map_update_elem(&API_READS, &id, &a, BPF_ANY);
	return 0;
}

static __always_inline int sock_read_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct read_args *a = bpf_map_lookup_elem(&API_READS, &id);
	if (!a || a->kind != AIBOM_CONN_SOCK)
		return 0;
	struct read_args args = *a;
	bpf_map_delete_elem(&API_READS, &id);
	if (ret <= 0)
		return 0;
	struct conn_key ck = {.tgid = id >> 32, .kind = AIBOM_CONN_SOCK, .id = args.conn};
	struct api_conn *c = bpf_map_lookup_elem(&AI_CONNS, &ck);
	if (c)
		response_bytes(c, AIBOM_CONN_SOCK, args.conn, (const char *)args.buf, ret);
	return 0;
}

/* Attached to sys_enter_read and sys_enter_recvfrom; the exit to both exits. */
SEC("tracepoint/syscalls/sys_enter_read")
int sys_enter_read(struct sys_enter_ctx *ctx)
{
	return sock_read_enter((__u32)ctx->args[0], (const char *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_read")
int sys_exit_read(struct sys_exit_ctx *ctx)
{
	return sock_read_exit(ctx->ret);
}



SEC("tracepoint/syscalls/sys_enter_close")
int sys_enter_close(struct sys_enter_ctx *ctx)
{
	if (!api_enabled)
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 fd = (__u32)ctx->args[0];
	__u64 key = sock_key(tgid, fd);
	struct sock_info *si = bpf_map_lookup_elem(&SOCKS, &key);
	if (!si)
		return 0;
	if (si->state == SOCK_HTTP || si->state == SOCK_TLS) {
		struct aibom_api_event *e = api_event(AIBOM_API_CLOSE, AIBOM_CONN_SOCK, fd);
		if (e) {
			e->fd = fd;
			e->port = si->port;
			api_emit(e);
		}
		struct conn_key ck = {.tgid = tgid, .kind = AIBOM_CONN_SOCK, .id = fd};
		bpf_map_delete_elem(&AI_CONNS, &ck);
	}
	bpf_map_delete_elem(&SOCKS, &key);
	return 0;
}

/* ---- OpenSSL uprobes ---- */

SEC("uprobe/SSL_set_fd")
int ssl_set_fd(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!api_enabled || !is_traced(current_tgid()))
		return 0;
	link_ssl(tgid, PT_REGS_PARM1(ctx), (__s32)PT_REGS_PARM2(ctx));
	return 0;
}

SEC("uprobe/SSL_ctrl")
int ssl_ctrl(struct pt_regs *ctx)
{
	if (PT_REGS_PARM2(ctx) != SSL_CTRL_SET_TLSEXT_HOSTNAME || !api_enabled)
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!is_traced(current_tgid()))
		return 0;
	__u64 ssl = PT_REGS_PARM1(ctx);
	const char *name = (const char *)PT_REGS_PARM4(ctx);
	struct aibom_api_event *e = api_event(AIBOM_API_SNI, AIBOM_CONN_SSL, ssl);
	if (!e || !name)
		return 0;
	long n = bpf_probe_read_user_str(e->value, AIBOM_API_HOST_LEN, name);
	if (n <= 1)
		return 0;
	e->value_len = n - 1;
	struct aibom_host_key hk = {};
	for (int i = 0; i < AIBOM_API_HOST_LEN; i++) {
		char c = e->value[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		hk.h[i] = c;
	}
	struct ssl_key sk = {.tgid = tgid, .ssl = ssl};
	__s32 *fd = bpf_map_lookup_elem(&SSL_FDS, &sk);
	if (fd)
		e->fd = *fd;
	if (bpf_map_lookup_elem(&AI_HOSTS, &hk)) {
		e->flags |= AIBOM_API_FLAG_AI_HOST;
		struct conn_key ck = {.tgid = tgid, .kind = AIBOM_CONN_SSL, .id = ssl};
		struct api_conn *c = watch(&ck);
		if (c && fd) {
			c->fd = *fd;
			__u64 k = sock_key(tgid, *fd);
			struct sock_info *si = bpf_map_lookup_elem(&SOCKS, &k);
			if (si) {
				__builtin_memcpy(c->addr, si->addr, 16);
				c->port = si->port;
				c->family = si->family;
			}
		}
		if (c)
			api_dest(e, c);
	}
	api_emit(e);
	return 0;
}

/* The watched connection of `ssl` (0 if it is not one), asking for its socket when
 * unknown. */
static __always_inline struct api_conn *ssl_conn(__u64 id, __u64 ssl)
{
	struct conn_key ck = {.tgid = id >> 32, .kind = AIBOM_CONN_SSL, .id = ssl};
	struct api_conn *c = bpf_map_lookup_elem(&AI_CONNS, &ck);
	if (c && c->fd < 0)
		bpf_map_update_elem(&SSL_NEED_FD, &id, &ssl, BPF_ANY);
	return c;
}

static __always_inline int ssl_write_common(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ssl = PT_REGS_PARM1(ctx);
	struct api_conn *c = ssl_conn(id, ssl);
	if (!c)
		return 0;
	long len = (long)PT_REGS_PARM3(ctx);
	if (len > 0)
		request_bytes(c, AIBOM_CONN_SSL, ssl, (const char *)PT_REGS_PARM2(ctx), len);
	return 0;
}

/* Attached to SSL_write and SSL_write_ex (the same first three arguments). */
SEC("uprobe/SSL_write")
int ssl_write(struct pt_regs *ctx)
{
	return ssl_write_common(ctx);
}


static __always_inline int ssl_read_enter(struct pt_regs *ctx, __u64 readbytes)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ssl = PT_REGS_PARM1(ctx);
	if (!ssl_conn(id, ssl))
		return 0;
	struct read_args a = {
		.buf = PT_REGS_PARM2(ctx),
		.readbytes = readbytes,
		.conn = ssl,
		.kind = AIBOM_CONN_SSL,
	};
	bpf_map_update_elem(&API_READS, &id, &a, BPF_ANY);
	return 0;
}

SEC("uprobe/SSL_read")
int ssl_read(struct pt_regs *ctx)
{
	return ssl_read_enter(ctx, 0);
}

SEC("uprobe/SSL_read_ex")
int ssl_read_ex(struct pt_regs *ctx)
{
	return ssl_read_enter(ctx, PT_REGS_PARM4(ctx));
}

SEC("uretprobe/SSL_read")
int ssl_read_ret(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct read_args *a = bpf_map_lookup_elem(&API_READS, &id);
	if (!a || a->kind != AIBOM_CONN_SSL)
		return 0;
	struct read_args args = *a;
	bpf_map_delete_elem(&API_READS, &id);
	long ret = (long)PT_REGS_RC(ctx);
	__u64 n = 0;
	if (args.readbytes) {
		if (ret != 1 || bpf_probe_read_user(&n, sizeof(n), (const void *)args.readbytes))
			return 0;
	} else if (ret > 0) {
		n = ret;
	}
	if (!n)
		return 0;
	struct conn_key ck = {.tgid = id >> 32, .kind = AIBOM_CONN_SSL, .id = args.conn};
	struct api_conn *c = bpf_map_lookup_elem(&AI_CONNS, &ck);
	if (c)
		response_bytes(c, AIBOM_CONN_SSL, args.conn, (const char *)args.buf, n);
	return 0;
}
