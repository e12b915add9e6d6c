/* tr_assert.h - assert() for internal invariants, also in the sanitizer build.
 *
 * The builds are RelWithDebInfo, which defines NDEBUG; under AddressSanitizer
 * (gcc's __SANITIZE_ADDRESS__, clang's __has_feature) NDEBUG is dropped again, so
 * a broken invariant aborts there, with a stack, instead of running on. Include it
 * instead of <assert.h>, last among the includes (it redefines assert()). Use
 * assert() only for what no input can cause: a fixed-size array's bound, an
 * impossible state; input errors get an error return.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TR_ASSERT_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TR_ASSERT_SANITIZED 1
#endif
#if defined(TR_ASSERT_SANITIZED) && defined(NDEBUG)
#undef NDEBUG
#endif
#include <assert.h>
