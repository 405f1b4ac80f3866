/* BLAKE3 hasher: chunk state, chaining-value stack, XOF output.
 *
 * Whole runs of chunks that are known not to be the last one go through
 * astrid_b3_hash_chunks (SIMD when available); their chaining values are
 * merged into the stack one at a time, exactly as the one-chunk path does,
 * so both paths build the same tree. */
#include <string.h>

#include "astrid/blake3.h"
#include "lib/blake3/blake3_impl.h"

static void chunk_init(astrid_blake3_chunk_state *c, const uint32_t key[8], uint64_t counter,
                       uint8_t flags)
{
    memcpy(c->cv, key, 32);
    c->chunk_counter = counter;
    memset(c->buf, 0, sizeof c->buf);
    c->buf_len = 0;
    c->blocks_compressed = 0;
    c->flags = flags;
}

static size_t chunk_len(const astrid_blake3_chunk_state *c)
{
    return (size_t)c->blocks_compressed * ASTRID_BLAKE3_BLOCK_LEN + c->buf_len;
}

static uint8_t chunk_start_flag(const astrid_blake3_chunk_state *c)
{
    return c->blocks_compressed == 0 ? B3_CHUNK_START : 0;
}

static void chunk_update(astrid_blake3_chunk_state *c, const uint8_t *in, size_t len)
{
    while (len > 0) {
        /* A full buffer is only compressed once more input arrives: the last
         * block of a chunk must carry CHUNK_END. */
        if (c->buf_len == ASTRID_BLAKE3_BLOCK_LEN) {
            astrid_b3_compress_in_place(c->cv, c->buf, ASTRID_BLAKE3_BLOCK_LEN, c->chunk_counter,
                                        (uint8_t)(c->flags | chunk_start_flag(c)));
            c->blocks_compressed++;
            c->buf_len = 0;
            memset(c->buf, 0, sizeof c->buf);
        }
        size_t take = ASTRID_BLAKE3_BLOCK_LEN - c->buf_len;
        if (take > len)
            take = len;
        memcpy(c->buf + c->buf_len, in, take);
        c->buf_len = (uint8_t)(c->buf_len + take);
        in += take;
        len -= take;
    }
}

typedef struct output {
    uint32_t cv[8];
    uint8_t block[64];
    uint8_t block_len;
    uint64_t counter;
    uint8_t flags;
} output;

static output chunk_output(const astrid_blake3_chunk_state *c)
{
    output o;
    memcpy(o.cv, c->cv, 32);
    memcpy(o.block, c->buf, 64);
    o.block_len = c->buf_len;
    o.counter = c->chunk_counter;
    o.flags = (uint8_t)(c->flags | chunk_start_flag(c) | B3_CHUNK_END);
    return o;
}

static output parent_output(const uint8_t block[64], const uint32_t key[8], uint8_t flags)
{
    output o;
    memcpy(o.cv, key, 32);
    memcpy(o.block, block, 64);
    o.block_len = 64;
    o.counter = 0;
    o.flags = (uint8_t)(flags | B3_PARENT);
    return o;
}

static void output_cv(const output *o, uint8_t out[32])
{
    uint32_t cv[8];
    memcpy(cv, o->cv, 32);
    astrid_b3_compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
    for (int i = 0; i < 8; i++)
        b3_store32(out + 4 * i, cv[i]);
}

static void output_root_bytes(const output *o, uint64_t seek, uint8_t *out, size_t len)
{
    uint64_t counter = seek / 64;
    size_t offset = (size_t)(seek % 64);
    uint8_t buf[64];
    while (len > 0) {
        astrid_b3_compress_xof(o->cv, o->block, o->block_len, counter,
                               (uint8_t)(o->flags | B3_ROOT), buf);
        size_t take = 64 - offset;
        if (take > len)
            take = len;
        memcpy(out, buf + offset, take);
        out += take;
        len -= take;
        offset = 0;
        counter++;
    }
}

static void hasher_init(astrid_blake3_hasher *h, const uint32_t key[8], uint8_t flags)
{
    memcpy(h->key, key, 32);
    chunk_init(&h->chunk, key, 0, flags);
    h->cv_stack_len = 0;
}

void astrid_blake3_init(astrid_blake3_hasher *h)
{
    hasher_init(h, astrid_b3_iv, 0);
}

void astrid_blake3_init_keyed(astrid_blake3_hasher *h, const uint8_t key[ASTRID_BLAKE3_KEY_LEN])
{
    uint32_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = b3_load32(key + 4 * i);
    hasher_init(h, k, B3_KEYED_HASH);
}

void astrid_blake3_init_derive_key(astrid_blake3_hasher *h, const char *context)
{
    astrid_blake3_hasher ctx;
    hasher_init(&ctx, astrid_b3_iv, B3_DERIVE_KEY_CONTEXT);
    astrid_blake3_update(&ctx, context, strlen(context));
    uint8_t key[32];
    astrid_blake3_finalize(&ctx, key, 32);
    uint32_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = b3_load32(key + 4 * i);
    hasher_init(h, k, B3_DERIVE_KEY_MATERIAL);
}

static void parent_block(uint8_t block[64], const uint8_t *left, const uint8_t *right)
{
    memcpy(block, left, 32);
    memcpy(block + 32, right, 32);
}

/* Push the CV of chunk number total_chunks-1, merging completed subtrees:
 * the number of trailing zero bits of total_chunks is the number of merges. */
static void push_chunk_cv(astrid_blake3_hasher *h, const uint8_t cv_in[32], uint64_t total_chunks)
{
    uint8_t cv[32];
    memcpy(cv, cv_in, 32);
    while ((total_chunks & 1) == 0) {
        h->cv_stack_len--;
        uint8_t block[64];
        parent_block(block, h->cv_stack + (size_t)h->cv_stack_len * 32, cv);
        output o = parent_output(block, h->key, h->chunk.flags);
        output_cv(&o, cv);
        total_chunks >>= 1;
    }
    memcpy(h->cv_stack + (size_t)h->cv_stack_len * 32, cv, 32);
    h->cv_stack_len++;
}

void astrid_blake3_update(astrid_blake3_hasher *h, const void *input, size_t len)
{
    const uint8_t *in = input;
    while (len > 0) {
        if (chunk_len(&h->chunk) == ASTRID_BLAKE3_CHUNK_LEN) {
            output o = chunk_output(&h->chunk);
            uint8_t cv[32];
            output_cv(&o, cv);
            uint64_t total = h->chunk.chunk_counter + 1;
            push_chunk_cv(h, cv, total);
            chunk_init(&h->chunk, h->key, total, h->chunk.flags);
        }
        /* Fast path: at a chunk boundary, hash batches of whole chunks that
         * are certainly not the last (more input follows them). */
        if (chunk_len(&h->chunk) == 0) {
            size_t degree = astrid_b3_simd_degree();
            size_t batch = degree * ASTRID_BLAKE3_CHUNK_LEN;
            while (degree > 1 && len > batch) {
                uint8_t cvs[8 * 32];
                uint64_t counter = h->chunk.chunk_counter;
                astrid_b3_hash_chunks(in, degree, h->key, counter, h->chunk.flags, cvs);
                for (size_t i = 0; i < degree; i++)
                    push_chunk_cv(h, cvs + i * 32, counter + i + 1);
                h->chunk.chunk_counter = counter + degree;
                in += batch;
                len -= batch;
            }
        }
        size_t take = ASTRID_BLAKE3_CHUNK_LEN - chunk_len(&h->chunk);
        if (take > len)
            take = len;
        chunk_update(&h->chunk, in, take);
        in += take;
        len -= take;
    }
}

void astrid_blake3_finalize_seek(const astrid_blake3_hasher *h, uint64_t seek, uint8_t *out,
                                 size_t out_len)
{
    if (out_len == 0)
        return;
    output o = chunk_output(&h->chunk);
    size_t remaining = h->cv_stack_len;
    while (remaining > 0) {
        remaining--;
        uint8_t cv[32];
        output_cv(&o, cv);
        uint8_t block[64];
        parent_block(block, h->cv_stack + remaining * 32, cv);
        o = parent_output(block, h->key, h->chunk.flags);
    }
    output_root_bytes(&o, seek, out, out_len);
}

void astrid_blake3_finalize(const astrid_blake3_hasher *h, uint8_t *out, size_t out_len)
{
    astrid_blake3_finalize_seek(h, 0, out, out_len);
}

void astrid_blake3(const void *input, size_t len, uint8_t out[ASTRID_BLAKE3_OUT_LEN])
{
    astrid_blake3_hasher h;
    astrid_blake3_init(&h);
    astrid_blake3_update(&h, input, len);
    astrid_blake3_finalize(&h, out, ASTRID_BLAKE3_OUT_LEN);
}

void astrid_blake3_hex(const void *input, size_t len, char out[2 * ASTRID_BLAKE3_OUT_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t h[ASTRID_BLAKE3_OUT_LEN];
    astrid_blake3(input, len, h);
    for (int i = 0; i < ASTRID_BLAKE3_OUT_LEN; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * ASTRID_BLAKE3_OUT_LEN] = '\0';
}
