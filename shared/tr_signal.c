#include "tr_signal.h"

#include <string.h>

#include "tr_assert.h"

/* A handler may only touch lock-free atomics (C11 7.14.1.1). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free");

static atomic_int stop_flag;
static atomic_int hup_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    hup_flag = 1;
}

int tr_signal_install(tr_signal_flags *flags)
{
    assert(flags != NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = on_hup;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return -1;
    flags->stop = &stop_flag;
    flags->hup = &hup_flag;
    return 0;
}

int tr_signal_block(sigset_t *wait_mask)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    sigset_t block;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&block, sigs[i]);
    if (sigprocmask(SIG_BLOCK, &block, wait_mask) != 0)
        return -1;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigdelset(wait_mask, sigs[i]);
    return 0;
}
