/* Thread-safe implementation of wabt's wasm-rt.h (see rt.h for the design). */
#include "capsule/wasm/rt.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <wasm-rt.h>

#if !WASM_RT_MEMCHECK_SIGNAL_HANDLER || WASM_RT_USE_STACK_DEPTH_COUNT
// cppcheck-suppress preprocessorErrorDirective
#error "the engine relies on guard-page memory checks and signal-based stack checks"
#endif

#define PAGE_SIZE 65536u
/* 4 GiB of addressable memory plus 4 GiB for the largest static offset. */
#define MEMORY_RESERVATION (8ull << 30)
/* wasm_rt_memory_t.size is 32-bit: 65536 pages would wrap it to zero. */
#define MAX_PAGES 65535u
/* Table elements are 24 bytes; this keeps a hostile table under 240 MiB. */
#define MAX_TABLE_ELEMS (10u * 1024 * 1024)
/* Native stack a host function may need beyond what the guest left. */
#define HOST_STACK_RESERVE (256u * 1024)
#define ALTSTACK_SIZE (128u * 1024)
#define MAX_EXCEPTION_SIZE 256u

typedef struct rt_thread {
    sigjmp_buf *target; /* innermost astrid_rt_call on this thread */
    volatile sig_atomic_t in_guest;
    astrid_rt_deadline *dl;
    uint64_t mem_cap_pages;
    uintptr_t stack_lo, stack_hi;
    int ready;
    void *altstack;
    jmp_buf *unwind_target;
    uint32_t exc_tag, exc_size;
    uint8_t exc[MAX_EXCEPTION_SIZE];
} rt_thread;

static _Thread_local rt_thread rt_tls;

/* ------------------------------------------------------------ signals */
static pthread_once_t signals_once = PTHREAD_ONCE_INIT;
static int signals_errno;
static struct sigaction prev_segv, prev_bus;
static pthread_key_t thread_key;

static void chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *prev = sig == SIGSEGV ? &prev_segv : &prev_bus;
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
        prev->sa_sigaction(sig, si, uc);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        /* Restore the default and return: the faulting instruction runs
         * again and the process dies as it would have without us. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
    }
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    rt_thread *t = &rt_tls;
    if (!t->in_guest || !t->target) {
        chain(sig, si, uc);
        return;
    }
    uintptr_t a = (uintptr_t)si->si_addr;
    /* A fault at or just below this thread's stack is the guard page. */
    int code = (a < t->stack_hi && a + (64u << 20) >= t->stack_lo) ? WASM_RT_TRAP_EXHAUSTION
                                                                   : WASM_RT_TRAP_OOB;
    t->in_guest = 0;
    siglongjmp(*t->target, code);
}

static void on_deadline(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    rt_thread *t = &rt_tls;
    /* In host code the signal only interrupts a blocking system call
     * (EINTR); the host function sees the deadline on its way out. */
    if (t->in_guest && t->target && t->dl && atomic_load(&t->dl->expired)) {
        t->in_guest = 0;
        siglongjmp(*t->target, ASTRID_RT_TRAP_DEADLINE);
    }
}

static void thread_exit(void *p)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p) {
        stack_t off;
        memset(&off, 0, sizeof off);
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, NULL);
    }
    free(p);
}

/* Another component (a test framework, a library) may have replaced our
 * fault handler since it was installed; put it back, chaining to theirs.
 * One sigaction query per outermost guest call. */
static pthread_mutex_t signal_install_lock = PTHREAD_MUTEX_INITIALIZER;

static void ensure_fault_handlers(void)
{
    static const int sigs[2] = {SIGSEGV, SIGBUS};
    /* SIGBUS is only re-checked when SIGSEGV was found replaced: whoever
     * replaces one usually replaces both, and this runs on every call. */
    for (int i = 0; i < 2; i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) != 0 ||
            ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault)) {
            if (i == 0)
                return;
            continue;
        }
        pthread_mutex_lock(&signal_install_lock);
        if (sigaction(sigs[i], NULL, &cur) == 0 &&
            !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault)) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
            sigemptyset(&sa.sa_mask);
            sa.sa_sigaction = on_fault;
            sigaction(sigs[i], &sa, sigs[i] == SIGSEGV ? &prev_segv : &prev_bus);
        }
        pthread_mutex_unlock(&signal_install_lock);
    }
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = on_fault;
    if (sigaction(SIGSEGV, &sa, &prev_segv) != 0 || sigaction(SIGBUS, &sa, &prev_bus) != 0) {
        signals_errno = errno;
        return;
    }
    /* No SA_RESTART: a host call blocked in a system call must wake up.
     * SA_NODEFER (as for faults): nothing is blocked while a handler runs,
     * so leaving one by siglongjmp needs no signal-mask restore and the
     * trap target can be a plain (syscall-free) sigsetjmp(buf, 0). */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sa.sa_sigaction = on_deadline;
    if (sigaction(ASTRID_RT_DEADLINE_SIGNAL, &sa, NULL) != 0) {
        signals_errno = errno;
        return;
    }
    signals_errno = pthread_key_create(&thread_key, thread_exit);
}

int astrid_rt_global_init(astrid_err *err)
{
    pthread_once(&signals_once, install_signals);
    if (signals_errno) {
        errno = signals_errno;
        return astrid_err_sys(err, "wasm runtime: installing signal handlers");
    }
    return 0;
}

static int thread_prepare(astrid_err *err)
{
    rt_thread *t = &rt_tls;
    if (t->ready)
        return 0;
    if (astrid_rt_global_init(err) < 0)
        return -1;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "wasm runtime: cannot read thread stack");
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "wasm runtime: cannot read thread stack");
    t->stack_lo = (uintptr_t)addr;
    t->stack_hi = (uintptr_t)addr + size;
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return astrid_err_sys(err, "wasm runtime: sigaltstack");
    if ((cur.ss_flags & SS_DISABLE) || cur.ss_size < ALTSTACK_SIZE) {
        void *mem = malloc(ALTSTACK_SIZE);
        if (!mem)
            return astrid_err_set(err, ASTRID_E_NOMEM, "wasm runtime: signal stack");
        stack_t ss;
        memset(&ss, 0, sizeof ss);
        ss.ss_sp = mem;
        ss.ss_size = ALTSTACK_SIZE;
        if (sigaltstack(&ss, NULL) != 0) {
            free(mem);
            return astrid_err_sys(err, "wasm runtime: sigaltstack");
        }
        t->altstack = mem;
        pthread_setspecific(thread_key, mem);
    }
    t->ready = 1;
    return 0;
}

/* ------------------------------------------------------------ calls */
static inline sig_atomic_t host_begin(void)
{
    sig_atomic_t s = rt_tls.in_guest;
    rt_tls.in_guest = 0;
    atomic_signal_fence(memory_order_seq_cst);
    return s;
}

static inline void host_end(sig_atomic_t s)
{
    atomic_signal_fence(memory_order_seq_cst);
    rt_tls.in_guest = s;
}

int astrid_rt_call(void (*fn)(void *), void *arg, astrid_rt_deadline *dl, uint64_t mem_cap_pages,
                   astrid_err *err)
{
    if (thread_prepare(err) < 0)
        return -1;
    rt_thread *t = &rt_tls;
    if (!t->target)
        ensure_fault_handlers();
    sigjmp_buf buf;
    sigjmp_buf *const saved_target = t->target;
    const sig_atomic_t saved_in_guest = t->in_guest;
    astrid_rt_deadline *const saved_dl = t->dl;
    const uint64_t saved_cap = t->mem_cap_pages;
    t->in_guest = 0;
    t->target = &buf;
    if (dl)
        t->dl = dl;
    t->mem_cap_pages = mem_cap_pages;
    int code = sigsetjmp(buf, 0);
    if (code == 0) {
        atomic_signal_fence(memory_order_seq_cst);
        t->in_guest = 1;
        atomic_signal_fence(memory_order_seq_cst);
        fn(arg);
        atomic_signal_fence(memory_order_seq_cst);
    }
    t->in_guest = 0;
    atomic_signal_fence(memory_order_seq_cst);
    t->target = saved_target;
    t->dl = saved_dl;
    t->mem_cap_pages = saved_cap;
    t->in_guest = saved_in_guest;
    return code;
}

_Noreturn void astrid_rt_trap(int code)
{
    rt_thread *t = &rt_tls;
    if (!t->target)
        abort(); /* engine bug: guest code running outside astrid_rt_call */
    t->in_guest = 0;
    siglongjmp(*t->target, code);
}

int astrid_rt_deadline_expired(void)
{
    astrid_rt_deadline *dl = rt_tls.dl;
    return dl && atomic_load(&dl->expired);
}

void astrid_rt_host_enter(void)
{
    rt_thread *t = &rt_tls;
    host_begin();
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (sp < t->stack_lo + HOST_STACK_RESERVE)
        astrid_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    if (astrid_rt_deadline_expired())
        astrid_rt_trap(ASTRID_RT_TRAP_DEADLINE);
}

void astrid_rt_host_leave(void)
{
    if (astrid_rt_deadline_expired())
        astrid_rt_trap(ASTRID_RT_TRAP_DEADLINE);
    host_end(1);
}

const char *astrid_rt_trap_name(int code)
{
    switch (code) {
    case WASM_RT_TRAP_OOB:
        return "out of bounds memory or table access";
    case WASM_RT_TRAP_INT_OVERFLOW:
        return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO:
        return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION:
        return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE:
        return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT:
        return "indirect call failed (null, out of table or "
               "signature mismatch)";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
        return "uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION:
        return "call stack exhausted";
    case ASTRID_RT_TRAP_DEADLINE:
        return "deadline exceeded";
    case ASTRID_RT_TRAP_MEMORY_LIMIT:
        return "memory limit exceeded";
    case ASTRID_RT_TRAP_RESOURCE:
        return "out of host resources";
    case ASTRID_RT_TRAP_HOST:
        return "host function error";
    case ASTRID_RT_TRAP_EXIT:
        return "exit";
    default:
        return "unknown trap";
    }
}

/* ------------------------------------------------------------ wasm-rt.h */
void wasm_rt_init(void)
{
    astrid_rt_global_init(NULL);
}

bool wasm_rt_is_initialized(void)
{
    return true;
}

void wasm_rt_free(void)
{
    /* Process-wide handlers stay: other engines may still run guests. */
}

void wasm_rt_trap(wasm_rt_trap_t code)
{
    astrid_rt_trap((int)code);
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap)
{
    return astrid_rt_trap_name((int)trap);
}

typedef struct functype {
    uint32_t nparams, nresults;
    wasm_rt_type_t *types; /* params then results */
} functype;

static pthread_mutex_t functype_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static functype *functypes;
static uint32_t nfunctypes, capfunctypes;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
    sig_atomic_t g = host_begin();
    uint32_t n = params + results;
    wasm_rt_type_t *types = malloc((n ? n : 1) * sizeof *types);
    if (!types)
        astrid_rt_trap(ASTRID_RT_TRAP_RESOURCE);
    va_list ap;
    va_start(ap, results);
    for (uint32_t i = 0; i < n; i++)
        types[i] = (wasm_rt_type_t)va_arg(ap, int);
    va_end(ap);
    uint32_t idx = 0;
    pthread_mutex_lock(&functype_registry_lock);
    for (uint32_t i = 0; i < nfunctypes && !idx; i++)
        if (functypes[i].nparams == params && functypes[i].nresults == results &&
            memcmp(functypes[i].types, types, n * sizeof *types) == 0)
            idx = i + 1;
    if (!idx) {
        if (nfunctypes == capfunctypes) {
            uint32_t cap = capfunctypes ? capfunctypes * 2 : 64;
            functype *f = realloc(functypes, cap * sizeof *f);
            if (!f) {
                pthread_mutex_unlock(&functype_registry_lock);
                free(types);
                astrid_rt_trap(ASTRID_RT_TRAP_RESOURCE);
            }
            functypes = f;
            capfunctypes = cap;
        }
        functypes[nfunctypes] = (functype){params, results, types};
        types = NULL;
        idx = ++nfunctypes;
    }
    pthread_mutex_unlock(&functype_registry_lock);
    free(types);
    host_end(g);
    return idx;
}

static atomic_uint tag_count;

uint32_t wasm_rt_register_tag(uint32_t size)
{
    if (size > MAX_EXCEPTION_SIZE)
        astrid_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    return atomic_fetch_add(&tag_count, 1);
}

void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *values)
{
    rt_thread *t = &rt_tls;
    if (size > MAX_EXCEPTION_SIZE)
        astrid_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    t->exc_tag = tag;
    t->exc_size = size;
    if (size)
        memcpy(t->exc, values, size);
}

void wasm_rt_throw(void)
{
    rt_thread *t = &rt_tls;
    if (!t->unwind_target)
        astrid_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
    siglongjmp(*(sigjmp_buf *)t->unwind_target, WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
}

WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void)
{
    return rt_tls.unwind_target;
}

void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *target)
{
    rt_tls.unwind_target = target;
}

uint32_t wasm_rt_exception_tag(void)
{
    return rt_tls.exc_tag;
}

uint32_t wasm_rt_exception_size(void)
{
    return rt_tls.exc_size;
}

void *wasm_rt_exception(void)
{
    return rt_tls.exc;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t initial, uint32_t max)
{
    memset(m, 0, sizeof *m);
    uint64_t cap = rt_tls.mem_cap_pages ? rt_tls.mem_cap_pages : MAX_PAGES;
    if (cap > MAX_PAGES)
        cap = MAX_PAGES;
    if (initial > cap)
        astrid_rt_trap(ASTRID_RT_TRAP_MEMORY_LIMIT);
    sig_atomic_t g = host_begin();
    void *a = mmap(NULL, MEMORY_RESERVATION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (a == MAP_FAILED)
        astrid_rt_trap(ASTRID_RT_TRAP_RESOURCE);
    if (initial && mprotect(a, (size_t)initial * PAGE_SIZE, PROT_READ | PROT_WRITE) != 0) {
        munmap(a, MEMORY_RESERVATION);
        astrid_rt_trap(ASTRID_RT_TRAP_RESOURCE);
    }
    host_end(g);
    m->data = a;
    m->pages = initial;
    m->max_pages = max > cap ? (uint32_t)cap : max;
    m->size = initial * PAGE_SIZE;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t delta)
{
    uint32_t old = m->pages;
    uint64_t want = (uint64_t)old + delta;
    if (want > m->max_pages || want > MAX_PAGES)
        return UINT32_MAX;
    if (delta == 0)
        return old;
    if (mprotect(m->data + (size_t)old * PAGE_SIZE, (size_t)delta * PAGE_SIZE,
                 PROT_READ | PROT_WRITE) != 0)
        return UINT32_MAX;
    m->pages = (uint32_t)want;
    m->size = (uint32_t)(want * PAGE_SIZE);
    return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m)
{
    if (m->data)
        munmap(m->data, MEMORY_RESERVATION);
    m->data = NULL;
}

#define DEFINE_TABLE_OPS(type)                                                                     \
    void wasm_rt_allocate_##type##_table(wasm_rt_##type##_table_t *t, uint32_t elements,           \
                                         uint32_t max_elements)                                    \
    {                                                                                              \
        memset(t, 0, sizeof *t);                                                                   \
        if (elements > MAX_TABLE_ELEMS)                                                            \
            astrid_rt_trap(ASTRID_RT_TRAP_MEMORY_LIMIT);                                           \
        sig_atomic_t g = host_begin();                                                             \
        t->data = calloc(elements ? elements : 1, sizeof(wasm_rt_##type##_t));                     \
        if (!t->data)                                                                              \
            astrid_rt_trap(ASTRID_RT_TRAP_RESOURCE);                                               \
        host_end(g);                                                                               \
        t->size = elements;                                                                        \
        t->max_size = max_elements > MAX_TABLE_ELEMS ? MAX_TABLE_ELEMS : max_elements;             \
    }                                                                                              \
    void wasm_rt_free_##type##_table(wasm_rt_##type##_table_t *t)                                  \
    {                                                                                              \
        free(t->data);                                                                             \
        t->data = NULL;                                                                            \
    }                                                                                              \
    uint32_t wasm_rt_grow_##type##_table(wasm_rt_##type##_table_t *t, uint32_t delta,              \
                                         wasm_rt_##type##_t init)                                  \
    {                                                                                              \
        uint32_t old = t->size;                                                                    \
        uint64_t want = (uint64_t)old + delta;                                                     \
        if (want > t->max_size)                                                                    \
            return UINT32_MAX;                                                                     \
        if (delta == 0)                                                                            \
            return old;                                                                            \
        sig_atomic_t g = host_begin();                                                             \
        void *d = realloc(t->data, want * sizeof(wasm_rt_##type##_t));                             \
        host_end(g);                                                                               \
        if (!d)                                                                                    \
            return UINT32_MAX;                                                                     \
        t->data = d;                                                                               \
        for (uint64_t i = old; i < want; i++)                                                      \
            t->data[i] = init;                                                                     \
        t->size = (uint32_t)want;                                                                  \
        return old;                                                                                \
    }

DEFINE_TABLE_OPS(funcref)
DEFINE_TABLE_OPS(externref)
