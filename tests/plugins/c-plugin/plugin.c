/*
 * A Proxy-Wasm 0.2.1 plugin in C, built against the generated header with no
 * libc (see tests/c_header.rs):
 *
 *   clang --target=wasm32 -nostdlib -O2 -Wall -Wextra -Werror \
 *     -Wl,--no-entry -Wl,--export-dynamic -I generated/c -o plugin.wasm plugin.c
 */
#include "proxy_wasm_v0_2_1.h"

/* The version marker: its presence tells the host which ABI this is. */
void proxy_abi_version_0_2_1(void) {}

/* A bump allocator over a static arena; memory is never freed. */
static uint8_t arena[64 * 1024];
static size_t arena_used;

uint8_t *proxy_on_memory_allocate(size_t memory_size) {
    size_t start = (arena_used + 7u) & ~(size_t)7u;
    if (start > sizeof(arena) || memory_size > sizeof(arena) - start) {
        return NULL;
    }
    arena_used = start + memory_size;
    return &arena[start];
}

proxy_action_t proxy_on_request_headers(uint32_t stream_context_id, size_t num_headers,
                                        bool end_of_stream) {
    (void)stream_context_id;
    (void)num_headers;
    (void)end_of_stream;

    static const char message[] = "hello from C";
    proxy_log(PROXY_LOG_LEVEL_INFO, message, sizeof(message) - 1);

    static const char key[] = "x-c-plugin";
    static const uint8_t value[] = {'y', 'e', 's'};
    proxy_status_t status = proxy_add_header_map_value(
        PROXY_MAP_TYPE_HTTP_REQUEST_HEADERS, key, sizeof(key) - 1, value, sizeof(value));
    return status == PROXY_STATUS_OK ? PROXY_ACTION_CONTINUE : PROXY_ACTION_PAUSE;
}
