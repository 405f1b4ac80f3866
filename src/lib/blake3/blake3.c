/* BLAKE3 hasher: chunk state, chaining-value stack, extendable output.
 * Whole chunks in the middle of the input go to the SIMD backend in batches;
 * the final chunk always stays in the chunk state so it can take ROOT. */
#include <string.h>

#include "astrid/blake3.h"
#include "lib/blake3/blake3_impl.h"

typedef struct {
    uint32_t cv[8];
    uint8_t block[64];
    uint64_t counter;
    uint8_t block_len;
    uint8_t flags;
} output_t;

static void chunk_init(astrid_blake3_chunk_state *c, const uint32_t key[8], uint64_t counter,
                       uint8_t flags)
{
    memcpy(c->cv, key, sizeof c->cv);
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

/* Caller guarantees the chunk does not overflow ASTRID_BLAKE3_CHUNK_LEN. */
static void chunk_update(astrid_blake3_chunk_state *c, const uint8_t *in, size_t len)
{
    if (c->buf_len > 0) {
        size_t take = ASTRID_BLAKE3_BLOCK_LEN - c->buf_len;
        if (take > len)
            take = len;
        memcpy(c->buf + c->buf_len, in, take);
        c->buf_len = (uint8_t)(c->buf_len + take);
        in += take;
        len -= take;
        if (len == 0)
            return;
        astrid_b3_compress_in_place(c->cv, c->buf, ASTRID_BLAKE3_BLOCK_LEN, c->chunk_counter,
                                    (uint8_t)(c->flags | chunk_start_flag(c)));
        c->blocks_compressed++;
        c->buf_len = 0;
        memset(c->buf, 0, sizeof c->buf);
    }
    /* A block is compressed only once more input follows it: the last block
     * of a chunk needs CHUNK_END. */
    while (len > ASTRID_BLAKE3_BLOCK_LEN) {
        astrid_b3_compress_in_place(c->cv, in, ASTRID_BLAKE3_BLOCK_LEN, c->chunk_counter,
                                    (uint8_t)(c->flags | chunk_start_flag(c)));
        c->blocks_compressed++;
        in += ASTRID_BLAKE3_BLOCK_LEN;
        len -= ASTRID_BLAKE3_BLOCK_LEN;
    }
    memcpy(c->buf, in, len);
    c->buf_len = (uint8_t)len;
}

static output_t chunk_output(const astrid_blake3_chunk_state *c)
{
    output_t o;
    memcpy(o.cv, c->cv, sizeof o.cv);
    memcpy(o.block, c->buf, sizeof o.block);
    o.block_len = c->buf_len;
    o.counter = c->chunk_counter;
    o.flags = (uint8_t)(c->flags | chunk_start_flag(c) | B3_CHUNK_END);
    return o;
}

static output_t parent_output(const uint8_t block[64], const uint32_t key[8], uint8_t flags)
{
    output_t o;
    memcpy(o.cv, key, sizeof o.cv);
    memcpy(o.block, block, sizeof o.block);
    o.block_len = ASTRID_BLAKE3_BLOCK_LEN;
    o.counter = 0;
    o.flags = (uint8_t)(flags | B3_PARENT);
    return o;
}

static void output_cv(const output_t *o, uint8_t out[32])
{
    uint32_t cv[8];
    memcpy(cv, o->cv, sizeof cv);
    astrid_b3_compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
    for (int i = 0; i < 8; i++)
        b3_store32(out + 4 * i, cv[i]);
}

static void output_root_bytes(const output_t *o, uint64_t seek, uint8_t *out, size_t out_len)
{
    uint64_t counter = seek / 64;
    size_t offset = (size_t)(seek % 64);
    uint8_t wide[64];
    while (out_len > 0) {
        astrid_b3_compress_xof(o->cv, o->block, o->block_len, counter,
                               (uint8_t)(o->flags | B3_ROOT), wide);
        size_t n = 64 - offset;
        if (n > out_len)
            n = out_len;
        memcpy(out, wide + offset, n);
        out += n;
        out_len -= n;
        counter++;
        offset = 0;
    }
}

static void init_base(astrid_blake3_hasher *h, const uint32_t key[8], uint8_t flags)
{
    memcpy(h->key, key, sizeof h->key);
    chunk_init(&h->chunk, key, 0, flags);
    h->cv_stack_len = 0;
}

void astrid_blake3_init(astrid_blake3_hasher *h)
{
    init_base(h, astrid_b3_iv, 0);
}

void astrid_blake3_init_keyed(astrid_blake3_hasher *h, const uint8_t key[ASTRID_BLAKE3_KEY_LEN])
{
    uint32_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = b3_load32(key + 4 * i);
    init_base(h, k, B3_KEYED_HASH);
}

void astrid_blake3_init_derive_key(astrid_blake3_hasher *h, const char *context)
{
    astrid_blake3_hasher ctx;
    init_base(&ctx, astrid_b3_iv, B3_DERIVE_KEY_CONTEXT);
    astrid_blake3_update(&ctx, context, strlen(context));
    uint8_t key[ASTRID_BLAKE3_KEY_LEN];
    astrid_blake3_finalize(&ctx, key, sizeof key);
    uint32_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = b3_load32(key + 4 * i);
    init_base(h, k, B3_DERIVE_KEY_MATERIAL);
}

/* Lazy merging: before pushing the CV of chunk number `total_chunks`, merge
 * completed subtrees so the stack holds one CV per 1-bit of total_chunks. */
static void merge_stack(astrid_blake3_hasher *h, uint64_t total_chunks)
{
    size_t want = (size_t)__builtin_popcountll(total_chunks);
    while (h->cv_stack_len > want) {
        uint8_t *pair = h->cv_stack + (size_t)(h->cv_stack_len - 2) * 32;
        output_t o = parent_output(pair, h->key, h->chunk.flags);
        output_cv(&o, pair);
        h->cv_stack_len--;
    }
}

static void push_cv(astrid_blake3_hasher *h, const uint8_t cv[32], uint64_t total_chunks)
{
    merge_stack(h, total_chunks);
    memcpy(h->cv_stack + (size_t)h->cv_stack_len * 32, cv, 32);
    h->cv_stack_len++;
}

void astrid_blake3_update(astrid_blake3_hasher *h, const void *input, size_t len)
{
    const uint8_t *in = input;
    if (chunk_len(&h->chunk) > 0) {
        size_t take = ASTRID_BLAKE3_CHUNK_LEN - chunk_len(&h->chunk);
        if (take > len)
            take = len;
        chunk_update(&h->chunk, in, take);
        in += take;
        len -= take;
        if (len == 0)
            return;
        uint8_t cv[32];
        output_t o = chunk_output(&h->chunk);
        output_cv(&o, cv);
        push_cv(h, cv, h->chunk.chunk_counter);
        chunk_init(&h->chunk, h->key, h->chunk.chunk_counter + 1, h->chunk.flags);
    }
    const astrid_b3_backend_t *be = astrid_b3_backend();
    /* Strictly more than the batch must remain: the last chunk is kept for
     * ROOT. Batches are aligned power-of-two subtrees (up to 16 chunks),
     * reduced to one CV with SIMD parent hashing, then pushed like a chunk. */
    while (len > ASTRID_BLAKE3_CHUNK_LEN) {
        uint64_t counter = h->chunk.chunk_counter;
        size_t avail = (len - 1) / ASTRID_BLAKE3_CHUNK_LEN, n = 16;
        while (n > avail || (counter & (n - 1)) != 0)
            n >>= 1;
        if (be->degree == 1)
            n = 1;
        uint8_t cvs[16 * 32], next[8 * 32];
        be->chunks(in, n, h->key, counter, h->chunk.flags, cvs);
        for (size_t m = n; m > 1; m /= 2) {
            be->parents(cvs, m / 2, h->key, h->chunk.flags, next);
            memcpy(cvs, next, (m / 2) * 32);
        }
        push_cv(h, cvs, counter);
        in += n * ASTRID_BLAKE3_CHUNK_LEN;
        len -= n * ASTRID_BLAKE3_CHUNK_LEN;
        h->chunk.chunk_counter = counter + n;
    }
    chunk_update(&h->chunk, in, len);
    /* finalize() is const and folds the stack right to left, so leave it
     * holding exactly the complete subtrees left of the current chunk. */
    merge_stack(h, h->chunk.chunk_counter);
}

void astrid_blake3_finalize_seek(const astrid_blake3_hasher *h, uint64_t seek, uint8_t *out,
                                 size_t out_len)
{
    if (out_len == 0)
        return;
    output_t o;
    size_t remaining;
    if (h->cv_stack_len == 0) {
        o = chunk_output(&h->chunk);
        output_root_bytes(&o, seek, out, out_len);
        return;
    }
    if (chunk_len(&h->chunk) > 0) {
        o = chunk_output(&h->chunk);
        remaining = h->cv_stack_len;
    } else {
        o = parent_output(h->cv_stack + (size_t)(h->cv_stack_len - 2) * 32, h->key, h->chunk.flags);
        remaining = (size_t)h->cv_stack_len - 2;
    }
    while (remaining > 0) {
        remaining--;
        uint8_t block[64];
        memcpy(block, h->cv_stack + remaining * 32, 32);
        output_cv(&o, block + 32);
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
    uint8_t bin[ASTRID_BLAKE3_OUT_LEN];
    astrid_blake3(input, len, bin);
    for (size_t i = 0; i < sizeof bin; i++) {
        out[2 * i] = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 15];
    }
    out[2 * ASTRID_BLAKE3_OUT_LEN] = '\0';
}
