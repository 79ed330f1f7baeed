/*
 * graph.c: CUDA graphs made by stream capture (CUDA Driver API reference,
 * "Graph Management"; CUDA Programming Guide, "CUDA Graphs").
 *
 * A graph here is what one stream's capture recorded: its nodes in capture
 * order, each the task (fn, arg) a call queued through cudasim_enqueue, so a
 * chain in which every node depends on the one before it. An executable
 * graph holds the nodes and one enabled flag per node; cuGraphLaunch queues
 * one task on a stream that runs the enabled nodes in order on the stream
 * thread, after everything queued on the stream before; they read device
 * and pinned memory when they run, as a replayed graph does.
 *
 * Lifetimes: a node's argument is kept while its graph, an executable graph
 * made from it, or a launched task needs it (a reference count); the node's
 * own small record is never freed, so that a stale handle is recognised
 * (CUDA_ERROR_INVALID_VALUE / _INVALID_HANDLE) rather than reused. Graph and
 * executable-graph records are kept for the same reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

#define GRAPH_MAGIC 0x47524150u
#define NODE_MAGIC 0x4e4f4445u
#define EXEC_MAGIC 0x47455845u

struct cs_node {
	uint32_t magic;
	int refs;                /* atomic */
	struct cs_graph *graph;  /* the graph it was captured into */
	size_t index;            /* its place in that graph */
	int kernel;              /* a kernel node (cuLaunchKernel): CU_GRAPH_NODE_TYPE_KERNEL */
	void (*fn)(void *);
	void *arg;
	char call[96];
};

struct cs_graph {
	uint32_t magic;
	int live;
	struct cs_node **nodes;
	size_t n, cap;
};

struct cs_exec {
	uint32_t magic;
	int live;
	struct cs_graph *from;
	struct cs_node **nodes;
	unsigned char *enabled;
	size_t n;
};

static pthread_mutex_t gmu = PTHREAD_MUTEX_INITIALIZER; /* graphs and executable graphs; taken after the stream lock */

static void node_ref(struct cs_node *n) { __atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED); }

/* The last reference frees the argument; the record stays (see above). */
static void node_unref(void *p) {
	struct cs_node *n = p;
	if (__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(n->arg);
		n->arg = NULL;
	}
}

struct cs_graph *cs_graph_new(void) {
	struct cs_graph *g = calloc(1, sizeof *g);
	if (g == NULL) return NULL;
	g->magic = GRAPH_MAGIC;
	g->live = 1;
	return g;
}

/* Releases the graph's nodes; the record stays, dead. */
void cs_graph_free(struct cs_graph *g) {
	if (g == NULL) return;
	pthread_mutex_lock(&gmu);
	struct cs_node **nodes = g->nodes;
	size_t n = g->n;
	g->nodes = NULL;
	g->n = g->cap = 0;
	g->live = 0;
	pthread_mutex_unlock(&gmu);
	for (size_t i = 0; i < n; i++) node_unref(nodes[i]);
	free(nodes);
}

CUgraphNode cs_graph_record(struct cs_graph *g, const char *call, void (*fn)(void *), void *arg) {
	struct cs_node *n = calloc(1, sizeof *n);
	if (n == NULL) return NULL;
	n->magic = NODE_MAGIC;
	n->refs = 1;
	n->graph = g;
	n->kernel = strncmp(call, "cuLaunchKernel", 14) == 0;
	n->fn = fn;
	n->arg = arg;
	snprintf(n->call, sizeof n->call, "%s", call);
	pthread_mutex_lock(&gmu);
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 256;
		struct cs_node **v = realloc(g->nodes, cap * sizeof *v);
		if (v == NULL) {
			pthread_mutex_unlock(&gmu);
			free(n);
			return NULL;
		}
		g->nodes = v;
		g->cap = cap;
	}
	n->index = g->n;
	g->nodes[g->n++] = n;
	pthread_mutex_unlock(&gmu);
	cudasim_count("graph_nodes_captured", 1);
	return n;
}

/* Callers hold gmu. Handles are checked by their magic; the records are
 * never freed, so reading the magic of a stale handle is safe. */
static int graph_ok(struct cs_graph *g) { return g != NULL && g->magic == GRAPH_MAGIC && g->live; }
static int exec_ok(struct cs_exec *e) { return e != NULL && e->magic == EXEC_MAGIC && e->live; }
static int node_ok(struct cs_node *n) { return n != NULL && n->magic == NODE_MAGIC; }

/* cuGraphDestroy: "Destroys the specified graph, as well as all of its
 * nodes." Executable graphs instantiated from it are not affected (they keep
 * the nodes' work). */
CS_API CUresult cuGraphDestroy(CUgraph hGraph) {
	cs_count_api();
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	pthread_mutex_lock(&gmu);
	int ok = graph_ok(hGraph);
	pthread_mutex_unlock(&gmu);
	if (!ok) return CUDA_ERROR_INVALID_VALUE;
	cs_graph_free(hGraph);
	return CUDA_SUCCESS;
}

/* cuGraphGetNodes: "Returns a list of hGraph's nodes. nodes may be NULL, in
 * which case this function will return the number of nodes in numNodes.
 * Otherwise, numNodes entries will be filled in. If numNodes is higher than
 * the actual number of nodes, the remaining entries in nodes will be set to
 * NULL, and the number of nodes actually obtained will be returned in
 * numNodes." NVIDIA documents no order; here it is the capture order. */
CS_API CUresult cuGraphGetNodes(CUgraph hGraph, CUgraphNode *nodes, size_t *numNodes) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (numNodes == NULL) return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&gmu);
	if (!graph_ok(hGraph)) {
		pthread_mutex_unlock(&gmu);
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (nodes == NULL) {
		*numNodes = hGraph->n;
	} else {
		size_t k = *numNodes < hGraph->n ? *numNodes : hGraph->n;
		for (size_t i = 0; i < *numNodes; i++) nodes[i] = i < k ? hGraph->nodes[i] : NULL;
		*numNodes = k;
	}
	pthread_mutex_unlock(&gmu);
	return CUDA_SUCCESS;
}

/* cuGraphNodeGetType: CU_GRAPH_NODE_TYPE_KERNEL (0) for a kernel launch,
 * CU_GRAPH_NODE_TYPE_MEMCPY (1) for a copy, CU_GRAPH_NODE_TYPE_MEMSET (2) for
 * a memset. A cuDNN or cuBLAS call is recorded as one node and reported as a
 * kernel node (on a GPU it is one or more kernel nodes). */
CS_API CUresult cuGraphNodeGetType(CUgraphNode hNode, unsigned int *type) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!node_ok(hNode) || type == NULL) return CUDA_ERROR_INVALID_VALUE;
	if (strncmp(hNode->call, "cuMemcpy", 8) == 0) *type = 1;
	else if (strncmp(hNode->call, "cuMemset", 8) == 0) *type = 2;
	else *type = 0;
	return CUDA_SUCCESS;
}

/* cuGraphInstantiateWithFlags: "Creates an executable graph from a graph";
 * flags other than 0 (auto-free on launch, upload, device launch, node
 * priorities) are not simulated: CUDA_ERROR_INVALID_VALUE. Every node starts
 * enabled. */
CS_API CUresult cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (phGraphExec == NULL) return CUDA_ERROR_INVALID_VALUE;
	if (flags != 0) {
		cs_note("cuGraphInstantiateWithFlags: flags 0x%llx are not simulated (only 0)", flags);
		return CUDA_ERROR_INVALID_VALUE;
	}
	struct cs_exec *e = calloc(1, sizeof *e);
	if (e == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&gmu);
	if (!graph_ok(hGraph)) {
		pthread_mutex_unlock(&gmu);
		free(e);
		return CUDA_ERROR_INVALID_VALUE;
	}
	size_t n = hGraph->n;
	e->nodes = malloc((n ? n : 1) * sizeof *e->nodes);
	e->enabled = malloc(n ? n : 1);
	if (e->nodes == NULL || e->enabled == NULL) {
		pthread_mutex_unlock(&gmu);
		free(e->nodes), free(e->enabled), free(e);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	for (size_t i = 0; i < n; i++) {
		e->nodes[i] = hGraph->nodes[i];
		node_ref(e->nodes[i]);
		e->enabled[i] = 1;
	}
	e->n = n;
	e->from = hGraph;
	e->magic = EXEC_MAGIC;
	e->live = 1;
	pthread_mutex_unlock(&gmu);
	*phGraphExec = e;
	cudasim_count("graph_instantiations", 1);
	return CUDA_SUCCESS;
}

/* cuGraphExecDestroy: "Destroys the executable graph specified by
 * hGraphExec, as well as all of its executable nodes. If the executable graph
 * is in-flight, it will not be terminated, but rather freed asynchronously on
 * completion": queued tasks hold their own node references. */
CS_API CUresult cuGraphExecDestroy(CUgraphExec hGraphExec) {
	cs_count_api();
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	pthread_mutex_lock(&gmu);
	if (!exec_ok(hGraphExec)) {
		pthread_mutex_unlock(&gmu);
		return CUDA_ERROR_INVALID_VALUE;
	}
	struct cs_exec *e = hGraphExec;
	e->live = 0;
	struct cs_node **nodes = e->nodes;
	size_t n = e->n;
	e->nodes = NULL;
	e->n = 0;
	free(e->enabled);
	e->enabled = NULL;
	pthread_mutex_unlock(&gmu);
	for (size_t i = 0; i < n; i++) node_unref(nodes[i]);
	free(nodes);
	return CUDA_SUCCESS;
}

/* The node's place in e, or -1 when hNode is not a node of the graph e was
 * instantiated from. Callers hold gmu. */
static long exec_index(struct cs_exec *e, struct cs_node *hNode) {
	if (!node_ok(hNode) || hNode->graph != e->from || hNode->index >= e->n || e->nodes[hNode->index] != hNode) return -1;
	return (long)hNode->index;
}

/* cuGraphNodeSetEnabled: "Sets hNode to be either enabled or disabled.
 * Disabled nodes are functionally equivalent to empty nodes until they are
 * reenabled. ... The node is identified by the corresponding node hNode in
 * the non-executable graph, from which the executable graph was
 * instantiated. ... The modifications only affect future launches of
 * hGraphExec. Already enqueued or running launches of hGraphExec are not
 * affected by this call." "Currently only kernel, memset and memcpy nodes are
 * supported" (every node here is one of those). */
CS_API CUresult cuGraphNodeSetEnabled(CUgraphExec hGraphExec, CUgraphNode hNode, unsigned int isEnabled) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	pthread_mutex_lock(&gmu);
	long i = exec_ok(hGraphExec) ? exec_index(hGraphExec, hNode) : -1;
	if (i >= 0) hGraphExec->enabled[i] = isEnabled != 0;
	pthread_mutex_unlock(&gmu);
	return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* cuGraphNodeGetEnabled: "Sets isEnabled to 1 if hNode is enabled, or 0 if
 * hNode is disabled." */
CS_API CUresult cuGraphNodeGetEnabled(CUgraphExec hGraphExec, CUgraphNode hNode, unsigned int *isEnabled) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (isEnabled == NULL) return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&gmu);
	long i = exec_ok(hGraphExec) ? exec_index(hGraphExec, hNode) : -1;
	if (i >= 0) *isEnabled = hGraphExec->enabled[i];
	pthread_mutex_unlock(&gmu);
	return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* One launch: the enabled nodes, referenced until it has run. */
struct launch_run {
	size_t n;
	struct cs_node **nodes;
	struct cs_subtask *subs;
};

static void launch_done(void *p) {
	struct launch_run *l = p;
	for (size_t i = 0; i < l->n; i++) node_unref(l->nodes[i]);
	free(l->nodes);
	free(l->subs);
	free(l);
}

/* cuGraphLaunch: "Executes hGraphExec in hStream. Only one instance of
 * hGraphExec may be executing at a time. Each launch is ordered behind both
 * any previous work in hStream and any previous launches of hGraphExec."
 * Here the enabled nodes are queued on hStream in capture order (one stream
 * thread runs everything in queue order, so both orders hold). Launching
 * into a capturing stream (a child graph) is not simulated:
 * CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, the capture invalidated. */
CS_API CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!cs_stream_valid(hStream)) return CUDA_ERROR_INVALID_HANDLE;
	if (cs_stream_capturing(hStream)) return cs_capture_refuse(hStream, "cuGraphLaunch (a child graph: not simulated)");
	pthread_mutex_lock(&gmu);
	if (!exec_ok(hGraphExec)) {
		pthread_mutex_unlock(&gmu);
		return CUDA_ERROR_INVALID_VALUE;
	}
	/* The nodes to run, referenced now: a later cuGraphNodeSetEnabled or
	 * cuGraphExecDestroy does not change this launch. */
	struct cs_exec *e = hGraphExec;
	struct launch_run *l = calloc(1, sizeof *l);
	if (l != NULL) {
		l->nodes = malloc((e->n ? e->n : 1) * sizeof *l->nodes);
		l->subs = malloc((e->n ? e->n : 1) * sizeof *l->subs);
	}
	if (l == NULL || l->nodes == NULL || l->subs == NULL) {
		pthread_mutex_unlock(&gmu);
		if (l) free(l->nodes), free(l->subs), free(l);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	for (size_t i = 0; i < e->n; i++) {
		if (!e->enabled[i]) continue;
		struct cs_node *n = e->nodes[i];
		node_ref(n);
		l->nodes[l->n] = n;
		l->subs[l->n] = (struct cs_subtask){.call = n->call, .fn = n->fn, .arg = n->arg};
		l->n++;
	}
	pthread_mutex_unlock(&gmu);
	cudasim_count("graph_launches", 1);
	cudasim_count("graph_nodes_launched", l->n);
	/* One submission, as on a GPU: the host cost does not grow with the
	 * nodes (the stream thread runs them, each as its own task). */
	int q = cs_enqueue_graph(hStream, l->subs, l->n, launch_done, l);
	if (q != CUDASIM_SUCCESS) launch_done(l);
	return (CUresult)q;
}
