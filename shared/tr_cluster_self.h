/* tr_cluster_self.h - every node of a Redis Cluster in the destination policy's "self".
 *
 * With --cluster, the seeds alone are what the options name; a callback aimed at any
 * other node of the cluster (a master the seeds do not list, a replica, a cluster bus
 * port) would reach TimeRush's own store. At start, before any thread, a program asks
 * the cluster for its nodes (CLUSTER NODES, once) and adds each node's address with
 * its client port and its cluster bus port to the policy (tr_netpolicy_add_self), so
 * the default policy refuses them all. Nodes added to the cluster later are not seen
 * until the program restarts (docs/CLUSTER.md).
 *
 * Owns nothing after a call: the policy is a plain value (tr_netpolicy.h).
 */
#ifndef TR_CLUSTER_SELF_H
#define TR_CLUSTER_SELF_H

#include <stddef.h>

#include "tr_config.h"
#include "tr_netpolicy.h"

/* Called by tr_cluster_self_parse for each node with a known address: host is
 * NUL-terminated (an IP address as the node announces it, IPv6 without brackets),
 * port 1-65535, bus_port 0-65535 (0: none announced). Returns 0, or -1 with a reason
 * in err (the parse stops). */
typedef int (*tr_cluster_node_fn)(void *ctx, const char *host, int port, int bus_port,
                                  char *err, size_t errlen);

/* Reads a CLUSTER NODES answer (text, len bytes, not necessarily NUL-terminated):
 * one line per node, "<id> <ip>:<port>@<cport>[,<hostname>] <flags> ...", and calls fn
 * for each node with a known address (a node with an empty ip or port 0, "noaddr",
 * is skipped). Returns how many nodes fn took, or -1 with a reason in err when a line
 * is malformed or fn failed. Pure: no I/O, no name resolution (fuzz_cluster_nodes). */
int tr_cluster_self_parse(const char *text, size_t len, tr_cluster_node_fn fn, void *ctx,
                          char *err, size_t errlen);

/* Adds the endpoints of every node line of a CLUSTER NODES answer (text, len bytes,
 * not necessarily NUL-terminated): "<id> <ip>:<port>@<cport>[,<hostname>] <flags> ...".
 * A node without a known address (an empty ip, or port 0: "noaddr") is skipped: the
 * seeds are in the list already (tr_config). Returns how many nodes were added (0 or
 * more), or -1 with a reason in err when a line is malformed (the nodes of the lines
 * before it stay added). */
int tr_cluster_self_add_nodes(tr_netpolicy *p, const char *text, size_t len, char *err,
                              size_t errlen);

/* With cfg->cluster set: connects as the store does (seeds, user, password, timeout),
 * asks CLUSTER NODES once and adds every node to cfg->netpolicy. Without it: 0, nothing
 * done. Call before any thread reads cfg (the log open: it logs how many). Returns
 * the number of nodes added, or -1
 * with a one-line reason in err (no node answered, a malformed answer): the caller
 * refuses to start, since its policy could not name its own store. */
int tr_cluster_self_add(tr_config *cfg, char *err, size_t errlen);

#endif
