/*
 * graph.c: CUDA graphs (CUDA Driver API reference, "Graph Management"; CUDA
 * Programming Guide, "CUDA Graphs").
 *
 * A graph here is a chain, each node depending on the one before it: what
 * one stream's capture recorded (each node the task (fn, arg) a call queued
 * through cudasim_enqueue, in capture order), or a graph made with
 * cuGraphCreate whose nodes were appended with cuGraphAddChildGraphNode and
 * cuGraphAddNode (conditional nodes, conditional.c). An executable graph
 * holds a snapshot of the tree (the graph, its child graphs' clones and its
 * conditional bodies) and one enabled flag per top-level node; cuGraphLaunch
 * queues one task on a stream that runs the tree in order on the stream
 * thread, after everything queued on the stream before; nodes read device
 * and pinned memory when they run, as a replayed graph does.
 *
 * Lifetimes: a node's argument is kept while a graph, a clone, an
 * executable graph or a launched task refers to it (a reference count); the
 * node's own small record is never freed, so that a stale handle is
 * recognised (CUDA_ERROR_INVALID_VALUE / _INVALID_HANDLE) rather than
 * reused. Graph and executable-graph records are kept for the same reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"

struct cs_exec {
	uint32_t magic;
	int live;
	struct cs_graph *from;
	struct xtree *t;
	unsigned char *enabled; /* per top-level node */
	size_t n;
};

pthread_mutex_t cs_gmu = PTHREAD_MUTEX_INITIALIZER;
#define gmu cs_gmu

static void node_ref(struct cs_node *n) { __atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED); }

/* The last reference frees the argument, and what the node owns (a child
 * graph's clone, a conditional node's bodies); the record stays (see
 * above). */
void cs_node_unref(struct cs_node *n) {
	if (__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
	free(n->arg);
	n->arg = NULL;
	cs_graph_free(n->child);
	for (unsigned i = 0; i < n->nbodies; i++) cs_graph_free(n->bodies[i]);
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
	for (size_t i = 0; i < n; i++) cs_node_unref(nodes[i]);
	free(nodes);
}

/* Appends n to g. Callers hold gmu. */
static int append(struct cs_graph *g, struct cs_node *n) {
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 256;
		struct cs_node **v = realloc(g->nodes, cap * sizeof *v);
		if (v == NULL) return 0;
		g->nodes = v;
		g->cap = cap;
	}
	n->index = g->n;
	g->nodes[g->n++] = n;
	return 1;
}

/* The node type of a task queued through cudasim_enqueue, from its call: a
 * cuDNN or cuBLAS call is recorded as one node and reported as a kernel node
 * (on a GPU it is one or more kernel nodes); a library's stream-ordered
 * allocation (cuBLAS's workspace, cublas.c) as a memory allocation or free
 * node, as cuMemAllocAsync and cuMemFreeAsync are captured. */
static int task_type(const char *call) {
	if (strncmp(call, "cuMemAllocAsync", 15) == 0) return CU_GRAPH_NODE_TYPE_MEM_ALLOC;
	if (strncmp(call, "cuMemFreeAsync", 14) == 0) return CU_GRAPH_NODE_TYPE_MEM_FREE;
	if (strncmp(call, "cuMemcpy", 8) == 0) return CU_GRAPH_NODE_TYPE_MEMCPY;
	if (strncmp(call, "cuMemset", 8) == 0) return CU_GRAPH_NODE_TYPE_MEMSET;
	if (strncmp(call, "cuLaunchHostFunc", 16) == 0) return CU_GRAPH_NODE_TYPE_HOST;
	return CU_GRAPH_NODE_TYPE_KERNEL;
}

CUgraphNode cs_graph_record(struct cs_graph *g, const char *call, void (*fn)(void *), void *arg) {
	struct cs_node *n = calloc(1, sizeof *n);
	if (n == NULL) return NULL;
	n->magic = NODE_MAGIC;
	n->refs = 1;
	n->graph = g;
	n->type = task_type(call);
	n->fn = fn;
	n->arg = arg;
	snprintf(n->call, sizeof n->call, "%s", call);
	pthread_mutex_lock(&gmu);
	int ok = append(g, n);
	if (ok && (n->type == CU_GRAPH_NODE_TYPE_MEM_ALLOC || n->type == CU_GRAPH_NODE_TYPE_MEM_FREE)) g->nmem++;
	pthread_mutex_unlock(&gmu);
	if (!ok) {
		free(n);
		return NULL;
	}
	cudasim_count("graph_nodes_captured", 1);
	return n;
}

/* Callers hold gmu. Handles are checked by their magic; the records are
 * never freed, so reading the magic of a stale handle is safe. */
int cs_graph_ok(struct cs_graph *g) { return g != NULL && g->magic == GRAPH_MAGIC && g->live; }
int cs_node_ok(struct cs_node *n) { return n != NULL && n->magic == NODE_MAGIC; }
static int exec_ok(struct cs_exec *e) { return e != NULL && e->magic == EXEC_MAGIC && e->live; }
#define graph_ok cs_graph_ok
#define node_ok cs_node_ok

struct cs_graph *cs_graph_root(struct cs_graph *g) {
	while (g->owner != NULL) g = g->owner->graph;
	return g;
}

/* cuGraphCreate: "Creates an empty graph, which is returned via phGraph.
 * flags: Graph creation flags, must be 0". */
CS_API CUresult cuGraphCreate(CUgraph *phGraph, unsigned int flags) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (phGraph == NULL || flags != 0) return CUDA_ERROR_INVALID_VALUE;
	struct cs_graph *g = cs_graph_new();
	if (g == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	*phGraph = g;
	return CUDA_SUCCESS;
}

/* The cuGraphAdd*Node rules (Driver API: "dependencies may not have any
 * duplicate entries", each a node of hGraph; numDependencies 0 makes a root
 * node), restricted to what is simulated: graphs are chains, so a new node
 * depends on exactly the graph's last node, or on nothing when the graph is
 * empty; any other shape is CUDA_ERROR_NOT_SUPPORTED. Callers hold gmu. */
static CUresult check_deps(struct cs_graph *g, const CUgraphNode *deps, size_t ndeps, const char *call) {
	if (ndeps > 0 && deps == NULL) return CUDA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < ndeps; i++) {
		struct cs_node *d = deps[i];
		if (!node_ok(d) || d->graph != g || d->index >= g->n || g->nodes[d->index] != d) {
			cs_note("%s: dependency %zu is not a node of the graph", call, i);
			return CUDA_ERROR_INVALID_VALUE;
		}
	}
	int chain = g->n == 0 ? ndeps == 0 : ndeps == 1 && deps[0] == g->nodes[g->n - 1];
	if (!chain) {
		cs_note("%s: %zu dependencies in a graph of %zu nodes: only a chain (the graph's last node, or none in an "
			"empty graph) is simulated", call, ndeps, g->n);
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	return CUDA_SUCCESS;
}

struct cs_node *cs_graph_add(struct cs_graph *g, const CUgraphNode *deps, size_t ndeps, int type, const char *call,
	CUresult *r) {
	*r = check_deps(g, deps, ndeps, call);
	if (*r != CUDA_SUCCESS) return NULL;
	struct cs_node *n = calloc(1, sizeof *n);
	if (n == NULL || !append(g, n)) {
		free(n);
		*r = CUDA_ERROR_OUT_OF_MEMORY;
		return NULL;
	}
	n->magic = NODE_MAGIC;
	n->refs = 1;
	n->graph = g;
	n->type = type;
	snprintf(n->call, sizeof n->call, "%s", call);
	return n;
}

/* cuGraphAddChildGraphNode: "Creates a new node which executes an embedded
 * graph ... The node executes an embedded child graph. The child graph is
 * cloned in this call." The clone lists the child's node records, each
 * referenced (they never change once added: a captured node's work, or
 * another clone), so later changes to childGraph do not reach it. Of the
 * child graph CUDA_CHILD_GRAPH_NODE_PARAMS says "The graph must not contain
 * conditional nodes" (and CUgraphNodeType, of a graph with one: "The graph
 * cannot be used in a child node"), and cuda.h's cuGraphAddChildGraphNode
 * (CUDA 13): "If childGraph contains allocation nodes, free nodes, or
 * conditional nodes, this call will return an error", its one documented
 * error being CUDA_ERROR_INVALID_VALUE. */
CS_API CUresult cuGraphAddChildGraphNode(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
	size_t numDependencies, CUgraph childGraph) {
	cs_count_api();
	const char *call = "cuGraphAddChildGraphNode";
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (phGraphNode == NULL) return CUDA_ERROR_INVALID_VALUE;
	struct cs_graph *clone = cs_graph_new();
	if (clone == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&gmu);
	size_t cn = 0; /* the child's nodes now (childGraph may be hGraph) */
	if (!graph_ok(hGraph) || !graph_ok(childGraph)) r = CUDA_ERROR_INVALID_VALUE;
	else if (childGraph->nconds > 0) {
		cs_note("%s: the child graph has a conditional node (\"The graph cannot be used in a child node\")", call);
		r = CUDA_ERROR_INVALID_VALUE;
	} else if (childGraph->nmem > 0) {
		cs_note("%s: the child graph has %d memory allocation or free nodes (\"If childGraph contains allocation "
			"nodes, free nodes, or conditional nodes, this call will return an error\")", call, childGraph->nmem);
		r = CUDA_ERROR_INVALID_VALUE;
	} else if ((cn = childGraph->n) > 0) {
		clone->nodes = malloc(cn * sizeof *clone->nodes);
		if (clone->nodes == NULL) r = CUDA_ERROR_OUT_OF_MEMORY;
	}
	struct cs_node *n = r == CUDA_SUCCESS ? cs_graph_add(hGraph, dependencies, numDependencies, CU_GRAPH_NODE_TYPE_GRAPH,
		call, &r) : NULL;
	if (n != NULL) {
		for (size_t i = 0; i < cn; i++) {
			clone->nodes[i] = childGraph->nodes[i];
			node_ref(clone->nodes[i]);
		}
		clone->n = clone->cap = cn;
		n->child = clone;
	}
	pthread_mutex_unlock(&gmu);
	if (n == NULL) {
		free(clone->nodes);
		clone->nodes = NULL;
		cs_graph_free(clone);
		return r;
	}
	*phGraphNode = n;
	return CUDA_SUCCESS;
}

/* cuGraphDestroy: "Destroys the specified graph, as well as all of its
 * nodes." Executable graphs instantiated from it are not affected (they keep
 * the nodes' work). A conditional node's body graph is "CUDA-owned" (the
 * documentation of CUDA_CONDITIONAL_NODE_PARAMS::phGraph_out): it lives as
 * long as its node, and destroying it is CUDA_ERROR_INVALID_VALUE here. */
CS_API CUresult cuGraphDestroy(CUgraph hGraph) {
	cs_count_api();
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	pthread_mutex_lock(&gmu);
	int ok = graph_ok(hGraph);
	int owned = ok && hGraph->owner != NULL;
	pthread_mutex_unlock(&gmu);
	if (!ok) return CUDA_ERROR_INVALID_VALUE;
	if (owned) {
		cs_note("cuGraphDestroy: the graph is a conditional node's body, owned by CUDA (phGraph_out)");
		return CUDA_ERROR_INVALID_VALUE;
	}
	cs_graph_free(hGraph);
	return CUDA_SUCCESS;
}

/* cuGraphGetNodes: "Returns a list of hGraph's nodes. nodes may be NULL, in
 * which case this function will return the number of nodes in numNodes.
 * Otherwise, numNodes entries will be filled in. If numNodes is higher than
 * the actual number of nodes, the remaining entries in nodes will be set to
 * NULL, and the number of nodes actually obtained will be returned in
 * numNodes." NVIDIA documents no order; here it is the order of addition.
 * The nodes of a child graph or a conditional body are not hGraph's. */
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

/* cuGraphNodeGetType: the CUgraphNodeType of the node: KERNEL (0) for a
 * kernel launch or a cuDNN or cuBLAS call, MEMCPY (1), MEMSET (2), HOST (3)
 * for cuLaunchHostFunc, GRAPH (4) for a child graph, MEM_ALLOC (10) and
 * MEM_FREE (11) for cuBLAS's own workspace, CONDITIONAL (13). */
CS_API CUresult cuGraphNodeGetType(CUgraphNode hNode, unsigned int *type) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (!node_ok(hNode) || type == NULL) return CUDA_ERROR_INVALID_VALUE;
	*type = (unsigned int)hNode->type;
	return CUDA_SUCCESS;
}

/* ---- executable graphs ---- */

/* What an executable graph runs: a snapshot of a graph's nodes, each
 * referenced, with the snapshots of child graphs and conditional bodies
 * (sub[2i], sub[2i+1] for node i), so that later changes to a body graph do
 * not reach it, as cuGraphInstantiate's snapshot semantics require. */
struct xgraph {
	size_t n;
	struct cs_node **nodes;
	struct xgraph **sub;
};

/* An instantiated tree, shared by its executable graph and its queued
 * launches (refs), with the conditional handles of the tree. */
struct xtree {
	int refs; /* atomic */
	struct xgraph *root;
	size_t nh;
	unsigned long long *handles; /* in value order */
	unsigned int *defs;
	unsigned char *assign; /* CU_GRAPH_COND_ASSIGN_DEFAULT */
};

static void xgraph_free(struct xgraph *x) {
	if (x == NULL) return;
	for (size_t i = 0; i < x->n; i++) {
		if (x->nodes[i] != NULL) cs_node_unref(x->nodes[i]);
		xgraph_free(x->sub[2 * i]);
		xgraph_free(x->sub[2 * i + 1]);
	}
	free(x->nodes);
	free(x->sub);
	free(x);
}

static void xtree_unref(struct xtree *t) {
	if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
	xgraph_free(t->root);
	free(t->handles);
	free(t->defs);
	free(t->assign);
	free(t);
}

/* The snapshot of g; NULL when out of memory. Callers hold gmu. */
static struct xgraph *snapshot(struct cs_graph *g) {
	struct xgraph *x = calloc(1, sizeof *x);
	if (x == NULL) return NULL;
	x->nodes = calloc(g->n ? g->n : 1, sizeof *x->nodes);
	x->sub = calloc(g->n ? 2 * g->n : 1, sizeof *x->sub);
	if (x->nodes == NULL || x->sub == NULL) {
		free(x->nodes), free(x->sub), free(x);
		return NULL;
	}
	x->n = g->n;
	int ok = 1;
	for (size_t i = 0; i < g->n; i++) {
		struct cs_node *n = g->nodes[i];
		node_ref(n);
		x->nodes[i] = n;
		if (n->child != NULL) ok &= (x->sub[2 * i] = snapshot(n->child)) != NULL;
		for (unsigned b = 0; b < n->nbodies; b++) ok &= (x->sub[2 * i + b] = snapshot(n->bodies[b])) != NULL;
	}
	if (!ok) {
		/* The graph holds its own references: these do not reach 0 here. */
		xgraph_free(x);
		return NULL;
	}
	return x;
}

/* The node of g (or of the graphs inside it) that a conditional body may
 * not contain, or NULL. CUDA_CONDITIONAL_NODE_PARAMS::phGraph_out: "Allowed
 * node types are kernel nodes, empty nodes, child graphs, memsets,
 * memcopies, and conditionals. This applies recursively to child graphs and
 * conditional bodies." Of memcopies the Programming Guide ("Conditional
 * Graph Nodes", as for device-launched graphs) allows only device memory
 * and device-mapped pinned host memory; every copy the simulator can
 * capture qualifies: a pageable copy cannot be captured (stream.c), and
 * cuMemHostAlloc memory is device-mapped under unified addressing (Driver
 * API, "Unified Addressing": host memory from cuMemHostAlloc "is always
 * directly accessible from all devices that support unified addressing").
 * Callers hold gmu. */
static struct cs_node *forbidden_in_body(struct cs_graph *g) {
	for (size_t i = 0; i < g->n; i++) {
		struct cs_node *n = g->nodes[i], *bad = NULL;
		switch (n->type) {
		case CU_GRAPH_NODE_TYPE_KERNEL:
		case CU_GRAPH_NODE_TYPE_MEMCPY:
		case CU_GRAPH_NODE_TYPE_MEMSET:
		case CU_GRAPH_NODE_TYPE_EMPTY:
			break;
		case CU_GRAPH_NODE_TYPE_GRAPH:
			bad = forbidden_in_body(n->child);
			break;
		case CU_GRAPH_NODE_TYPE_CONDITIONAL:
			for (unsigned b = 0; b < n->nbodies && bad == NULL; b++) bad = forbidden_in_body(n->bodies[b]);
			break;
		default:
			bad = n;
		}
		if (bad != NULL) return bad;
	}
	return NULL;
}

/* The first conditional body in g's tree holding a forbidden node, or NULL.
 * Callers hold gmu. */
static struct cs_node *forbidden_in_bodies(struct cs_graph *g) {
	for (size_t i = 0; i < g->n; i++) {
		struct cs_node *n = g->nodes[i], *bad = NULL;
		for (unsigned b = 0; b < n->nbodies && bad == NULL; b++) bad = forbidden_in_body(n->bodies[b]);
		if (bad != NULL) return bad;
	}
	return NULL;
}

/* The checks of instantiating a graph with conditional nodes. Callers hold
 * gmu.
 * - CUgraphNodeType, CU_GRAPH_NODE_TYPE_CONDITIONAL: "Only one
 *   instantiation of the graph may exist at any point in time":
 *   CUDA_ERROR_INVALID_VALUE for a second (the code is a guess: NVIDIA
 *   names none).
 * - A body may hold only the node types above: CUDA_ERROR_NOT_SUPPORTED,
 *   the code the driver uses for an operation it cannot do (a guess too).
 * - cuGraphInstantiateWithParams' result CUDA_GRAPH_INSTANTIATE_CONDITIONAL_
 *   HANDLE_UNUSED: "One or more conditional handles are not associated with
 *   conditional nodes": CUDA_ERROR_INVALID_VALUE.
 * - A body graph is instantiated with its node, not on its own (not
 *   simulated: CUDA_ERROR_NOT_SUPPORTED). */
static CUresult check_conditionals(struct cs_graph *g) {
	const char *call = "cuGraphInstantiateWithFlags";
	if (g->owner != NULL) {
		cs_note("%s: the graph is a conditional node's body: instantiating it on its own is not simulated", call);
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	if (g->nconds > 0 && g->execs > 0) {
		cs_note("%s: the graph has a conditional node and an executable graph made from it still exists (\"Only one "
			"instantiation of the graph may exist at any point in time\")", call);
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (g->nmem > 0 && g->execs > 0) {
		cs_note("%s: the graph has memory allocation or free nodes and an executable graph made from it still exists "
			"(\"there can be at most one executable graph in existence for that graph at a time\")", call);
		return CUDA_ERROR_INVALID_VALUE;
	}
	struct cs_node *bad = forbidden_in_bodies(g);
	if (bad != NULL) {
		cs_note("%s: a conditional body holds a node of type %d (%s): only kernel, empty, child graph, memset, "
			"memcpy and conditional nodes are allowed in a body", call, bad->type, bad->call);
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	return CUDA_SUCCESS;
}

/* cuGraphInstantiateWithFlags: "Creates an executable graph from a graph";
 * flags other than 0 (auto-free on launch, upload, device launch, node
 * priorities) are not simulated: CUDA_ERROR_INVALID_VALUE. Every node starts
 * enabled. The executable graph is a snapshot of the graph, its child
 * graphs and conditional bodies. */
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
	struct xtree *t = calloc(1, sizeof *t);
	if (e == NULL || t == NULL) {
		free(e), free(t);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	t->refs = 1;
	pthread_mutex_lock(&gmu);
	struct cs_handle **hs = NULL, *unused = NULL;
	long nh = 0;
	if (!graph_ok(hGraph)) r = CUDA_ERROR_INVALID_VALUE;
	else r = check_conditionals(hGraph);
	if (r == CUDA_SUCCESS && (nh = cs_handles_of(hGraph, &hs, &unused)) < 0) r = CUDA_ERROR_OUT_OF_MEMORY;
	if (r == CUDA_SUCCESS && unused != NULL) {
		cs_note("cuGraphInstantiateWithFlags: conditional handle 0x%llx was created for the graph but no conditional "
			"node uses it (CUDA_GRAPH_INSTANTIATE_CONDITIONAL_HANDLE_UNUSED)", unused->value);
		r = CUDA_ERROR_INVALID_VALUE;
	}
	if (r == CUDA_SUCCESS) {
		t->nh = (size_t)nh;
		t->handles = malloc((nh ? nh : 1) * sizeof *t->handles);
		t->defs = malloc((nh ? nh : 1) * sizeof *t->defs);
		t->assign = malloc(nh ? nh : 1);
		e->enabled = malloc(hGraph->n ? hGraph->n : 1);
		t->root = snapshot(hGraph);
		if (t->handles == NULL || t->defs == NULL || t->assign == NULL || e->enabled == NULL || t->root == NULL)
			r = CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (r == CUDA_SUCCESS) {
		for (long i = 0; i < nh; i++) {
			t->handles[i] = hs[i]->value;
			t->defs[i] = hs[i]->def;
			t->assign[i] = (hs[i]->flags & 1) != 0; /* CU_GRAPH_COND_ASSIGN_DEFAULT */
		}
		memset(e->enabled, 1, hGraph->n);
		e->n = hGraph->n;
		e->t = t;
		e->from = hGraph;
		e->magic = EXEC_MAGIC;
		e->live = 1;
		if (hGraph->nconds > 0 || hGraph->nmem > 0) hGraph->execs++;
	}
	pthread_mutex_unlock(&gmu);
	free(hs);
	if (r != CUDA_SUCCESS) {
		free(e->enabled), free(e);
		xtree_unref(t);
		return r;
	}
	*phGraphExec = e;
	cudasim_count("graph_instantiations", 1);
	return CUDA_SUCCESS;
}

/* cuGraphExecDestroy: "Destroys the executable graph specified by
 * hGraphExec, as well as all of its executable nodes. If the executable graph
 * is in-flight, it will not be terminated, but rather freed asynchronously on
 * completion": queued launches hold their own reference. */
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
	if (e->from->nconds > 0 || e->from->nmem > 0) e->from->execs--;
	struct xtree *t = e->t;
	e->t = NULL;
	e->n = 0;
	free(e->enabled);
	e->enabled = NULL;
	pthread_mutex_unlock(&gmu);
	xtree_unref(t);
	return CUDA_SUCCESS;
}

/* The node's place in e, or -1 when hNode is not a top-level node of the
 * graph e was instantiated from. Callers hold gmu. */
static long exec_index(struct cs_exec *e, struct cs_node *hNode) {
	if (!node_ok(hNode) || hNode->graph != e->from || hNode->index >= e->n || e->t->root->nodes[hNode->index] != hNode)
		return -1;
	return (long)hNode->index;
}

/* cuGraphNodeSetEnabled: "Sets hNode to be either enabled or disabled.
 * Disabled nodes are functionally equivalent to empty nodes until they are
 * reenabled. ... The node is identified by the corresponding node hNode in
 * the non-executable graph, from which the executable graph was
 * instantiated. ... The modifications only affect future launches of
 * hGraphExec. Already enqueued or running launches of hGraphExec are not
 * affected by this call." "Currently only kernel, memset and memcpy nodes are
 * supported": another type is CUDA_ERROR_INVALID_VALUE. */
CS_API CUresult cuGraphNodeSetEnabled(CUgraphExec hGraphExec, CUgraphNode hNode, unsigned int isEnabled) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	pthread_mutex_lock(&gmu);
	long i = exec_ok(hGraphExec) ? exec_index(hGraphExec, hNode) : -1;
	int type = i >= 0 ? hNode->type : -1;
	int ok = type == CU_GRAPH_NODE_TYPE_KERNEL || type == CU_GRAPH_NODE_TYPE_MEMCPY || type == CU_GRAPH_NODE_TYPE_MEMSET;
	if (ok) hGraphExec->enabled[i] = isEnabled != 0;
	pthread_mutex_unlock(&gmu);
	if (i >= 0 && !ok) cs_note("cuGraphNodeSetEnabled: node type %d (%s): only kernel, memset and memcpy nodes", type, hNode->call);
	return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
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

/* ---- launches ---- */

__thread struct cs_cond_values *cs_running_conds;

/* One launch: the tree (referenced until it has run), which top-level
 * nodes are enabled, and the conditions of this launch. */
struct launch_run {
	struct xtree *t;
	unsigned char *enabled;
	struct cs_cond_values conds;
};

static void launch_done(void *p) {
	struct launch_run *l = p;
	xtree_unref(l->t);
	free(l->enabled);
	free(l->conds.vals);
	free(l->conds.set);
	free(l);
}

/* Runs x's nodes in order on the stream thread (enabled: the top level's
 * flags, NULL inside), until the sticky error is set. A conditional IF node
 * (CUDA_CONDITIONAL_NODE_PARAMS: "phGraph_out[0] is executed when the
 * condition is non-zero. If size == 2, phGraph_out[1] will be executed when
 * the condition is zero") reads its handle's value in this launch; one that
 * neither its default nor cudaGraphSetConditional assigned is undefined on
 * a GPU ("the condition value is undefined at the beginning of each graph
 * execution", cuGraphConditionalHandleCreate): here a sticky
 * CUDA_ERROR_ILLEGAL_STATE. */
static void run_x(struct launch_run *l, const struct xgraph *x, const unsigned char *enabled) {
	for (size_t i = 0; i < x->n && cudasim_sticky() == 0; i++) {
		struct cs_node *n = x->nodes[i];
		if (enabled != NULL && !enabled[i]) continue;
		if (n->type == CU_GRAPH_NODE_TYPE_GRAPH) {
			run_x(l, x->sub[2 * i], NULL);
		} else if (n->type == CU_GRAPH_NODE_TYPE_CONDITIONAL) {
			long s = cs_cond_slot(&l->conds, n->handle->value);
			if (s < 0 || !l->conds.set[s]) {
				cudasim_fail(CUDA_ERROR_ILLEGAL_STATE, n->call, "handle 0x%llx: conditional read before "
					"cudaGraphSetConditional set it in this launch (it has no CU_GRAPH_COND_ASSIGN_DEFAULT; "
					"its value is undefined on a GPU)", n->handle->value);
				return;
			}
			int body = l->conds.vals[s] != 0 ? 0 : (n->nbodies == 2 ? 1 : -1);
			if (body < 0) {
				cudasim_count("conditional_skipped", 1);
				continue;
			}
			cudasim_count("conditional_taken", 1);
			run_x(l, x->sub[2 * i + body], NULL);
		} else {
			cs_run_task(n->call, n->fn, n->arg);
		}
	}
}

/* The launch, on the stream thread: "at the beginning of each graph
 * execution" a handle with CU_GRAPH_COND_ASSIGN_DEFAULT takes its default
 * (cuGraphConditionalHandleCreate), the others are unset; then the nodes
 * run. */
static void run_launch(void *p) {
	struct launch_run *l = p;
	struct xtree *t = l->t;
	for (size_t i = 0; i < t->nh; i++) {
		l->conds.vals[i] = t->defs[i];
		l->conds.set[i] = t->assign[i];
	}
	cs_running_conds = &l->conds;
	run_x(l, t->root, l->enabled);
	cs_running_conds = NULL;
}

/* cuGraphLaunch: "Executes hGraphExec in hStream. Only one instance of
 * hGraphExec may be executing at a time. Each launch is ordered behind both
 * any previous work in hStream and any previous launches of hGraphExec."
 * Here the nodes run in order on the stream thread, child graphs in place,
 * conditional bodies as their conditions select (one stream thread runs
 * everything in queue order, so both orders hold). Launching into a
 * capturing stream (a child graph) is not simulated:
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
	/* The enabled flags are copied now: a later cuGraphNodeSetEnabled or
	 * cuGraphExecDestroy does not change this launch. */
	struct cs_exec *e = hGraphExec;
	struct xtree *t = e->t;
	struct launch_run *l = calloc(1, sizeof *l);
	if (l != NULL) {
		l->enabled = malloc(e->n ? e->n : 1);
		l->conds.vals = calloc(t->nh ? t->nh : 1, sizeof *l->conds.vals);
		l->conds.set = calloc(t->nh ? t->nh : 1, 1);
	}
	if (l == NULL || l->enabled == NULL || l->conds.vals == NULL || l->conds.set == NULL) {
		pthread_mutex_unlock(&gmu);
		if (l) free(l->enabled), free(l->conds.vals), free(l->conds.set), free(l);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	memcpy(l->enabled, e->enabled, e->n);
	size_t enabled = 0;
	for (size_t i = 0; i < e->n; i++) enabled += e->enabled[i];
	__atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
	l->t = t;
	l->conds.n = t->nh;
	l->conds.handles = t->handles;
	pthread_mutex_unlock(&gmu);
	cudasim_count("graph_launches", 1);
	cudasim_count("graph_nodes_launched", enabled);
	/* One submission, as on a GPU: the host cost does not grow with the
	 * nodes (the stream thread runs them, each as its own task). */
	int q = cs_enqueue_graph(hStream, run_launch, launch_done, l);
	if (q != CUDASIM_SUCCESS) launch_done(l);
	return (CUresult)q;
}
