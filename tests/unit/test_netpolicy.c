/* test_netpolicy.c - tr_netpolicy: the named policies at every range edge, wrapped
 * IPv4 forms, allow/deny lists and their order, ports, self, and URLs by text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tr_cluster_self.h"
#include "tr_netpolicy.h"

/* A policy from option texts; fails the test when they do not parse. */
static tr_netpolicy pol(const char *kind, const char *allow, const char *deny)
{
    tr_netpolicy p;
    char err[256] = "";
    if (tr_netpolicy_parse(&p, kind, allow, deny, err, sizeof err) != 0)
        print_error("parse %s allow '%s' deny '%s': %s\n", kind ? kind : "(null)",
                    allow ? allow : "", deny ? deny : "", err);
    assert_string_equal(err, "");
    return p;
}

/* The verdict for a connection to literal address `addr` (IPv4 or IPv6) and port. */
static tr_netpolicy_verdict at(const tr_netpolicy *p, const char *host, const char *addr,
                               int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
    } else {
        fail_msg("bad test address %s", addr);
    }
    const char *why = "unset";
    tr_netpolicy_verdict v = tr_netpolicy_check_addr(p, host, (struct sockaddr *)&ss, &why);
    if (v == TR_NETPOLICY_ALLOW)
        assert_null(why);
    else
        assert_non_null(why);
    return v;
}

#define ALLOWED(p, a) assert_int_equal(at(&(p), NULL, (a), 80), TR_NETPOLICY_ALLOW)
#define REFUSED(p, a) assert_int_equal(at(&(p), NULL, (a), 80), TR_NETPOLICY_REFUSE)

/* Each range of `public`, with the address just inside each edge refused and the one
 * just outside allowed. */
static void test_public_edges(void **state)
{
    (void)state;
    tr_netpolicy p = pol("public", NULL, NULL);
    static const char *const refused[] = {
        "0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0",
        "100.127.255.255", "127.0.0.1", "127.255.255.255", "169.254.0.0", "169.254.169.254",
        "169.254.255.255", "172.16.0.0", "172.31.255.255", "192.0.0.0", "192.0.0.255",
        "192.168.0.0", "192.168.255.255", "198.18.0.0", "198.19.255.255", "224.0.0.0",
        "239.255.255.255", "240.0.0.0", "255.255.255.254", "255.255.255.255", "::", "::1",
        "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00:ec2::254", "fe80::",
        "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::", "ff02::1",
    };
    static const char *const allowed[] = {
        "1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255",
        "172.32.0.0", "191.255.255.255", "192.0.1.0", "192.167.255.255", "192.169.0.0",
        "198.17.255.255", "198.20.0.0", "223.255.255.255", "8.8.8.8", "2001:4860::8888",
        "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::", "fec0::", "feff::",
        "2606:4700::1111", "::2:0:0:0",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (at(&p, NULL, refused[i], 80) != TR_NETPOLICY_REFUSE)
            fail_msg("public allowed %s", refused[i]);
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (at(&p, NULL, allowed[i], 80) != TR_NETPOLICY_ALLOW)
            fail_msg("public refused %s", allowed[i]);
    }
}

/* IPv4-mapped, NAT64 and IPv4-compatible forms are judged as the IPv4 inside. */
static void test_wrapped_forms(void **state)
{
    (void)state;
    tr_netpolicy pub = pol("public", NULL, NULL);
    tr_netpolicy prv = pol("private", NULL, NULL);
    REFUSED(pub, "::ffff:127.0.0.1");
    REFUSED(pub, "::ffff:7f00:1");
    REFUSED(pub, "64:ff9b::127.0.0.1");
    REFUSED(pub, "64:ff9b::a00:1");
    REFUSED(pub, "::127.0.0.1");
    REFUSED(pub, "::ffff:10.1.2.3");
    REFUSED(pub, "::ffff:0.0.0.0");
    ALLOWED(pub, "::ffff:8.8.8.8");
    ALLOWED(pub, "64:ff9b::8.8.8.8");
    ALLOWED(pub, "::8.8.8.8");
    REFUSED(prv, "::ffff:169.254.169.254");
    REFUSED(prv, "64:ff9b::169.254.169.254");
    REFUSED(prv, "::169.254.169.254");
    REFUSED(prv, "::ffff:224.0.0.1");
    ALLOWED(prv, "::ffff:127.0.0.1");
    /* ::1 and :: are not IPv4-compatible forms of 0.0.0.1 and 0.0.0.0. */
    ALLOWED(prv, "::1");
    REFUSED(prv, "::");
    /* 64:ff9b:1::/48 (local-use NAT64) is not unwrapped. */
    ALLOWED(pub, "64:ff9b:1::7f00:1");
}

static void test_private(void **state)
{
    (void)state;
    tr_netpolicy p = pol(NULL, NULL, NULL); /* the default */
    assert_int_equal(p.kind, TR_NETPOLICY_PRIVATE);
    ALLOWED(p, "127.0.0.1");
    ALLOWED(p, "10.1.2.3");
    ALLOWED(p, "192.168.1.1");
    ALLOWED(p, "172.16.0.1");
    ALLOWED(p, "100.64.0.1");
    ALLOWED(p, "::1");
    ALLOWED(p, "fd12::1");
    ALLOWED(p, "8.8.8.8");
    REFUSED(p, "169.254.169.254");
    REFUSED(p, "169.254.0.1");
    REFUSED(p, "0.0.0.0");
    REFUSED(p, "0.1.2.3");
    REFUSED(p, "::");
    REFUSED(p, "fe80::1");
    REFUSED(p, "fd00:ec2::254");
    ALLOWED(p, "fd00:ec2::253");
    REFUSED(p, "224.0.0.1");
    REFUSED(p, "ff02::1");
    REFUSED(p, "255.255.255.255");
    assert_int_equal(at(&p, NULL, "10.0.0.1", 0), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "10.0.0.1", 1), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, NULL, "10.0.0.1", 65535), TR_NETPOLICY_ALLOW);
}

static void test_any(void **state)
{
    (void)state;
    tr_netpolicy p = pol("any", NULL, "10.9.0.0/16");
    ALLOWED(p, "169.254.169.254");
    ALLOWED(p, "0.0.0.0");
    ALLOWED(p, "127.0.0.1");
    REFUSED(p, "10.9.1.1"); /* the deny list still applies */
    ALLOWED(p, "10.8.1.1");
}

/* Deny first, then allow, then the policy; ports; host names. */
static void test_lists(void **state)
{
    (void)state;
    tr_netpolicy p = pol("public", "127.0.0.1:9000, 10.0.0.0/8,[::1]:7000,hooks.internal:8443",
                         "10.1.0.0/16,evil.test,[fd00::/8]:443");
    assert_int_equal(p.nrules, 7);
    assert_true(p.has_hosts);
    assert_int_equal(at(&p, NULL, "127.0.0.1", 9000), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, NULL, "127.0.0.1", 9001), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "::ffff:127.0.0.1", 9000), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, NULL, "10.200.0.1", 80), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, NULL, "10.1.0.1", 80), TR_NETPOLICY_REFUSE); /* deny wins */
    assert_int_equal(at(&p, NULL, "::1", 7000), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, NULL, "::1", 7001), TR_NETPOLICY_REFUSE);
    /* A host entry: the URL host, not the address, any case, trailing dot. */
    assert_int_equal(at(&p, "hooks.internal", "192.168.5.5", 8443), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, "HOOKS.Internal.", "192.168.5.5", 8443), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, "hooks.internal", "192.168.5.5", 8444), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, "other.internal", "192.168.5.5", 8443), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "192.168.5.5", 8443), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, "evil.test", "8.8.8.8", 80), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, "good.test", "8.8.8.8", 80), TR_NETPOLICY_ALLOW);
    /* deny [fd00::/8]:443 only on 443 (the rest of fd00::/8 refused by public anyway) */
    tr_netpolicy a = pol("any", NULL, "[fd00::/8]:443");
    assert_int_equal(at(&a, NULL, "fd01::1", 443), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&a, NULL, "fd01::1", 444), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&a, NULL, "fe01::1", 443), TR_NETPOLICY_ALLOW);
    /* An allow entry lifts metadata under private (explicitly allowed). */
    tr_netpolicy m = pol("private", "169.254.169.254", NULL);
    ALLOWED(m, "169.254.169.254");
    REFUSED(m, "169.254.169.253");
    /* /0 and odd prefixes */
    tr_netpolicy z = pol("any", NULL, "0.0.0.0/0");
    REFUSED(z, "8.8.8.8");
    REFUSED(z, "::ffff:8.8.8.8");
    ALLOWED(z, "2001:db8::1");
    tr_netpolicy odd = pol("any", NULL, "192.168.0.0/23,2001:db8::/33");
    REFUSED(odd, "192.168.1.255");
    ALLOWED(odd, "192.168.2.0");
    REFUSED(odd, "2001:db8:7fff::1");
    ALLOWED(odd, "2001:db8:8000::1");
    /* host bits in the entry are ignored */
    tr_netpolicy hb = pol("any", NULL, "10.1.2.3/8");
    REFUSED(hb, "10.200.0.0");
}

static void test_list_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "10.0.0.0/33", "::/129", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:x", "[::1",
        "[::1]x", "bad host!", "10.0.0.0/", "10.0.0.0/-1", "h:1:2x", "/8", "a/8",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tr_netpolicy p;
        char err[256] = "";
        if (tr_netpolicy_parse(&p, "private", bad[i], NULL, err, sizeof err) != -1)
            fail_msg("allow entry '%s' accepted", bad[i]);
        assert_non_null(strstr(err, "--callback-allow"));
        if (tr_netpolicy_parse(&p, "private", NULL, bad[i], err, sizeof err) != -1)
            fail_msg("deny entry '%s' accepted", bad[i]);
        assert_non_null(strstr(err, "--callback-deny"));
    }
    tr_netpolicy p;
    char err[256] = "";
    assert_int_equal(tr_netpolicy_parse(&p, "open", NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "--callback-policy"));
    /* empty items and spaces are fine */
    p = pol("private", " , 10.0.0.1 ,,", "");
    assert_int_equal(p.nrules, 1);
    /* too many entries */
    char many[2048] = "";
    for (int i = 0; i < TR_NETPOLICY_RULES_MAX + 1; i++) {
        size_t n = strlen(many);
        snprintf(many + n, sizeof many - n, "10.0.%d.1,", i);
    }
    assert_int_equal(tr_netpolicy_parse(&p, "private", many, NULL, err, sizeof err), -1);
}

/* Self: the listen address and a TCP Redis, with their ports only. */
static void test_self(void **state)
{
    (void)state;
    tr_netpolicy p = pol("private", NULL, NULL);
    char err[256] = "";
    assert_int_equal(tr_netpolicy_add_self(&p, "127.0.0.1", 8080, "127.0.0.1", 6379, err,
                                           sizeof err),
                     0);
    assert_int_equal(at(&p, NULL, "127.0.0.1", 8080), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "::ffff:127.0.0.1", 8080), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "127.0.0.1", 6379), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "127.0.0.1", 8081), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, NULL, "10.0.0.1", 8080), TR_NETPOLICY_ALLOW);
    const char *why = NULL;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(tr_netpolicy_check_addr(&p, NULL, (struct sockaddr *)&sa, &why),
                     TR_NETPOLICY_REFUSE);
    assert_non_null(strstr(why, "listen"));
    /* allowed explicitly */
    tr_netpolicy q = pol("private", "127.0.0.1:8080", NULL);
    assert_int_equal(tr_netpolicy_add_self(&q, "127.0.0.1", 8080, NULL, 0, err, sizeof err), 0);
    assert_int_equal(at(&q, NULL, "127.0.0.1", 8080), TR_NETPOLICY_ALLOW);
    /* an unspecified listen address: all of loopback and ::1 on that port */
    tr_netpolicy u = pol("private", NULL, NULL);
    assert_int_equal(tr_netpolicy_add_self(&u, "0.0.0.0", 8080, NULL, 0, err, sizeof err), 0);
    assert_int_equal(at(&u, NULL, "127.0.0.2", 8080), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&u, NULL, "::1", 8080), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&u, NULL, "::1", 8081), TR_NETPOLICY_ALLOW);
    assert_true(u.nself >= 3); /* loopback pair and at least lo's own address */
    tr_netpolicy v6 = pol("private", NULL, NULL);
    assert_int_equal(tr_netpolicy_add_self(&v6, "[::]", 9090, NULL, 0, err, sizeof err), 0);
    assert_int_equal(at(&v6, NULL, "127.0.0.1", 9090), TR_NETPOLICY_REFUSE);
    /* a name: resolved now. Only where the system resolves "localhost" (a chroot made by
     * debootstrap has no /etc/hosts, and glibc then does not know the name). */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo("localhost", NULL, &hints, &res) == 0) {
        freeaddrinfo(res);
        tr_netpolicy n = pol("private", NULL, NULL);
        assert_int_equal(tr_netpolicy_add_self(&n, "localhost", 8080, NULL, 0, err, sizeof err),
                         0);
        assert_int_equal(at(&n, NULL, "127.0.0.1", 8080), TR_NETPOLICY_REFUSE);
    } else {
        print_message("test_self: 'localhost' does not resolve here; the name case is skipped\n");
    }
    /* any ignores self */
    tr_netpolicy a = pol("any", NULL, NULL);
    assert_int_equal(tr_netpolicy_add_self(&a, "127.0.0.1", 8080, NULL, 0, err, sizeof err), 0);
    assert_int_equal(at(&a, NULL, "127.0.0.1", 8080), TR_NETPOLICY_ALLOW);
}

static tr_netpolicy_verdict url(const tr_netpolicy *p, const char *u)
{
    const char *why = "unset";
    tr_netpolicy_verdict v = tr_netpolicy_check_url(p, u, &why);
    if (v == TR_NETPOLICY_ALLOW)
        assert_null(why);
    else
        assert_non_null(why);
    return v;
}

/* Every spelling of an address curl accepts is classified by the URL alone. */
static void test_url_text(void **state)
{
    (void)state;
    tr_netpolicy pub = pol("public", NULL, "blocked.test");
    static const char *const refused[] = {
        "http://[::1]/", "http://0.0.0.0/", "http://2130706433/", "http://0x7f000001/",
        "http://127.1/", "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/",
        "http://017700000001/", "http://0/", "http://[::ffff:7f00:1]:8080/x",
        "http://[64:ff9b::7f00:1]/", "https://10.1.1.1/", "http://example.com:0/",
        "http://blocked.test/", "http://BLOCKED.test./", "http://[fe80::1%25eth0]/",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (url(&pub, refused[i]) != TR_NETPOLICY_REFUSE)
            fail_msg("public allowed %s by its text", refused[i]);
    /* Names pass (judged at connect time); public addresses pass. */
    assert_int_equal(url(&pub, "http://localhost/"), TR_NETPOLICY_ALLOW);
    assert_int_equal(url(&pub, "http://example.com/"), TR_NETPOLICY_ALLOW);
    assert_int_equal(url(&pub, "https://8.8.8.8:8443/"), TR_NETPOLICY_ALLOW);
    assert_int_equal(url(&pub, "not a url"), TR_NETPOLICY_REFUSE);

    tr_netpolicy prv = pol("private", NULL, NULL);
    char err[256];
    assert_int_equal(tr_netpolicy_add_self(&prv, "127.0.0.1", 8080, NULL, 0, err, sizeof err), 0);
    assert_int_equal(url(&prv, "http://127.0.0.1:9000/"), TR_NETPOLICY_ALLOW);
    assert_int_equal(url(&prv, "http://127.0.0.1:8080/v1/pause"), TR_NETPOLICY_REFUSE);
    assert_int_equal(url(&prv, "http://2130706433:8080/v1/pause"), TR_NETPOLICY_REFUSE);
    assert_int_equal(url(&prv, "http://169.254.169.254/"), TR_NETPOLICY_REFUSE);
    assert_int_equal(url(&prv, "http://[fd00:ec2::254]/"), TR_NETPOLICY_REFUSE);
    assert_int_equal(url(&prv, "http://10.0.0.1:0/"), TR_NETPOLICY_REFUSE);
    tr_netpolicy any = pol("any", NULL, NULL);
    assert_int_equal(url(&any, "http://169.254.169.254/"), TR_NETPOLICY_ALLOW);
}

static void test_host_listed(void **state)
{
    (void)state;
    assert_int_equal(tr_netpolicy_host_listed("a.test, B.test ,c.test.", "b.test"), 1);
    assert_int_equal(tr_netpolicy_host_listed("a.test,b.test", "A.TEST."), 1);
    assert_int_equal(tr_netpolicy_host_listed("a.test,b.test", "c.test"), 0);
    assert_int_equal(tr_netpolicy_host_listed("a.test", "a.test.evil"), 0);
    assert_int_equal(tr_netpolicy_host_listed("", "a.test"), 0);
    char host[64];
    assert_int_equal(tr_netpolicy_url_host("https://Hooks.Example:8443/x", host, sizeof host), 0);
    assert_string_equal(host, "hooks.example");
    assert_int_equal(tr_netpolicy_url_host("nope", host, sizeof host), -1);
}

/* tr_cluster_self_add_nodes: every node of a CLUSTER NODES answer, client and bus
 * ports, joins "self"; noaddr nodes are skipped; a malformed line is an error. */
static void test_cluster_nodes(void **state)
{
    (void)state;
    tr_netpolicy p = pol("private", NULL, NULL);
    char err[256] = "";
    static const char nodes[] =
        "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n"
        "b2 127.0.0.2:7001@27001,node-b master - 0 0 2 connected 5461-10922\n"
        "c3 [::1]:7002@17002 slave a1 0 0 1 connected\n"
        "d4 ::1:7003@17003 slave b2 0 0 2 connected\n"
        "e5 :0@0 noaddr,master - 0 0 0 disconnected\n";
    assert_int_equal(tr_cluster_self_add_nodes(&p, nodes, sizeof nodes - 1, err, sizeof err), 4);
    assert_int_equal(at(&p, NULL, "127.0.0.1", 7000), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "127.0.0.1", 17000), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "127.0.0.2", 7001), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "127.0.0.2", 27001), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "::1", 7003), TR_NETPOLICY_REFUSE);
    assert_int_equal(at(&p, NULL, "::1", 17003), TR_NETPOLICY_REFUSE);
    /* Other ports of those addresses stay allowed under "private". */
    assert_int_equal(at(&p, NULL, "127.0.0.1", 7001), TR_NETPOLICY_ALLOW);
    assert_int_equal(at(&p, NULL, "::1", 7000), TR_NETPOLICY_ALLOW);
    /* "[::1]:7002" is not Redis's form: a bracketed host is taken as it is written
     * (tr_netpolicy_add_self strips the brackets), so it is refused too. */
    assert_int_equal(at(&p, NULL, "::1", 7002), TR_NETPOLICY_REFUSE);

    static const char *bad[] = {"x 127.0.0.1:7000 master\n", "x 127.0.0.1:70000@1 master\n",
                                "x 127.0.0.1@1 master\n", "lonely\n", "x 127.0.0.1:1@2\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tr_netpolicy q = pol("private", NULL, NULL);
        err[0] = '\0';
        assert_int_equal(tr_cluster_self_add_nodes(&q, bad[i], strlen(bad[i]), err, sizeof err),
                         -1);
        assert_true(strstr(err, "CLUSTER NODES") != NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_edges), cmocka_unit_test(test_wrapped_forms),
        cmocka_unit_test(test_private),      cmocka_unit_test(test_any),
        cmocka_unit_test(test_lists),        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_self),         cmocka_unit_test(test_url_text),
        cmocka_unit_test(test_host_listed),  cmocka_unit_test(test_cluster_nodes),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
