/*
 * graph.h: the records of graphs, nodes and conditional handles, shared by
 * graph.c (capture, child graphs, instantiation, launch) and conditional.c
 * (conditional handles and nodes, cudaGraphSetConditional). Private to the
 * simulated libcuda.so.1.
 *
 * Every graph is a chain: each node depends on the one before it (capture
 * on one stream records chains; cuGraphAddChildGraphNode and cuGraphAddNode
 * accept no other dependencies). Records are never freed, so that a stale
 * handle is recognised by its magic rather than reused.
 */
#ifndef CUDASIM_GRAPH_H
#define CUDASIM_GRAPH_H

#include "core.h"

#define GRAPH_MAGIC 0x47524150u
#define NODE_MAGIC 0x4e4f4445u
#define EXEC_MAGIC 0x47455845u

/* cuda.h, enum CUgraphNodeType_enum */
enum {
	CU_GRAPH_NODE_TYPE_KERNEL = 0,
	CU_GRAPH_NODE_TYPE_MEMCPY = 1,
	CU_GRAPH_NODE_TYPE_MEMSET = 2,
	CU_GRAPH_NODE_TYPE_HOST = 3,
	CU_GRAPH_NODE_TYPE_GRAPH = 4,
	CU_GRAPH_NODE_TYPE_EMPTY = 5,
	CU_GRAPH_NODE_TYPE_MEM_ALLOC = 10,
	CU_GRAPH_NODE_TYPE_MEM_FREE = 11,
	CU_GRAPH_NODE_TYPE_CONDITIONAL = 13,
};

struct cs_handle;

struct cs_node {
	uint32_t magic;
	int refs;                /* atomic */
	struct cs_graph *graph;  /* the graph it was added to (a clone shares its records: see graph.c) */
	size_t index;            /* its place in that graph */
	int type;                /* CU_GRAPH_NODE_TYPE_* */
	void (*fn)(void *);      /* a task's work (kernel, memcpy, memset, host) */
	void *arg;
	struct cs_graph *child;  /* CU_GRAPH_NODE_TYPE_GRAPH: the clone, owned by the node */
	/* CU_GRAPH_NODE_TYPE_CONDITIONAL: its handle and its CUDA-owned body
	 * graphs; bodies is the array phGraph_out points at. */
	struct cs_handle *handle;
	unsigned int nbodies;
	struct cs_graph *bodies[2];
	char call[96];
};

struct cs_graph {
	uint32_t magic;
	int live;
	struct cs_node **nodes;
	size_t n, cap;
	struct cs_node *owner; /* the conditional node whose body this is; NULL for a user's graph */
	int nconds;            /* conditional nodes added to it */
	int nmem;              /* memory allocation and free nodes captured into it */
	int execs;             /* live executable graphs made from it (counted when nconds or nmem > 0) */
};

/* A conditional handle (cuGraphConditionalHandleCreate). Its value, as the
 * user and kernels see it, is CS_HANDLE_BASE + its index in the table. */
#define CS_HANDLE_BASE 0xc0d1000000000000ull
struct cs_handle {
	unsigned long long value;
	struct cs_graph *graph;  /* the graph it was created for */
	CUcontext ctx;
	unsigned int def, flags; /* defaultLaunchValue, CU_GRAPH_COND_ASSIGN_DEFAULT */
	struct cs_node *node;    /* the conditional node using it; NULL while unused */
};

/* The lock of graphs, nodes, handles and executable graphs; taken after the
 * stream lock. */
extern pthread_mutex_t cs_gmu;

/* graph.c. Callers hold cs_gmu unless said otherwise. */
int cs_graph_ok(struct cs_graph *g);
int cs_node_ok(struct cs_node *n);
struct cs_graph *cs_graph_root(struct cs_graph *g); /* the user's graph a body graph belongs to */
/* A new node of type for hGraph, checked (dependencies: the graph's last
 * node or none) and appended; NULL with *r set when refused. call names the
 * entry point in notes. */
struct cs_node *cs_graph_add(struct cs_graph *hGraph, const CUgraphNode *deps, size_t ndeps, int type,
	const char *call, CUresult *r);
void cs_node_unref(struct cs_node *n); /* without cs_gmu held */

/* The conditions of the graph launch running on the stream thread (NULL
 * outside one): one slot per handle of its tree, in value order. */
struct cs_cond_values {
	size_t n;
	const unsigned long long *handles;
	unsigned int *vals;
	unsigned char *set; /* assigned in this launch (by default or by cudaGraphSetConditional) */
};
extern __thread struct cs_cond_values *cs_running_conds;

/* conditional.c */
long cs_cond_slot(const struct cs_cond_values *c, unsigned long long handle); /* -1: not one of c's */
struct cs_handle *cs_handle_find(unsigned long long value); /* NULL when value is no handle */
/* Every handle of the tree of graphs rooted at g, in value order; and
 * whether each is used by a conditional node (*unused: the first that is
 * not). Returns the count, or -1 when out of memory (*out then NULL). */
long cs_handles_of(struct cs_graph *g, struct cs_handle ***out, struct cs_handle **unused);

#endif
