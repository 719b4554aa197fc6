/* Wire format of the AI API events in the `API_EVENTS` ring buffer, and the keys of the
 * maps userspace fills for them. Mirrored by `daemon/src/tracer/ebpf/api_wire.rs`; a unit
 * test there checks sizes and offsets.
 *
 * Only fixed fields ever leave the kernel: a request line cut at its query string, a
 * server name, a JSON string value of a known key (the model) or a number (token counts,
 * the HTTP status). Headers, prompts, responses and credentials are read into per-CPU
 * scratch in chunks, scanned, and never copied out.
 */
#pragma once
#include <linux/types.h>

#define AIBOM_API_VALUE_MAX 128 /* bytes of a request line, server name or model */
#define AIBOM_API_KEY_LEN 24    /* JSON keys longer than this are never fields */
#define AIBOM_API_HOST_LEN 64   /* key of AI_HOSTS */

/* event kinds */
#define AIBOM_API_SNI 1     /* value: the server name (SSL_ctrl or a ClientHello) */
#define AIBOM_API_REQUEST 2 /* value: "METHOD /path", cut at '?' */
#define AIBOM_API_FIELD 3   /* field, dir; value (string fields) or num */
#define AIBOM_API_STATUS 4  /* num: the HTTP status code of a response */
#define AIBOM_API_LINK 5    /* the SSL object `conn` talks over socket `fd` */
#define AIBOM_API_CLOSE 6   /* socket `fd` of a watched connection was closed */

/* conn_kind: what `conn` names */
#define AIBOM_CONN_SOCK 1 /* a socket fd of the process (plain HTTP, ClientHello) */
#define AIBOM_CONN_SSL 2  /* an OpenSSL `SSL *` of the process (uprobes) */

/* dir */
#define AIBOM_DIR_REQUEST 0
#define AIBOM_DIR_RESPONSE 1

/* field ids (values of API_JSON_KEYS) */
#define AIBOM_FIELD_MODEL 1
#define AIBOM_FIELD_INPUT_TOKENS 2
#define AIBOM_FIELD_OUTPUT_TOKENS 3

/* flags */
#define AIBOM_API_FLAG_AI_HOST 1 /* SNI: the name is in AI_HOSTS (its requests are parsed) */

/* indices of the per-CPU `API_STATS` array */
#define AIBOM_API_STAT_CONNECTS 0  /* inet connects of traced processes remembered */
#define AIBOM_API_STAT_PARSED 1    /* writes and reads parsed (watched connections) */
#define AIBOM_API_STAT_EMITTED 2   /* events written */
#define AIBOM_API_STAT_DROPPED 3   /* events lost: ring buffer full */
#define AIBOM_API_STAT_TRUNCATED 4 /* requests whose body outran the scan limit */
#define AIBOM_API_STAT_MAX 5

struct aibom_api_event {
	__u64 ts_ns;     /* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u64 conn;      /* socket fd or SSL pointer, see conn_kind */
	__u64 num;       /* numeric field value, status code */
	__u32 kind;      /* AIBOM_API_* */
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__s32 fd;        /* the socket, when known; -1 otherwise */
	__u16 port;      /* destination port, host order (0: unknown) */
	__u16 family;    /* AF_INET, AF_INET6 or 0 */
	__u8 addr[16];   /* destination address (4 bytes for AF_INET) */
	__u8 conn_kind;  /* AIBOM_CONN_* */
	__u8 dir;        /* AIBOM_DIR_* */
	__u8 field;      /* AIBOM_FIELD_* */
	__u8 flags;      /* AIBOM_API_FLAG_* */
	__u32 value_len; /* bytes of value, without a NUL */
	char comm[16];
	char value[AIBOM_API_VALUE_MAX];
};

/* key of API_JSON_KEYS: a JSON key, NUL-padded */
struct aibom_json_key {
	char k[AIBOM_API_KEY_LEN];
};

/* value of API_JSON_KEYS */
struct aibom_json_field {
	__u8 field;      /* AIBOM_FIELD_* (0: not taken in this direction) */
	__u8 req_depth;  /* deepest JSON nesting it is taken at in a request (1: the top object) */
	__u8 resp_field; /* AIBOM_FIELD_* in a response (0: not taken there) */
	__u8 resp_depth; /* the same for a response */
};

/* key of AI_HOSTS: a server name, lowercase, NUL-padded */
struct aibom_host_key {
	char h[AIBOM_API_HOST_LEN];
};
