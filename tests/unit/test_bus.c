/* The IPC bus: matchers (§4.4 tables), validation, queues, interceptors,
 * rate limiting, concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "astrid/topic.h"

static void matcher_tables(void **state)
{
    (void)state;
    /* topic_matches: equal segment counts, '*' = exactly one segment */
    static const struct {
        const char *t, *p;
        bool m;
    } eq[] = {
        {"foo.v1.bar", "foo.v1.bar", true},
        {"foo.v1.bar", "foo.v1.*", true},
        {"foo.v1.bar.baz", "foo.v1.*", false},
        {"foo.v1", "foo.v1.*", false},
        {"foo.x.bar", "foo.*.bar", true},
        {"foo.v1.bar", "*.*.*", true},
        {"foo.v1.bar", "foo.v2.bar", false},
        {"foo..bar", "foo.*.bar", false},
        {"foo.v1.", "foo.v1.*", false},
        {"", "", false},
        {"a", "*", true},
        {"a.b", "*", false},
    };
    for (size_t i = 0; i < sizeof eq / sizeof eq[0]; i++)
        assert_int_equal(astrid_topic_matches(eq[i].t, eq[i].p), eq[i].m);
    /* subscription matcher: trailing ".*" = one or more further segments */
    static const struct {
        const char *t, *p;
        bool m;
    } sub[] = {
        {"foo.v1.bar", "foo.v1.*", true},
        {"foo.v1.bar.baz", "foo.v1.*", true},
        {"foo.v1.a.b.c.d", "foo.v1.*", true},
        {"foo.v1", "foo.v1.*", false},
        {"foo.v2.bar", "foo.v1.*", false},
        {"foo.v1.bar", "foo.v1.bar", true},
        {"foo.v1.bar.x", "foo.v1.bar", false},
        {"foo.x.bar", "foo.*.bar", true},
        {"foo.x.bar.y", "foo.*.*", true},
        {"foo.v1..x", "foo.v1.*", false},
        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u", "a.*", false}, /* > 20 segments */
        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t", "a.*", true},
    };
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
        assert_int_equal(astrid_topic_sub_matches_bus(sub[i].t, sub[i].p), sub[i].m);
}

static void topic_validation(void **state)
{
    (void)state;
    astrid_err e;
    char big[300];
    memset(big, 'a', 257);
    big[257] = 0;
    assert_int_equal(astrid_topic_check(big, ASTRID_TOPIC_PUBLISH, &e), -1);
    assert_int_equal(e.code, ASTRID_E_LIMIT);
    big[256] = 0;
    assert_int_equal(astrid_topic_check(big, ASTRID_TOPIC_PUBLISH, &e), 0);
    assert_int_equal(astrid_topic_check("a.b.c.d.e.f.g.h", ASTRID_TOPIC_PUBLISH, &e), 0);
    assert_int_equal(astrid_topic_check("a.b.c.d.e.f.g.h.i", ASTRID_TOPIC_PUBLISH, &e), -1);
    const char *bad[] = {"", ".a", "a.", "a..b"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(astrid_topic_check(bad[i], ASTRID_TOPIC_PATTERN, &e), -1);
    assert_int_equal(astrid_topic_check("a.*", ASTRID_TOPIC_PUBLISH, &e), -1);
    assert_int_equal(astrid_topic_check("a.*", ASTRID_TOPIC_SUBSCRIBE, &e), 0);
    assert_int_equal(astrid_topic_check("a.*.b", ASTRID_TOPIC_SUBSCRIBE, &e), -1);
    assert_int_equal(astrid_topic_check("*", ASTRID_TOPIC_SUBSCRIBE, &e), -1);
    assert_int_equal(astrid_topic_check("a.b*", ASTRID_TOPIC_SUBSCRIBE, &e), -1);
    assert_int_equal(astrid_topic_check("a.*.b", ASTRID_TOPIC_PATTERN, &e), 0);
}

static astrid_pub pub(const char *topic, const char *payload)
{
    return (astrid_pub){.topic = topic, .payload = payload, .len = strlen(payload)};
}

static void publish_delivers_and_stamps(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    astrid_sub *s = astrid_bus_subscribe(b, "agent.v1.*", NULL, &e);
    astrid_sub *other = astrid_bus_subscribe(b, "other.v1.x", NULL, &e);
    assert_non_null(s);
    assert_null(astrid_bus_subscribe(b, "agent.*.x", NULL, &e));
    astrid_pub p = pub("agent.v1.response", "{\"a\":1}");
    p.principal = "alice";
    p.is_json = true;
    uint64_t seq = 0;
    assert_int_equal(astrid_bus_publish(b, &p, &seq, &e), 0);
    assert_int_equal(seq, 1);
    p.topic = "agent.v1.deep.er";
    assert_int_equal(astrid_bus_publish(b, &p, &seq, &e), 0);
    assert_int_equal(seq, 2);
    p.topic = "agent.v1.*";
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), -1);
    const astrid_msg *m = astrid_sub_try_pop(s);
    assert_non_null(m);
    assert_string_equal(m->topic, "agent.v1.response");
    assert_string_equal(m->principal, "alice");
    assert_string_equal(m->source_id, "00000000-0000-0000-0000-000000000000");
    assert_int_equal(m->len, 7);
    assert_memory_equal(m->payload, "{\"a\":1}", 7);
    assert_true(m->is_json);
    assert_int_equal(m->seq, 1);
    astrid_msg_unref(m);
    assert_int_equal(astrid_sub_pop(s, 100, &m, &e), 0);
    assert_int_equal(m->seq, 2);
    astrid_msg_unref(m);
    assert_int_equal(astrid_sub_pop(s, 10, &m, &e), -1);
    assert_int_equal(e.code, ASTRID_E_TIMEOUT);
    assert_null(astrid_sub_try_pop(other));
    astrid_bus_stats st;
    astrid_bus_get_stats(b, &st);
    assert_int_equal(st.published, 2);
    assert_int_equal(st.delivered, 2);
    assert_int_equal(st.rejected, 1);
    astrid_sub_free(s);
    astrid_sub_free(other);
    astrid_bus_free(b);
}

static void payload_too_large(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    size_t n = ASTRID_BUS_MAX_PAYLOAD + 1;
    char *big = calloc(1, n);
    astrid_pub p = {.topic = "a.b", .payload = big, .len = n};
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), -1);
    assert_string_equal(e.msg, "Payload too large");
    p.len = ASTRID_BUS_MAX_PAYLOAD;
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    free(big);
    astrid_bus_free(b);
}

static void overflow(astrid_overflow pol, uint64_t first_seq)
{
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    astrid_sub_opts o = {.capacity = 4, .overflow = pol};
    astrid_sub *s = astrid_bus_subscribe(b, "t.*", &o, &e);
    for (int i = 0; i < 10; i++) {
        astrid_pub p = pub("t.x", "x");
        assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    }
    astrid_sub_stats ss;
    astrid_sub_get_stats(s, &ss);
    assert_int_equal(ss.dropped, 6);
    assert_int_equal(ss.queued, 4);
    astrid_bus_stats bs;
    astrid_bus_get_stats(b, &bs);
    assert_int_equal(bs.dropped, 6);
    const astrid_msg *m = astrid_sub_try_pop(s);
    assert_int_equal(m->seq, first_seq);
    astrid_msg_unref(m);
    astrid_sub_free(s); /* frees the 3 still queued */
    astrid_bus_free(b);
}

static void overflow_drop_oldest(void **state)
{
    (void)state;
    overflow(ASTRID_OVERFLOW_DROP_OLDEST, 7);
}

static void overflow_drop_newest(void **state)
{
    (void)state;
    overflow(ASTRID_OVERFLOW_DROP_NEWEST, 1);
}

static void count_wake(void *ctx)
{
    (*(int *)ctx)++;
}

static void wakeups_and_eventfd(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    int wakes = 0;
    astrid_sub_opts o = {.wake = count_wake, .wake_ctx = &wakes, .want_eventfd = true};
    astrid_sub *s = astrid_bus_subscribe(b, "t.x", &o, &e);
    int fd = astrid_sub_eventfd(s);
    assert_true(fd >= 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    astrid_pub p = pub("t.x", "1");
    astrid_bus_publish(b, &p, NULL, &e);
    astrid_bus_publish(b, &p, NULL, &e);
    assert_int_equal(wakes, 1); /* only the empty -> non-empty edge */
    assert_int_equal(poll(&pfd, 1, 0), 1);
    astrid_msg_unref(astrid_sub_try_pop(s));
    assert_int_equal(poll(&pfd, 1, 0), 1);
    astrid_msg_unref(astrid_sub_try_pop(s));
    assert_int_equal(poll(&pfd, 1, 0), 0);
    astrid_bus_publish(b, &p, NULL, &e);
    assert_int_equal(wakes, 2);
    astrid_sub_close(s);
    const astrid_msg *m;
    assert_int_equal(astrid_sub_pop(s, -1, &m, &e), 0); /* drains before reporting closed */
    astrid_msg_unref(m);
    assert_int_equal(astrid_sub_pop(s, -1, &m, &e), -1);
    assert_int_equal(e.code, ASTRID_E_NOTFOUND);
    astrid_sub_free(s);
    astrid_bus_free(b);
}

/* accept: a message the filter refuses is never queued and never wakes the reader */
static bool accept_odd(void *ctx, const astrid_msg *m)
{
    (*(int *)ctx)++;
    return m->len == 1 && m->payload[0] % 2 == 1;
}

static void accept_filter(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    int wakes = 0, asked = 0;
    astrid_sub_opts o = {
        .wake = count_wake, .wake_ctx = &wakes, .accept = accept_odd, .accept_ctx = &asked};
    astrid_sub *s = astrid_bus_subscribe(b, NULL, &o, &e);
    astrid_sub *all = astrid_bus_subscribe(b, NULL, NULL, &e);
    astrid_pub p2 = pub("t.x", "2"), p3 = pub("t.y", "3");
    assert_int_equal(astrid_bus_publish(b, &p2, NULL, &e), 0);
    assert_int_equal(wakes, 0); /* refused: not queued, no wake-up */
    assert_null(astrid_sub_try_pop(s));
    assert_int_equal(astrid_bus_publish(b, &p3, NULL, &e), 0);
    assert_int_equal(wakes, 1);
    assert_int_equal(asked, 2);
    const astrid_msg *m = astrid_sub_try_pop(s);
    assert_non_null(m);
    assert_string_equal(m->topic, "t.y");
    astrid_msg_unref(m);
    assert_null(astrid_sub_try_pop(s));
    /* other subscriptions see everything */
    for (int i = 0; i < 2; i++) {
        m = astrid_sub_try_pop(all);
        assert_non_null(m);
        astrid_msg_unref(m);
    }
    astrid_sub_close(s);
    astrid_sub_close(all);
    astrid_sub_free(s);
    astrid_sub_free(all);
    astrid_bus_free(b);
}

typedef struct icpt_ctx {
    char name;
    astrid_icpt_action act;
    const char *replace;
    char *trace;
    int fail;
} icpt_ctx;

static int record(void *ctx, const astrid_msg *msg, const uint8_t *payload, size_t len,
                  astrid_icpt_result *out)
{
    icpt_ctx *c = ctx;
    size_t n = strlen(c->trace);
    c->trace[n] = c->name;
    c->trace[n + 1] = '=';
    memcpy(c->trace + n + 2, payload, len);
    c->trace[n + 2 + len] = ' ';
    c->trace[n + 3 + len] = 0;
    if (c->fail)
        return -1;
    out->action = c->act;
    if (c->replace) {
        out->data = (uint8_t *)strdup(c->replace);
        out->len = strlen(c->replace);
    }
    if (c->act == ASTRID_ICPT_DENY)
        out->reason = strdup("no way");
    return 0;
}

static void interceptor_chain(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    char trace[256] = "";
    icpt_ctx a = {'a', ASTRID_ICPT_CONTINUE, "A", trace, 0};
    icpt_ctx c = {'c', ASTRID_ICPT_CONTINUE, NULL, trace, 0};
    icpt_ctx d = {'d', ASTRID_ICPT_DENY, NULL, trace, 0};
    icpt_ctx f = {'f', ASTRID_ICPT_FINAL, "F", trace, 0};
    icpt_ctx x = {'x', ASTRID_ICPT_CONTINUE, "X", trace, 1}; /* errors: chain continues */
    icpt_ctx n = {'n', ASTRID_ICPT_CONTINUE, "N", trace, 0};
    assert_int_not_equal(astrid_bus_intercept(b, "tool.v1.*", 100, record, &c, &e), 0);
    assert_int_not_equal(astrid_bus_intercept(b, "tool.*.run", 10, record, &a, &e), 0);
    assert_int_not_equal(astrid_bus_intercept(b, "tool.v1.run", 50, record, &x, &e), 0);
    uint64_t did = astrid_bus_intercept(b, "tool.v1.run", 200, record, &d, &e);
    assert_int_not_equal(astrid_bus_intercept(b, "tool.v1.run", 300, record, &n, &e), 0);
    assert_int_not_equal(astrid_bus_intercept(b, "tool.v1", 1, record, &n, &e), 0); /* no match */
    assert_int_equal(astrid_bus_intercept(b, "tool..x", 1, record, &n, &e), 0);
    astrid_sub *s = astrid_bus_subscribe(b, "tool.v1.run", NULL, &e);
    astrid_pub p = pub("tool.v1.run", "orig");
    astrid_bus_publish(b, &p, NULL, &e);
    const astrid_msg *m = astrid_sub_try_pop(s);
    astrid_chain_result r;
    assert_int_equal(astrid_bus_dispatch(b, m, &r, &e), 0);
    assert_string_equal(trace, "a=orig x=A c=A d=A ");
    assert_int_equal(r.action, ASTRID_ICPT_DENY);
    assert_string_equal(r.reason, "no way");
    assert_int_equal(r.stopped_by, did);
    assert_int_equal(r.errors, 1);
    astrid_chain_result_free(&r);
    /* FINAL at priority 150 stops before the deny */
    trace[0] = 0;
    uint64_t fid = astrid_bus_intercept(b, "tool.v1.run", 150, record, &f, &e);
    assert_int_not_equal(fid, 0);
    assert_int_equal(astrid_bus_dispatch(b, m, &r, &e), 0);
    assert_string_equal(trace, "a=orig x=A c=A f=A ");
    assert_int_equal(r.action, ASTRID_ICPT_FINAL);
    assert_int_equal(r.len, 1);
    assert_memory_equal(r.payload, "F", 1);
    astrid_chain_result_free(&r);
    /* without the stoppers the chain runs out: CONTINUE with the last payload */
    assert_int_equal(astrid_bus_unintercept(b, did), 0);
    assert_int_equal(astrid_bus_unintercept(b, did), -1);
    assert_int_equal(astrid_bus_unintercept(b, fid), 0);
    trace[0] = 0;
    assert_int_equal(astrid_bus_dispatch(b, m, &r, &e), 0);
    astrid_msg_unref(m);
    astrid_sub_free(s);
    astrid_bus_free(b);
    assert_int_equal(r.action, ASTRID_ICPT_CONTINUE);
    assert_string_equal(trace, "a=orig x=A c=A n=A ");
    assert_memory_equal(r.payload, "N", 1);
    astrid_chain_result_free(&r);
}

static int nop_icpt(void *ctx, const astrid_msg *msg, const uint8_t *payload, size_t len,
                    astrid_icpt_result *out)
{
    (void)ctx, (void)msg, (void)payload, (void)len;
    out->action = ASTRID_ICPT_CONTINUE;
    return 0;
}

/* The kernel's feeds: NULL pattern = every topic; intercepted_only = just
 * what some interceptor matches; batch pops; msg_out hands a reference. */
static void kernel_feeds(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    astrid_sub *all = astrid_bus_subscribe(b, NULL, NULL, &e);
    astrid_sub_opts io = {.intercepted_only = true};
    astrid_sub *ic = astrid_bus_subscribe(b, NULL, &io, &e);
    assert_non_null(all);
    assert_non_null(ic);
    assert_true(astrid_bus_intercept(b, "tool.*.run", 100, nop_icpt, NULL, &e) > 0);
    assert_true(astrid_bus_intercepted(b, "tool.v1.run"));
    assert_false(astrid_bus_intercepted(b, "tool.v1.other"));
    const char *topics[] = {"a.b", "tool.v1.run", "x.y.z.w", "tool.v1.other"};
    for (size_t i = 0; i < 4; i++) {
        astrid_pub p = pub(topics[i], "{}");
        assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    }
    const astrid_msg *m[8];
    assert_int_equal(astrid_sub_pop_batch(all, 0, m, 8), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(m[i]->topic, topics[i]);
        if (i)
            assert_true(m[i]->seq == m[i - 1]->seq + 1);
    }
    for (size_t i = 0; i < 4; i++)
        astrid_msg_unref(m[i]);
    assert_int_equal(astrid_sub_pop_batch(ic, 0, m, 8), 1);
    assert_string_equal(m[0]->topic, "tool.v1.run");
    astrid_msg_unref(m[0]);
    assert_int_equal(astrid_sub_pop_batch(ic, 0, m, 8), 0); /* empty: no wait */
    const astrid_msg *mine = NULL;
    astrid_pub p = pub("a.b", "{\"k\":1}");
    p.msg_out = &mine;
    uint64_t seq = 0;
    assert_int_equal(astrid_bus_publish(b, &p, &seq, &e), 0);
    assert_non_null(mine);
    assert_int_equal(mine->seq, seq);
    assert_memory_equal(mine->payload, "{\"k\":1}", 7);
    astrid_msg_unref(mine);
    assert_int_equal(astrid_sub_pop_batch(all, 0, m, 1), 1); /* max respected */
    astrid_msg_unref(m[0]);
    astrid_sub_free(all);
    astrid_sub_free(ic);
    astrid_bus_free(b);
}

/* Private delivery: a message on a private topic or with an addressee goes
 * only to private_router subscriptions (the socket fan-out), never to a
 * pattern subscription or the interceptor feed, whatever they match. */
static void private_delivery(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus *b = astrid_bus_new(NULL, &e);
    astrid_sub_opts ro = {.private_router = true}, io = {.intercepted_only = true};
    astrid_sub *router = astrid_bus_subscribe(b, NULL, &ro, &e);
    astrid_sub *all = astrid_bus_subscribe(b, NULL, NULL, &e);
    astrid_sub *wide = astrid_bus_subscribe(b, "astrid.*", NULL, &e);
    astrid_sub *demo = astrid_bus_subscribe(b, "demo.*", NULL, &e);
    astrid_sub *ic = astrid_bus_subscribe(b, NULL, &io, &e);
    assert_true(astrid_bus_intercept(b, "astrid.v1.response.*", 100, nop_icpt, NULL, &e) > 0);
    assert_true(astrid_bus_intercept(b, "demo.v1.*", 100, nop_icpt, NULL, &e) > 0);
    astrid_pub p = pub("astrid.v1.response.status", "{}"); /* private, no addressee */
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    p.to_source = "6f1c2d3e-0000-4000-8000-000000000001"; /* private, addressed */
    p.flags = ASTRID_PUB_DIRECT;
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    astrid_pub q = pub("demo.v1.x", "{}"); /* public topic, addressed to a principal */
    q.to_principal = "alice";
    assert_int_equal(astrid_bus_publish(b, &q, NULL, &e), 0);
    astrid_pub r = pub("demo.v1.y", "{}"); /* an ordinary broadcast */
    assert_int_equal(astrid_bus_publish(b, &r, NULL, &e), 0);
    const astrid_msg *m[8];
    assert_int_equal(astrid_sub_pop_batch(router, 0, m, 8), 4);
    assert_true(m[0]->restricted && !m[0]->to_source[0] && !m[0]->to_principal && !m[0]->direct);
    assert_true(m[1]->restricted && m[1]->direct);
    assert_string_equal(m[1]->to_source, "6f1c2d3e-0000-4000-8000-000000000001");
    assert_true(m[2]->restricted);
    assert_string_equal(m[2]->to_principal, "alice");
    assert_false(m[3]->restricted);
    for (size_t i = 0; i < 4; i++)
        astrid_msg_unref(m[i]);
    assert_int_equal(astrid_sub_pop_batch(all, 0, m, 8), 1); /* the broadcast only */
    assert_string_equal(m[0]->topic, "demo.v1.y");
    astrid_msg_unref(m[0]);
    assert_null(astrid_sub_try_pop(wide));
    assert_int_equal(astrid_sub_pop_batch(demo, 0, m, 8), 1);
    assert_string_equal(m[0]->topic, "demo.v1.y");
    astrid_msg_unref(m[0]);
    assert_int_equal(astrid_sub_pop_batch(ic, 0, m, 8), 1);
    assert_string_equal(m[0]->topic, "demo.v1.y");
    astrid_msg_unref(m[0]);
    /* which topics are private */
    static const struct {
        const char *t;
        astrid_topic_privacy p;
    } tp[] = {
        {"astrid.v1.response.status", ASTRID_TOPIC_PRIVATE_OUT},
        {"astrid.v1.response", ASTRID_TOPIC_PRIVATE_OUT},
        /* the capsule writes' progress (req_capsule.c) */
        {"astrid.v1.response.install_capsule.progress", ASTRID_TOPIC_PRIVATE_OUT},
        {"astrid.v1.admin.response.agent.list", ASTRID_TOPIC_PRIVATE_OUT},
        {"astrid.v1.connection.response.publish", ASTRID_TOPIC_PRIVATE_OUT},
        {"astrid.v1.approval", ASTRID_TOPIC_PRIVATE_OUT},
        {"astrid.v1.elicit", ASTRID_TOPIC_PRIVATE_OUT},
        {"astrid.v1.onboarding.required", ASTRID_TOPIC_PRIVATE_OUT},
        {"astrid.v1.approval.response.r1", ASTRID_TOPIC_PRIVATE_IN},
        {"astrid.v1.elicit.response.r1", ASTRID_TOPIC_PRIVATE_IN},
        {"astrid.v1.approvals", ASTRID_TOPIC_PUBLIC},
        {"astrid.v1.request.status", ASTRID_TOPIC_PUBLIC},
        {"astrid.v1.admin.agent.list", ASTRID_TOPIC_PUBLIC},
        {"astrid.v1.responses", ASTRID_TOPIC_PUBLIC},
        {"demo.v1.response.x", ASTRID_TOPIC_PUBLIC},
        {"astrid.v2.response.x", ASTRID_TOPIC_PUBLIC},
    };
    for (size_t i = 0; i < sizeof tp / sizeof tp[0]; i++)
        assert_int_equal(astrid_topic_privacy_of(tp[i].t), tp[i].p);
    astrid_sub_free(router);
    astrid_sub_free(all);
    astrid_sub_free(wide);
    astrid_sub_free(demo);
    astrid_sub_free(ic);
    astrid_bus_free(b);
}

static int64_t fake_now;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}
static uint64_t quota_of(void *ctx, const char *principal)
{
    (void)ctx;
    return principal && strcmp(principal, "small") == 0 ? 1000 : 0;
}

static void rate_limit(void **state)
{
    (void)state;
    astrid_err e;
    astrid_bus_opts o = {.quota = quota_of, .clock = fake_clock};
    fake_now = 1000000000;
    astrid_bus *b = astrid_bus_new(&o, &e);
    char buf[600] = {0};
    astrid_pub p = {.topic = "a.b",
                    .payload = buf,
                    .len = 600,
                    .principal = "small",
                    .source_id = "s1",
                    .flags = ASTRID_PUB_RATE_LIMIT};
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), -1);
    assert_string_equal(e.msg, "Rate limit exceeded");
    assert_int_equal(e.code, ASTRID_E_LIMIT);
    /* other source, same principal: its own bucket */
    p.source_id = "s2";
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    /* same source, other principal (default 10 MiB/s) */
    p.source_id = "s1";
    p.principal = "big";
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    /* not flagged: never limited */
    p.principal = "small";
    p.flags = 0;
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    p.flags = ASTRID_PUB_RATE_LIMIT;
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), -1);
    fake_now += 300000000; /* +0.3 s: 400 + 300 tokens = 700 */
    assert_int_equal(astrid_bus_publish(b, &p, NULL, &e), 0);
    astrid_bus_stats st;
    astrid_bus_get_stats(b, &st);
    assert_int_equal(st.rate_limited, 2);
    assert_int_equal(st.buckets, 3);
    /* stale buckets pruned once > 1000 exist and 60 s passed */
    for (int i = 0; i < 1001; i++) {
        char src[16];
        snprintf(src, sizeof src, "x%d", i);
        assert_int_equal(astrid_bus_rate_check(b, src, "big", 1, &e), 0);
    }
    fake_now += 61LL * 1000000000LL;
    assert_int_equal(astrid_bus_rate_check(b, "fresh", "big", 1, &e), 0);
    astrid_bus_get_stats(b, &st);
    assert_int_equal(st.buckets, 1);
    astrid_bus_free(b);
}

#define NPUB 4
#define NSUB 3
#define PER 5000
typedef struct {
    astrid_bus *b;
    int id;
} pub_arg;
typedef struct {
    astrid_sub *s;
    uint64_t got;
    uint64_t last[NPUB];
    int order_ok;
} sub_arg;

static void *pub_thread(void *arg)
{
    pub_arg *a = arg;
    for (int i = 0; i < PER; i++) {
        char pl[32];
        int n = snprintf(pl, sizeof pl, "%d:%d", a->id, i);
        astrid_pub p = {.topic = "c.v1.x", .payload = pl, .len = (size_t)n};
        astrid_bus_publish(a->b, &p, NULL, NULL);
    }
    return NULL;
}

static void *sub_thread(void *arg)
{
    sub_arg *a = arg;
    const astrid_msg *m;
    a->order_ok = 1;
    for (int i = 0; i < NPUB; i++)
        a->last[i] = 0;
    while (astrid_sub_pop(a->s, -1, &m, NULL) == 0) {
        char *colon;
        long id = strtol((const char *)m->payload, &colon, 10);
        long k = *colon == ':' ? strtol(colon + 1, NULL, 10) : -1;
        if (k >= 0 && id >= 0 && id < NPUB && strcmp(m->topic, "c.v1.x") == 0) {
            if ((uint64_t)k + 1 <= a->last[id])
                a->order_ok = 0; /* per-publisher order must hold */
            a->last[id] = (uint64_t)k + 1;
        } else {
            a->order_ok = 0; /* a corrupted (e.g. recycled too early) message */
        }
        a->got++;
        astrid_msg_unref(m);
    }
    return NULL;
}

static void run_concurrency(int pool)
{
    astrid_err e;
    astrid_bus_opts bo = {.pool = pool};
    astrid_bus *b = astrid_bus_new(&bo, &e);
    sub_arg sa[NSUB] = {0};
    pthread_t st[NSUB], pt[NPUB];
    astrid_sub_opts o = {.capacity = NPUB * PER};
    for (int i = 0; i < NSUB; i++) {
        sa[i].s = astrid_bus_subscribe(b, i == 0 ? "c.v1.x" : "c.*", &o, &e);
        pthread_create(&st[i], NULL, sub_thread, &sa[i]);
    }
    pub_arg pa[NPUB];
    for (int i = 0; i < NPUB; i++) {
        pa[i] = (pub_arg){b, i};
        pthread_create(&pt[i], NULL, pub_thread, &pa[i]);
    }
    for (int i = 0; i < NPUB; i++)
        pthread_join(pt[i], NULL);
    for (int i = 0; i < NSUB; i++)
        astrid_sub_close(sa[i].s);
    for (int i = 0; i < NSUB; i++) {
        pthread_join(st[i], NULL);
        assert_int_equal(sa[i].got, NPUB * PER);
        assert_true(sa[i].order_ok);
        astrid_sub_free(sa[i].s);
    }
    astrid_bus_stats bs;
    astrid_bus_get_stats(b, &bs);
    assert_int_equal(bs.published, NPUB * PER);
    assert_int_equal(bs.delivered, NSUB * NPUB * PER);
    assert_int_equal(bs.dropped, 0);
    astrid_bus_free(b);
}

static void concurrency(void **state)
{
    (void)state;
    run_concurrency(-1);
}

/* The same with message blocks recycled through the lock-free pool (on in
 * release builds; off by default under ASan, so forced on here). */
static void concurrency_pooled(void **state)
{
    (void)state;
    run_concurrency(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matcher_tables),
        cmocka_unit_test(topic_validation),
        cmocka_unit_test(publish_delivers_and_stamps),
        cmocka_unit_test(payload_too_large),
        cmocka_unit_test(overflow_drop_oldest),
        cmocka_unit_test(overflow_drop_newest),
        cmocka_unit_test(wakeups_and_eventfd),
        cmocka_unit_test(accept_filter),
        cmocka_unit_test(interceptor_chain),
        cmocka_unit_test(rate_limit),
        cmocka_unit_test(kernel_feeds),
        cmocka_unit_test(private_delivery),
        cmocka_unit_test(concurrency),
        cmocka_unit_test(concurrency_pooled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
