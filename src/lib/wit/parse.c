/* WIT parser (include/astrid/wit.h): a one-token-lookahead recursive
 * descent over the text, every node in one arena owned by the package,
 * then a resolution pass (uses, named types, cycles, depth).
 *
 * Errors longjmp back to astrid_wit_parse: everything allocated lives in
 * the arena (or the doc buffer freed there), so nothing leaks and no
 * function needs an error path. Recursion is bounded: type expressions
 * by ASTRID_WIT_MAX_DEPTH while parsing, named types by the same limit
 * while resolving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/wit.h"

/* ------------------------------------------------------------ arena */
typedef struct blk {
    struct blk *next;
    max_align_t data[];
} blk;

typedef struct arena {
    blk *head;
} arena;

static void arena_free(arena *a)
{
    for (blk *b = a ? a->head : NULL, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(a);
}

/* ------------------------------------------------------------ parser */
enum { T_EOF, T_IDENT, T_PUNCT, T_ARROW };

typedef struct tok {
    int kind;
    char ch; /* T_PUNCT */
    const char *s;
    size_t n;
    bool escaped; /* %name */
    unsigned line, col;
    const char *doc;
} tok;

/* A name visible in a scope (interface, world or the package). */
enum { E_TYPE, E_USE, E_FUNC, E_IFACE, E_WORLD };
typedef struct entry {
    const char *name;
    int kind;
    const void *ptr; /* E_IFACE: NULL, see idx */
    unsigned line, col;
    size_t idx; /* E_IFACE: index in the package's interfaces */
} entry;

typedef struct scope {
    const char *name;
    entry *ents;
    size_t nents;
    astrid_wit_type **named; /* NAMED nodes to resolve here */
    size_t nnamed, capnamed;
} scope;

typedef struct parser {
    const char *src;
    size_t len, pos;
    unsigned line, col;
    tok cur;
    char *doc; /* pending doc comment text (malloc'd buffer) */
    size_t dlen, dcap;
    arena *a;
    astrid_err *err;
    jmp_buf jb;
    unsigned depth;
    scope *sc; /* where NAMED nodes being parsed are resolved */
} parser;

__attribute__((format(printf, 5, 6), noreturn)) static void
fail_at(parser *p, int code, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    astrid_err_set(p->err, code, "line %u, column %u: %s", line, col, msg);
    longjmp(p->jb, 1);
}
#define FAIL(p, t, ...) fail_at((p), ASTRID_E_PARSE, (t)->line, (t)->col, __VA_ARGS__)

static void *alloc(parser *p, size_t n)
{
    blk *b = calloc(1, sizeof *b + n);
    if (!b)
        fail_at(p, ASTRID_E_NOMEM, p->line, p->col, "out of memory");
    b->next = p->a->head;
    p->a->head = b;
    return b->data;
}

static char *dupn(parser *p, const char *s, size_t n)
{
    char *d = alloc(p, n + 1);
    memcpy(d, s, n);
    return d;
}

/* Append one element to an arena array (old copies stay in the arena:
 * at most twice the final size). */
static void *push(parser *p, void *arr, size_t *n, size_t *cap, size_t sz, const tok *at)
{
    if (*n >= ASTRID_WIT_MAX_ITEMS)
        fail_at(p, ASTRID_E_LIMIT, at->line, at->col, "more than %d items in one list",
                ASTRID_WIT_MAX_ITEMS);
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        void *na = alloc(p, nc * sz);
        if (*n)
            memcpy(na, arr, *n * sz);
        arr = na;
        *cap = nc;
    }
    (*n)++;
    return arr;
}
#define PUSH(p, arr, n, cap, at)                                                                   \
    ((arr) = push((p), (arr), &(n), &(cap), sizeof *(arr), (at)), &(arr)[(n)-1])
/* The same for arrays of pointers. */
#define PUSHP(p, arr, n, cap, at)                                                                  \
    ((arr) = push((p), (arr), &(n), &(cap), sizeof(void *), (at)), &(arr)[(n)-1])

/* ------------------------------------------------------------ lexer */
static int peekc(const parser *p, size_t off)
{
    return p->pos + off < p->len ? (unsigned char)p->src[p->pos + off] : -1;
}

static void adv(parser *p, size_t n)
{
    while (n-- && p->pos < p->len) {
        if (p->src[p->pos++] == '\n') {
            p->line++;
            p->col = 1;
        } else {
            p->col++;
        }
    }
}

static void doc_add(parser *p, const char *s, size_t n)
{
    size_t need = p->dlen + n + 2;
    if (need > p->dcap) {
        size_t nc = need * 2;
        char *d = realloc(p->doc, nc);
        if (!d)
            fail_at(p, ASTRID_E_NOMEM, p->line, p->col, "out of memory");
        p->doc = d;
        p->dcap = nc;
    }
    if (p->dlen)
        p->doc[p->dlen++] = '\n';
    memcpy(p->doc + p->dlen, s, n);
    p->dlen += n;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skip blanks and comments, collecting doc comments. */
static void skip(parser *p)
{
    for (;;) {
        int c = peekc(p, 0);
        if (is_space(c)) {
            adv(p, 1);
        } else if (c == '/' && peekc(p, 1) == '/') {
            bool doc = peekc(p, 2) == '/' && peekc(p, 3) != '/';
            size_t start = p->pos + (doc ? 3 : 2), end = start;
            while (end < p->len && p->src[end] != '\n')
                end++;
            if (doc) {
                if (start < end && p->src[start] == ' ')
                    start++;
                while (end > start && p->src[end - 1] == '\r')
                    end--;
                doc_add(p, p->src + start, end - start);
            }
            adv(p, end - p->pos);
        } else if (c == '/' && peekc(p, 1) == '*') {
            unsigned l = p->line, col = p->col;
            bool doc = peekc(p, 2) == '*' && peekc(p, 3) != '/' && peekc(p, 3) != '*';
            size_t start = p->pos + 2;
            adv(p, 2);
            size_t nest = 1;
            while (nest) {
                if (p->pos >= p->len)
                    fail_at(p, ASTRID_E_PARSE, l, col, "unterminated block comment");
                if (peekc(p, 0) == '*' && peekc(p, 1) == '/') {
                    nest--;
                    adv(p, 2);
                } else if (peekc(p, 0) == '/' && peekc(p, 1) == '*') {
                    nest++;
                    adv(p, 2);
                } else {
                    adv(p, 1);
                }
            }
            if (doc) {
                size_t s = start + 1, e = p->pos - 2;
                while (s < e && is_space((unsigned char)p->src[s]))
                    s++;
                while (e > s && is_space((unsigned char)p->src[e - 1]))
                    e--;
                doc_add(p, p->src + s, e - s);
            }
        } else {
            return;
        }
    }
}

static bool ident_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

/* WIT identifiers: words of letters and digits joined by single '-',
 * each word starting with a letter and all lower or all upper case. */
static bool valid_ident(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (!is_alpha((unsigned char)s[i]))
            return false;
        bool lower = s[i] >= 'a', upper = !lower;
        for (; i < n && s[i] != '-'; i++) {
            int c = (unsigned char)s[i];
            if (!(is_digit(c) || (lower && c >= 'a' && c <= 'z') ||
                  (upper && c >= 'A' && c <= 'Z')))
                return false;
        }
        if (i < n && ++i == n)
            return false; /* trailing '-' */
    }
    return n > 0;
}

static void next(parser *p)
{
    skip(p);
    tok t = {.line = p->line, .col = p->col};
    if (p->dlen) {
        t.doc = dupn(p, p->doc, p->dlen);
        p->dlen = 0;
    }
    int c = peekc(p, 0);
    if (c < 0) {
        t.kind = T_EOF;
    } else if (c == '%' || is_alpha(c) || (c == '_' && ident_char(peekc(p, 1)))) {
        t.kind = T_IDENT;
        t.escaped = c == '%';
        if (t.escaped)
            adv(p, 1);
        size_t s = p->pos;
        while (ident_char(peekc(p, 0)) || (peekc(p, 0) == '-' && peekc(p, 1) != '>' && p->pos > s))
            adv(p, 1);
        t.s = p->src + s;
        t.n = p->pos - s;
        if (t.n > ASTRID_WIT_MAX_IDENT)
            fail_at(p, ASTRID_E_LIMIT, t.line, t.col, "identifier longer than %d bytes",
                    ASTRID_WIT_MAX_IDENT);
        if (!valid_ident(t.s, t.n))
            FAIL(p, &t,
                 "'%.*s' is not a valid WIT identifier (kebab-case: words of letters and digits "
                 "joined by '-', each starting with a letter, all lower or all upper case)",
                 (int)t.n, t.s);
    } else if (c == '-' && peekc(p, 1) == '>') {
        t.kind = T_ARROW;
        adv(p, 2);
    } else if (strchr("{}()<>,:;.=@/*_", c)) {
        t.kind = T_PUNCT;
        t.ch = (char)c;
        adv(p, 1);
    } else if (c >= 0x21 && c < 0x7f) {
        FAIL(p, &t, "unexpected character '%c'", c);
    } else {
        FAIL(p, &t, "unexpected byte 0x%02x", (unsigned)c);
    }
    p->cur = t;
}

static bool is_punct(const parser *p, char c)
{
    return p->cur.kind == T_PUNCT && p->cur.ch == c;
}

/* A bare (not %-escaped) word: a keyword where the grammar allows one. */
static bool is_kw(const parser *p, const char *kw)
{
    return p->cur.kind == T_IDENT && !p->cur.escaped && strlen(kw) == p->cur.n &&
           memcmp(p->cur.s, kw, p->cur.n) == 0;
}

static const char *describe(const tok *t, char *buf, size_t n)
{
    if (t->kind == T_EOF)
        return "end of input";
    if (t->kind == T_ARROW)
        return "'->'";
    if (t->kind == T_PUNCT)
        snprintf(buf, n, "'%c'", t->ch);
    else
        snprintf(buf, n, "'%.*s'", (int)t->n, t->s);
    return buf;
}

static void expect(parser *p, char c, const char *what)
{
    if (!is_punct(p, c)) {
        char b[160];
        FAIL(p, &p->cur, "expected '%c' %s, found %s", c, what, describe(&p->cur, b, sizeof b));
    }
    next(p);
}

static bool accept(parser *p, char c)
{
    if (!is_punct(p, c))
        return false;
    next(p);
    return true;
}

static const char *const keywords[] = {
    "use",     "type",         "func",  "bool",   "u8",          "u16",      "u32",
    "u64",     "s8",           "s16",   "s32",    "s64",         "f32",      "f64",
    "float32", "float64",      "char",  "string", "option",      "result",   "list",
    "tuple",   "record",       "enum",  "flags",  "variant",     "resource", "own",
    "borrow",  "interface",    "world", "import", "export",      "package",  "include",
    "with",    "as",           "from",  "static", "constructor", "future",   "stream",
    "async",   "error-context"};

static bool keyword(const tok *t)
{
    if (t->kind != T_IDENT || t->escaped)
        return false;
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (strlen(keywords[i]) == t->n && memcmp(keywords[i], t->s, t->n) == 0)
            return true;
    return false;
}

/* A name (identifier; a keyword only when %-escaped). */
static const char *name(parser *p, const char *what, tok *at)
{
    char b[160];
    if (p->cur.kind != T_IDENT)
        FAIL(p, &p->cur, "expected %s, found %s", what, describe(&p->cur, b, sizeof b));
    if (keyword(&p->cur))
        FAIL(p, &p->cur, "'%.*s' is a keyword: write %%%.*s to use it as %s", (int)p->cur.n,
             p->cur.s, (int)p->cur.n, p->cur.s, what);
    if (at)
        *at = p->cur;
    const char *s = dupn(p, p->cur.s, p->cur.n);
    next(p);
    return s;
}

/* ------------------------------------------------------------ types */
static const struct {
    const char *kw;
    astrid_wit_kind kind;
} prims[] = {{"bool", ASTRID_WIT_BOOL},    {"u8", ASTRID_WIT_U8},   {"u16", ASTRID_WIT_U16},
             {"u32", ASTRID_WIT_U32},      {"u64", ASTRID_WIT_U64}, {"s8", ASTRID_WIT_S8},
             {"s16", ASTRID_WIT_S16},      {"s32", ASTRID_WIT_S32}, {"s64", ASTRID_WIT_S64},
             {"f32", ASTRID_WIT_F32},      {"f64", ASTRID_WIT_F64}, {"char", ASTRID_WIT_CHAR},
             {"string", ASTRID_WIT_STRING}};

static astrid_wit_type *parse_type(parser *p);

static astrid_wit_type *inner(parser *p, const char *ctor)
{
    expect(p, '<', ctor);
    astrid_wit_type *t = parse_type(p);
    return t;
}

static void close_angle(parser *p, const char *ctor)
{
    if (is_punct(p, ','))
        FAIL(p, &p->cur, "%s takes one type argument", ctor);
    expect(p, '>', "closing the type arguments");
}

static astrid_wit_type *parse_type(parser *p)
{
    tok at = p->cur;
    if (++p->depth > ASTRID_WIT_MAX_DEPTH)
        fail_at(p, ASTRID_E_LIMIT, at.line, at.col, "types nested deeper than %d levels",
                ASTRID_WIT_MAX_DEPTH);
    astrid_wit_type *t = alloc(p, sizeof *t);
    t->line = at.line;
    t->col = at.col;
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
        if (is_kw(p, prims[i].kw)) {
            t->kind = prims[i].kind;
            next(p);
            p->depth--;
            return t;
        }
    if (is_kw(p, "list")) {
        next(p);
        t->kind = ASTRID_WIT_LIST;
        t->elem = inner(p, "list");
        if (is_punct(p, ','))
            FAIL(p, &p->cur, "fixed-size lists (list<T, N>) are not supported");
        close_angle(p, "list");
    } else if (is_kw(p, "option")) {
        next(p);
        t->kind = ASTRID_WIT_OPTION;
        t->elem = inner(p, "option");
        close_angle(p, "option");
    } else if (is_kw(p, "result")) {
        next(p);
        t->kind = ASTRID_WIT_RESULT;
        if (accept(p, '<')) {
            if (accept(p, '_')) {
                expect(p, ',', "after '_' in result<_, E>");
                t->err = parse_type(p);
            } else {
                t->ok = parse_type(p);
                if (accept(p, ','))
                    t->err = parse_type(p);
            }
            expect(p, '>', "closing result<...>");
        }
    } else if (is_kw(p, "tuple")) {
        next(p);
        t->kind = ASTRID_WIT_TUPLE;
        expect(p, '<', "after tuple");
        const astrid_wit_type **items = NULL;
        size_t n = 0, cap = 0;
        do {
            if (is_punct(p, '>') && n)
                break; /* trailing comma */
            *PUSHP(p, items, n, cap, &p->cur) = parse_type(p);
        } while (accept(p, ','));
        expect(p, '>', "closing tuple<...>");
        t->items = items;
        t->nitems = n;
    } else if (is_kw(p, "own") || is_kw(p, "borrow") || is_kw(p, "resource")) {
        FAIL(p, &at, "resources (own, borrow) are not supported");
    } else if (is_kw(p, "future") || is_kw(p, "stream") || is_kw(p, "error-context")) {
        FAIL(p, &at, "'%.*s' (async) is not supported", (int)at.n, at.s);
    } else if (is_kw(p, "float32") || is_kw(p, "float64")) {
        FAIL(p, &at, "'%.*s' is the old spelling: write f%.2s", (int)at.n, at.s, at.s + 5);
    } else {
        t->kind = ASTRID_WIT_NAMED;
        t->name = name(p, "a type", NULL);
        scope *s = p->sc;
        *PUSHP(p, s->named, s->nnamed, s->capnamed, &at) = t;
    }
    p->depth--;
    return t;
}

/* ------------------------------------------------------------ items */
typedef struct items {
    astrid_wit_typedef **types;
    size_t ntypes, ctypes;
    astrid_wit_use *uses;
    size_t nuses, cuses;
    astrid_wit_func *funcs;
    size_t nfuncs, cfuncs;
    astrid_wit_world_item *witems;
    size_t nwitems, cwitems;
} items;

/* `{ a, b(T), ... }` bodies: fields with types (`name: T`), cases with
 * optional payloads (`name(T)`), or bare names. */
enum { B_FIELDS, B_CASES, B_NAMES };

static void parse_body(parser *p, int how, const char *what, astrid_wit_typedef *d)
{
    expect(p, '{', what);
    astrid_wit_field *f = NULL;
    size_t n = 0, cap = 0;
    while (!is_punct(p, '}')) {
        tok at;
        const char *doc = p->cur.doc;
        astrid_wit_field *x = PUSH(p, f, n, cap, &p->cur);
        x->doc = doc;
        x->name = name(p, how == B_FIELDS ? "a field name" : "a case name", &at);
        x->line = at.line;
        x->col = at.col;
        if (how == B_FIELDS) {
            expect(p, ':', "after the field name");
            x->type = parse_type(p);
        } else if (how == B_CASES && accept(p, '(')) {
            x->type = parse_type(p);
            expect(p, ')', "closing the case's payload");
        }
        if (!accept(p, ','))
            break;
    }
    if (!is_punct(p, '}')) {
        char b[160];
        FAIL(p, &p->cur, "expected ',' or '}' in %s, found %s", what,
             describe(&p->cur, b, sizeof b));
    }
    if (!n)
        FAIL(p, &p->cur, "%s must have at least one %s", what,
             how == B_FIELDS  ? "field"
             : how == B_CASES ? "case"
                              : "member");
    next(p);
    d->fields = f;
    d->nfields = n;
}

static void parse_typedef(parser *p, items *it, const char *owner)
{
    tok kw = p->cur;
    astrid_wit_typedef *d = alloc(p, sizeof *d);
    *PUSHP(p, it->types, it->ntypes, it->ctypes, &kw) = d;
    d->doc = kw.doc;
    d->owner = owner;
    d->line = kw.line;
    d->col = kw.col;
    next(p);
    char what[200];
    d->name = name(p, "a type name", NULL);
    snprintf(what, sizeof what, "%.*s '%s'", (int)kw.n, kw.s, d->name);
    if (kw.n == 4 && memcmp(kw.s, "type", 4) == 0) {
        d->kind = ASTRID_WIT_ALIAS;
        expect(p, '=', "after the type name");
        d->target = parse_type(p);
        expect(p, ';', "after the type alias");
    } else if (kw.n == 6 && memcmp(kw.s, "record", 6) == 0) {
        d->kind = ASTRID_WIT_RECORD;
        parse_body(p, B_FIELDS, what, d);
    } else if (kw.n == 7 && memcmp(kw.s, "variant", 7) == 0) {
        d->kind = ASTRID_WIT_VARIANT;
        parse_body(p, B_CASES, what, d);
    } else if (kw.n == 4 && memcmp(kw.s, "enum", 4) == 0) {
        d->kind = ASTRID_WIT_ENUM;
        parse_body(p, B_NAMES, what, d);
    } else {
        d->kind = ASTRID_WIT_FLAGS;
        parse_body(p, B_NAMES, what, d);
        if (d->nfields > ASTRID_WIT_MAX_FLAGS)
            fail_at(p, ASTRID_E_LIMIT, kw.line, kw.col, "%s has more than %d flags", what,
                    ASTRID_WIT_MAX_FLAGS);
    }
}

static void parse_use(parser *p, items *it)
{
    tok kw = p->cur;
    next(p);
    tok at;
    const char *iface = name(p, "an interface name", &at);
    if (is_punct(p, ':') || is_punct(p, '/') || is_punct(p, '@'))
        FAIL(p, &at,
             "use of another package's interface is not supported (only this "
             "package's interfaces)");
    if (is_punct(p, ';'))
        FAIL(p, &kw, "use %s; without a list of names: write use %s.{name, ...};", iface, iface);
    expect(p, '.', "after the interface name in use");
    expect(p, '{', "opening the list of names in use");
    size_t first = it->nuses;
    do {
        if (is_punct(p, '}') && it->nuses > first)
            break;
        tok nt;
        astrid_wit_use *u = PUSH(p, it->uses, it->nuses, it->cuses, &p->cur);
        u->iface = iface;
        u->name = name(p, "a type name", &nt);
        u->alias = u->name;
        u->line = nt.line;
        u->col = nt.col;
        if (is_kw(p, "as")) {
            next(p);
            u->alias = name(p, "an alias", NULL);
        }
    } while (accept(p, ','));
    expect(p, '}', "closing the list of names in use");
    expect(p, ';', "after use");
}

static void parse_params(parser *p, astrid_wit_func *f)
{
    expect(p, '(', "opening the parameters");
    astrid_wit_field *ps = NULL;
    size_t n = 0, cap = 0;
    while (!is_punct(p, ')')) {
        tok at;
        astrid_wit_field *x = PUSH(p, ps, n, cap, &p->cur);
        x->doc = p->cur.doc;
        x->name = name(p, "a parameter name", &at);
        x->line = at.line;
        x->col = at.col;
        expect(p, ':', "after the parameter name");
        x->type = parse_type(p);
        if (!accept(p, ','))
            break;
    }
    expect(p, ')', "closing the parameters");
    f->params = ps;
    f->nparams = n;
    if (p->cur.kind == T_ARROW) {
        next(p);
        if (is_punct(p, '('))
            FAIL(p, &p->cur,
                 "named or multiple results are not supported: return one type "
                 "(a record or tuple)");
        f->result = parse_type(p);
    }
}

/* `name: func(...) -> T;` with the name already read. */
static void parse_func(parser *p, astrid_wit_func *f, const tok *at, const char *nm)
{
    f->name = nm;
    f->doc = at->doc;
    f->line = at->line;
    f->col = at->col;
    expect(p, ':', "after the function name");
    if (is_kw(p, "static") || is_kw(p, "constructor") || is_kw(p, "async"))
        FAIL(p, &p->cur, "'%.*s' functions are not supported", (int)p->cur.n, p->cur.s);
    if (is_kw(p, "interface"))
        FAIL(p, &p->cur,
             "inline interfaces in a world are not supported: declare the "
             "interface and import it by name");
    if (!is_kw(p, "func")) {
        char b[160];
        FAIL(p, &p->cur,
             "expected func after '%s:', found %s (interfaces of other packages are not "
             "supported)",
             nm, describe(&p->cur, b, sizeof b));
    }
    next(p);
    parse_params(p, f);
    expect(p, ';', "after the function");
}

static bool typedef_kw(const parser *p)
{
    return is_kw(p, "record") || is_kw(p, "enum") || is_kw(p, "flags") || is_kw(p, "variant") ||
           is_kw(p, "type");
}

static void unsupported_item(parser *p)
{
    if (is_kw(p, "resource"))
        FAIL(p, &p->cur, "resources are not supported");
    if (is_punct(p, '@'))
        FAIL(p, &p->cur, "annotations (@since, @unstable, ...) are not supported");
    if (is_kw(p, "include"))
        FAIL(p, &p->cur, "include is not supported");
}

static void parse_iface_body(parser *p, items *it, const char *owner)
{
    expect(p, '{', "opening the interface");
    while (!is_punct(p, '}')) {
        unsupported_item(p);
        if (is_kw(p, "use")) {
            parse_use(p, it);
        } else if (typedef_kw(p)) {
            parse_typedef(p, it, owner);
        } else if (p->cur.kind == T_EOF) {
            FAIL(p, &p->cur, "unexpected end of input: missing '}' of %s", owner);
        } else {
            tok at;
            const char *nm = name(p, "a function, type or use", &at);
            parse_func(p, PUSH(p, it->funcs, it->nfuncs, it->cfuncs, &at), &at, nm);
        }
    }
    next(p);
}

static void parse_world_body(parser *p, items *it, const char *owner)
{
    expect(p, '{', "opening the world");
    while (!is_punct(p, '}')) {
        unsupported_item(p);
        if (is_kw(p, "use")) {
            parse_use(p, it);
        } else if (typedef_kw(p)) {
            parse_typedef(p, it, owner);
        } else if (is_kw(p, "import") || is_kw(p, "export")) {
            astrid_wit_world_item *w = PUSH(p, it->witems, it->nwitems, it->cwitems, &p->cur);
            w->is_export = p->cur.s[0] == 'e';
            w->doc = p->cur.doc;
            next(p);
            tok at;
            w->name = name(p, "an interface or function name", &at);
            w->line = at.line;
            w->col = at.col;
            if (is_punct(p, ':')) {
                astrid_wit_func *f = alloc(p, sizeof *f);
                at.doc = w->doc;
                parse_func(p, f, &at, w->name);
                w->func = f;
            } else {
                if (is_punct(p, '/') || is_punct(p, '@'))
                    FAIL(p, &at, "interfaces of other packages are not supported");
                expect(p, ';', "after the import or export");
            }
        } else if (p->cur.kind == T_EOF) {
            FAIL(p, &p->cur, "unexpected end of input: missing '}' of world %s", owner);
        } else {
            char b[160];
            FAIL(p, &p->cur, "expected import, export, use or a type in world %s, found %s", owner,
                 describe(&p->cur, b, sizeof b));
        }
    }
    next(p);
}

/* ------------------------------------------------------------ resolution */
static int ent_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->line != y->line ? (x->line < y->line ? -1 : 1)
                              : (x->col < y->col ? -1 : x->col > y->col);
}

/* Sort a scope's names; two alike are an error at the later one. */
static void seal(parser *p, scope *s, const char *what)
{
    if (s->nents < 2)
        return;
    qsort(s->ents, s->nents, sizeof *s->ents, ent_cmp);
    for (size_t i = 1; i < s->nents; i++)
        if (strcmp(s->ents[i - 1].name, s->ents[i].name) == 0)
            fail_at(p, ASTRID_E_PARSE, s->ents[i].line, s->ents[i].col,
                    "'%s' is defined twice in %s (first at line %u)", s->ents[i].name, what,
                    s->ents[i - 1].line);
}

static const entry *lookup(const scope *s, const char *nm)
{
    size_t lo = 0, hi = s->nents;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->ents[mid].name, nm);
        if (c == 0) {
            while (mid > 0 && strcmp(s->ents[mid - 1].name, nm) == 0)
                mid--;
            return &s->ents[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static entry *scope_ents(parser *p, const items *it, size_t *n)
{
    size_t total = it->ntypes + it->nuses + it->nfuncs;
    entry *e = alloc(p, (total ? total : 1) * sizeof *e);
    size_t k = 0;
    for (size_t i = 0; i < it->ntypes; i++)
        e[k++] = (entry){it->types[i]->name, E_TYPE, it->types[i], it->types[i]->line,
                         it->types[i]->col,  0};
    for (size_t i = 0; i < it->nuses; i++)
        e[k++] =
            (entry){it->uses[i].alias, E_USE, &it->uses[i], it->uses[i].line, it->uses[i].col, 0};
    for (size_t i = 0; i < it->nfuncs; i++)
        e[k++] = (entry){it->funcs[i].name, E_FUNC,           &it->funcs[i],
                         it->funcs[i].line, it->funcs[i].col, 0};
    *n = k;
    return e;
}

typedef struct pkgctx {
    parser *p;
    astrid_wit_iface **ifaces;
    scope *iscopes; /* parallel to ifaces */
    size_t nifaces;
    entry *pk; /* package-level names */
    size_t npk;
    scope pscope;
} pkgctx;

static const astrid_wit_typedef *resolve_use(pkgctx *c, astrid_wit_use *u, unsigned hops);

static const scope *iface_scope(pkgctx *c, const char *nm, const astrid_wit_iface **out)
{
    const entry *e = lookup(&c->pscope, nm);
    if (!e || e->kind != E_IFACE)
        return NULL;
    size_t i = e->idx;
    if (out)
        *out = c->ifaces[i];
    return &c->iscopes[i];
}

static const astrid_wit_typedef *entry_type(pkgctx *c, const entry *e, const char *nm,
                                            unsigned line, unsigned col, unsigned hops)
{
    if (e->kind == E_FUNC)
        fail_at(c->p, ASTRID_E_PARSE, line, col, "'%s' is a function, not a type", nm);
    if (e->kind == E_USE)
        return resolve_use(c, (astrid_wit_use *)e->ptr, hops + 1);
    return e->ptr;
}

static const astrid_wit_typedef *resolve_use(pkgctx *c, astrid_wit_use *u, unsigned hops)
{
    if (u->def)
        return u->def;
    if (hops > ASTRID_WIT_MAX_DEPTH)
        fail_at(c->p, ASTRID_E_PARSE, u->line, u->col, "use of '%s' goes round in a cycle",
                u->name);
    const scope *s = iface_scope(c, u->iface, NULL);
    if (!s)
        fail_at(c->p, ASTRID_E_PARSE, u->line, u->col, "use of unknown interface '%s'", u->iface);
    const entry *e = lookup(s, u->name);
    if (!e)
        fail_at(c->p, ASTRID_E_PARSE, u->line, u->col, "interface %s has no type '%s'", u->iface,
                u->name);
    u->def = entry_type(c, e, u->name, u->line, u->col, hops);
    return u->def;
}

static void resolve_names(pkgctx *c, scope *s)
{
    for (size_t i = 0; i < s->nnamed; i++) {
        astrid_wit_type *t = s->named[i];
        const entry *e = lookup(s, t->name);
        if (!e)
            fail_at(c->p, ASTRID_E_PARSE, t->line, t->col, "unknown type '%s' in %s", t->name,
                    s->name);
        t->def = entry_type(c, e, t->name, t->line, t->col, 0);
    }
}

/* Depth of a type counting named hops; a cycle or a depth over the limit
 * is an error. state: 0 new, 1 on the path, 2 done (depth in dep). */
typedef struct mark {
    const astrid_wit_typedef *def;
    int state;
    unsigned dep;
} mark;

typedef struct marks {
    mark *m;
    size_t n;
} marks;

static mark *mark_of(marks *ms, const astrid_wit_typedef *d)
{
    size_t lo = 0, hi = ms->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ms->m[mid].def == d)
            return &ms->m[mid];
        if ((uintptr_t)ms->m[mid].def < (uintptr_t)d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static unsigned def_depth(pkgctx *c, marks *ms, const astrid_wit_typedef *d, unsigned level);

static unsigned type_depth(pkgctx *c, marks *ms, const astrid_wit_type *t, unsigned level)
{
    /* level: nesting along the current path, a lower bound of the depth
     * of every definition on it; it also bounds this recursion. */
    if (level > ASTRID_WIT_MAX_DEPTH)
        fail_at(c->p, ASTRID_E_LIMIT, t->line, t->col,
                "types nested deeper than %d levels (named types included)", ASTRID_WIT_MAX_DEPTH);
    unsigned d = 0, e;
    switch (t->kind) {
    case ASTRID_WIT_LIST:
    case ASTRID_WIT_OPTION:
        d = type_depth(c, ms, t->elem, level + 1);
        break;
    case ASTRID_WIT_RESULT:
        if (t->ok)
            d = type_depth(c, ms, t->ok, level + 1);
        if (t->err && (e = type_depth(c, ms, t->err, level + 1)) > d)
            d = e;
        break;
    case ASTRID_WIT_TUPLE:
        for (size_t i = 0; i < t->nitems; i++)
            if ((e = type_depth(c, ms, t->items[i], level + 1)) > d)
                d = e;
        break;
    case ASTRID_WIT_NAMED:
        d = def_depth(c, ms, t->def, level + 1);
        break;
    default:
        break;
    }
    return d + 1;
}

static unsigned def_depth(pkgctx *c, marks *ms, const astrid_wit_typedef *d, unsigned level)
{
    mark *m = mark_of(ms, d);
    if (m->state == 2)
        return m->dep;
    if (m->state == 1)
        fail_at(c->p, ASTRID_E_PARSE, d->line, d->col,
                "type '%s' contains itself (recursive types are not allowed)", d->name);
    m->state = 1;
    unsigned dep = 0, e;
    if (d->kind == ASTRID_WIT_ALIAS)
        dep = type_depth(c, ms, d->target, level);
    for (size_t i = 0; i < d->nfields; i++)
        if (d->fields[i].type && (e = type_depth(c, ms, d->fields[i].type, level)) > dep)
            dep = e;
    /* Every walk of a parsed type is then at most this plus the nesting
     * of one type expression deep. */
    if (dep > ASTRID_WIT_MAX_DEPTH)
        fail_at(c->p, ASTRID_E_LIMIT, d->line, d->col,
                "type '%s' nests types deeper than %d levels (named types included)", d->name,
                ASTRID_WIT_MAX_DEPTH);
    m->state = 2;
    m->dep = dep;
    return dep;
}

static int mark_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const mark *)a)->def, y = (uintptr_t)((const mark *)b)->def;
    return x < y ? -1 : x > y;
}

static void check_depths(pkgctx *c, astrid_wit_typedef **all, size_t n)
{
    marks ms = {alloc(c->p, (n ? n : 1) * sizeof(mark)), n};
    for (size_t i = 0; i < n; i++)
        ms.m[i] = (mark){all[i], 0, 0};
    qsort(ms.m, n, sizeof(mark), mark_cmp);
    for (size_t i = 0; i < n; i++)
        def_depth(c, &ms, all[i], 0);
}

/* Param and field names must be unique within their list. */
static void unique_fields(parser *p, const astrid_wit_field *f, size_t n, const char *what,
                          const char *owner)
{
    if (n < 2)
        return;
    entry *e = alloc(p, n * sizeof *e);
    for (size_t i = 0; i < n; i++)
        e[i] = (entry){f[i].name, 0, NULL, f[i].line, f[i].col, 0};
    scope s = {.ents = e, .nents = n};
    char w[300];
    snprintf(w, sizeof w, "the %s of %s", what, owner);
    seal(p, &s, w);
}

/* ------------------------------------------------------------ top level */
typedef struct parsed_world {
    astrid_wit_world *w;
    items it;
    scope sc;
} parsed_world;

static void check_container(parser *p, const items *it)
{
    for (size_t i = 0; i < it->ntypes; i++) {
        const astrid_wit_typedef *d = it->types[i];
        unique_fields(p, d->fields, d->nfields, d->kind == ASTRID_WIT_RECORD ? "fields" : "cases",
                      d->name);
    }
    for (size_t i = 0; i < it->nfuncs; i++)
        unique_fields(p, it->funcs[i].params, it->funcs[i].nparams, "parameters",
                      it->funcs[i].name);
}

static astrid_wit_package *parse_all(parser *p)
{
    astrid_wit_package *pkg = alloc(p, sizeof *pkg);
    astrid_wit_iface **ifaces = NULL;
    size_t nif = 0, cif = 0;
    scope *isc = NULL;
    size_t nisc = 0, cisc = 0;
    items *iits = NULL;
    size_t niits = 0, ciits = 0;
    parsed_world *worlds = NULL;
    size_t nw = 0, cw = 0;
    entry *pk = NULL;
    size_t npk = 0, cpk = 0;

    next(p);
    if (is_kw(p, "package")) {
        pkg->doc = p->cur.doc;
        next(p);
        pkg->ns = name(p, "a package namespace", NULL);
        expect(p, ':', "between the package namespace and name");
        pkg->name = name(p, "a package name", NULL);
        if (is_punct(p, ':') || is_punct(p, '/'))
            FAIL(p, &p->cur, "nested package names are not supported");
        if (is_punct(p, '@')) {
            size_t s = p->pos, e = s;
            while (e < p->len &&
                   (is_alpha((unsigned char)p->src[e]) || is_digit((unsigned char)p->src[e]) ||
                    p->src[e] == '.' || p->src[e] == '-' || p->src[e] == '+'))
                e++;
            unsigned dots = 0;
            bool ok = e > s && is_digit((unsigned char)p->src[s]);
            for (size_t i = s; ok && i < e && p->src[i] != '-' && p->src[i] != '+'; i++) {
                if (p->src[i] == '.')
                    ok = ++dots <= 2 && i + 1 < e && is_digit((unsigned char)p->src[i + 1]);
                else
                    ok = is_digit((unsigned char)p->src[i]);
            }
            if (!ok || dots != 2 || e - s > 64)
                fail_at(p, ASTRID_E_PARSE, p->line, p->col,
                        "'%.*s' is not a semantic version (MAJOR.MINOR.PATCH)",
                        (int)(e - s > 64 ? 64 : e - s), p->src + s);
            pkg->version = dupn(p, p->src + s, e - s);
            adv(p, e - s);
            next(p);
        }
        expect(p, ';', "after the package declaration");
    }
    for (;;) {
        if (p->cur.kind == T_EOF)
            break;
        if (is_kw(p, "interface")) {
            astrid_wit_iface *f = alloc(p, sizeof *f);
            *PUSHP(p, ifaces, nif, cif, &p->cur) = f;
            f->doc = p->cur.doc;
            f->line = p->cur.line;
            f->col = p->cur.col;
            next(p);
            f->name = name(p, "an interface name", NULL);
            scope *s = PUSH(p, isc, nisc, cisc, &p->cur);
            memset(s, 0, sizeof *s);
            s->name = f->name;
            items *it = PUSH(p, iits, niits, ciits, &p->cur);
            memset(it, 0, sizeof *it);
            p->sc = s;
            parse_iface_body(p, it, f->name);
            f->types = (const astrid_wit_typedef *const *)it->types;
            f->ntypes = it->ntypes;
            f->uses = it->uses;
            f->nuses = it->nuses;
            f->funcs = it->funcs;
            f->nfuncs = it->nfuncs;
            *PUSH(p, pk, npk, cpk, &p->cur) =
                (entry){f->name, E_IFACE, NULL, f->line, f->col, nif - 1};
        } else if (is_kw(p, "world")) {
            parsed_world *pw = PUSH(p, worlds, nw, cw, &p->cur);
            memset(pw, 0, sizeof *pw);
            astrid_wit_world *w = pw->w = alloc(p, sizeof *w);
            w->doc = p->cur.doc;
            w->line = p->cur.line;
            w->col = p->cur.col;
            next(p);
            w->name = name(p, "a world name", NULL);
            pw->sc.name = w->name;
            p->sc = &pw->sc;
            parse_world_body(p, &pw->it, w->name);
            *PUSH(p, pk, npk, cpk, &p->cur) = (entry){w->name, E_WORLD, w, w->line, w->col, 0};
        } else if (is_kw(p, "package")) {
            FAIL(p, &p->cur, "the package declaration must come first, and only once");
        } else if (is_kw(p, "use")) {
            FAIL(p, &p->cur, "top-level use is not supported");
        } else {
            unsupported_item(p);
            char b[160];
            FAIL(p, &p->cur, "expected interface or world, found %s",
                 describe(&p->cur, b, sizeof b));
        }
    }

    /* resolve */
    pkgctx c = {.p = p, .ifaces = ifaces, .iscopes = isc, .nifaces = nif};
    c.pscope = (scope){.name = "the package", .ents = pk, .nents = npk};
    seal(p, &c.pscope, "the package");
    for (size_t i = 0; i < nif; i++) {
        isc[i].ents = scope_ents(p, &iits[i], &isc[i].nents);
        char w[200];
        snprintf(w, sizeof w, "interface %s", ifaces[i]->name);
        seal(p, &isc[i], w);
        check_container(p, &iits[i]);
    }
    for (size_t i = 0; i < nw; i++) {
        parsed_world *pw = &worlds[i];
        pw->sc.ents = scope_ents(p, &pw->it, &pw->sc.nents);
        char w[200];
        snprintf(w, sizeof w, "world %s", pw->w->name);
        seal(p, &pw->sc, w);
        check_container(p, &pw->it);
    }
    for (size_t i = 0; i < nif; i++) {
        for (size_t k = 0; k < iits[i].nuses; k++)
            resolve_use(&c, &iits[i].uses[k], 0);
        resolve_names(&c, &isc[i]);
    }
    astrid_wit_typedef **all = NULL;
    size_t nall = 0, call = 0;
    tok none = {.line = 1, .col = 1};
    for (size_t i = 0; i < nif; i++)
        for (size_t k = 0; k < iits[i].ntypes; k++)
            *PUSHP(p, all, nall, call, &none) = iits[i].types[k];
    for (size_t i = 0; i < nw; i++) {
        parsed_world *pw = &worlds[i];
        for (size_t k = 0; k < pw->it.nuses; k++)
            resolve_use(&c, &pw->it.uses[k], 0);
        resolve_names(&c, &pw->sc);
        for (size_t k = 0; k < pw->it.ntypes; k++)
            *PUSHP(p, all, nall, call, &none) = pw->it.types[k];
        /* imports and exports: interfaces by name, names unique per side */
        entry *e = alloc(p, (pw->it.nwitems ? pw->it.nwitems : 1) * sizeof *e);
        size_t ne[2] = {0, 0};
        for (int side = 0; side < 2; side++) {
            ne[side] = 0;
            for (size_t k = 0; k < pw->it.nwitems; k++) {
                astrid_wit_world_item *wi = &pw->it.witems[k];
                if (wi->is_export != side)
                    continue;
                e[ne[side]++] = (entry){wi->name, 0, NULL, wi->line, wi->col, 0};
                if (!wi->func && !iface_scope(&c, wi->name, &wi->iface))
                    fail_at(p, ASTRID_E_PARSE, wi->line, wi->col,
                            "world %s: unknown interface '%s'", pw->w->name, wi->name);
            }
            scope s = {.ents = e, .nents = ne[side]};
            char w[200];
            snprintf(w, sizeof w, "the %s of world %s", side ? "exports" : "imports", pw->w->name);
            seal(p, &s, w);
        }
        pw->w->items = pw->it.witems;
        pw->w->nitems = pw->it.nwitems;
        pw->w->types = (const astrid_wit_typedef *const *)pw->it.types;
        pw->w->ntypes = pw->it.ntypes;
        pw->w->uses = pw->it.uses;
        pw->w->nuses = pw->it.nuses;
    }
    check_depths(&c, all, nall);

    pkg->ifaces = (const astrid_wit_iface *const *)ifaces;
    pkg->nifaces = nif;
    astrid_wit_world **ws = alloc(p, (nw ? nw : 1) * sizeof(astrid_wit_world *));
    for (size_t i = 0; i < nw; i++)
        ws[i] = worlds[i].w;
    pkg->worlds = (const astrid_wit_world *const *)ws;
    pkg->nworlds = nw;
    return pkg;
}

/* Where byte `off` is, for an error about it. */
static void locate(const char *s, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Offset of the first byte that is not valid UTF-8, or len. */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!n || i + n > len)
            return i;
        uint32_t cp = n == 1 ? c : c & (0x7fu >> n);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n;
    }
    return len;
}

astrid_wit_package *astrid_wit_parse(const char *src, size_t len, astrid_err *err)
{
    if (len > ASTRID_WIT_MAX_INPUT) {
        astrid_err_set(err, ASTRID_E_LIMIT, "line 1, column 1: WIT text larger than %u bytes",
                       ASTRID_WIT_MAX_INPUT);
        return NULL;
    }
    size_t bad = utf8_bad((const unsigned char *)src, len);
    if (bad < len) {
        unsigned l, c;
        locate(src, bad, &l, &c);
        astrid_err_set(err, ASTRID_E_PARSE, "line %u, column %u: not valid UTF-8", l, c);
        return NULL;
    }
    parser *p = calloc(1, sizeof *p);
    arena *a = calloc(1, sizeof *a);
    if (!p || !a) {
        free(p);
        free(a);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    *p = (parser){.src = src, .len = len, .line = 1, .col = 1, .a = a, .err = err};
    scope top = {.name = "the package"};
    p->sc = &top;
    astrid_wit_package *pkg = NULL;
    if (setjmp(p->jb) == 0) {
        pkg = parse_all(p);
        pkg->arena_ = a;
    } else {
        arena_free(a);
    }
    free(p->doc);
    free(p);
    return pkg;
}

void astrid_wit_free(astrid_wit_package *pkg)
{
    if (pkg)
        arena_free(pkg->arena_);
}

const astrid_wit_iface *astrid_wit_find_iface(const astrid_wit_package *pkg, const char *nm)
{
    for (size_t i = 0; pkg && i < pkg->nifaces; i++)
        if (strcmp(pkg->ifaces[i]->name, nm) == 0)
            return pkg->ifaces[i];
    return NULL;
}

const astrid_wit_world *astrid_wit_find_world(const astrid_wit_package *pkg, const char *nm)
{
    for (size_t i = 0; pkg && i < pkg->nworlds; i++)
        if (strcmp(pkg->worlds[i]->name, nm) == 0)
            return pkg->worlds[i];
    return NULL;
}

const astrid_wit_func *astrid_wit_find_func(const astrid_wit_iface *f, const char *nm)
{
    for (size_t i = 0; f && i < f->nfuncs; i++)
        if (strcmp(f->funcs[i].name, nm) == 0)
            return &f->funcs[i];
    return NULL;
}

const astrid_wit_typedef *astrid_wit_find_type(const astrid_wit_iface *f, const char *nm)
{
    for (size_t i = 0; f && i < f->ntypes; i++)
        if (strcmp(f->types[i]->name, nm) == 0)
            return f->types[i];
    for (size_t i = 0; f && i < f->nuses; i++)
        if (strcmp(f->uses[i].alias, nm) == 0)
            return f->uses[i].def;
    return NULL;
}
