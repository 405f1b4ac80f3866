/* Force-included (-include) by scripts/lint.sh and scripts/scan.sh into the
 * tests only, never into a build. cmocka's assert macros call functions
 * that return when the check holds and longjmp out of the test when it
 * fails; nothing in cmocka.h tells a static analyzer so, and it then
 * explores the path past a failed assert_non_null(p) with p == NULL and
 * reports the dereference that follows (or a leak on the way out). Here
 * the checks the analyzer reasons about are restated as "holds, or a
 * function that does not return": the same condition, the failing path
 * cut where cmocka cuts it. The string and memory asserts keep cmocka's
 * definitions (their arguments are not narrowed by them). */
#ifndef ASTRID_LINT_CMOCKA_NORETURN_H
#define ASTRID_LINT_CMOCKA_NORETURN_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#ifdef __clang_analyzer__
__attribute__((noreturn)) void astrid_lint_test_failed(void);
#define ASTRID_LINT_HOLDS(c) ((c) ? (void)0 : astrid_lint_test_failed())
#undef assert_true
#define assert_true(c) ASTRID_LINT_HOLDS(c)
#undef assert_false
#define assert_false(c) ASTRID_LINT_HOLDS(!(c))
#undef assert_non_null
#define assert_non_null(c) ASTRID_LINT_HOLDS((c) != NULL)
#undef assert_null
#define assert_null(c) ASTRID_LINT_HOLDS((c) == NULL)
#undef assert_ptr_equal
#define assert_ptr_equal(a, b) ASTRID_LINT_HOLDS((const void *)(a) == (const void *)(b))
#undef assert_ptr_not_equal
#define assert_ptr_not_equal(a, b) ASTRID_LINT_HOLDS((const void *)(a) != (const void *)(b))
#undef assert_int_equal
#define assert_int_equal(a, b) ASTRID_LINT_HOLDS((a) == (b))
#undef assert_int_not_equal
#define assert_int_not_equal(a, b) ASTRID_LINT_HOLDS((a) != (b))
#undef assert_in_range
#define assert_in_range(v, lo, hi) ASTRID_LINT_HOLDS((v) >= (lo) && (v) <= (hi))
#undef fail
#define fail() astrid_lint_test_failed()
/* The message's arguments are still used (a value computed only for the
 * message would otherwise read as a dead store). */
__attribute__((noreturn, format(printf, 1, 2))) void astrid_lint_fail_msg(const char *fmt, ...);
#undef fail_msg
#define fail_msg(...) astrid_lint_fail_msg(__VA_ARGS__)
#endif
#endif
