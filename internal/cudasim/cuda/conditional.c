/*
 * conditional.c: conditional graph nodes (CUDA Driver API reference, "Graph
 * Management": cuGraphConditionalHandleCreate, cuGraphAddNode,
 * CUDA_CONDITIONAL_NODE_PARAMS; CUDA Programming Guide, "Conditional Graph
 * Nodes"), IF nodes only, and cudaGraphSetConditional as a kernel calls it.
 *
 * A handle belongs to the graph it was created for; a conditional node owns
 * its body graphs (phGraph_out). graph.c instantiates them (checks, the
 * snapshot of every body) and runs them: at each launch the handles take
 * their defaults or become unset, a kernel of the launch sets them, and an
 * IF node runs a body as its handle's value selects.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"

typedef unsigned long long CUgraphConditionalHandle;

/* cuda.h (CUDA 12.4+), struct CUDA_CONDITIONAL_NODE_PARAMS. */
typedef struct {
	CUgraphConditionalHandle handle;
	unsigned int type; /* CUgraphConditionalNodeType: IF 0, WHILE 1, SWITCH 2 */
	unsigned int size;
	CUgraph *phGraph_out;
	CUcontext ctx;
} CUDA_CONDITIONAL_NODE_PARAMS;

/* cuda.h, struct CUgraphNodeParams: "reserved1[29]" pads the union, so the
 * struct is 256 bytes on every ABI that has it. */
typedef struct {
	unsigned int type;
	int reserved0[3];
	union {
		long long reserved1[29];
		CUDA_CONDITIONAL_NODE_PARAMS conditional;
	} params;
	long long reserved2;
} CUgraphNodeParams;

/* cuda.h, struct CUgraphEdgeData (12.3): ports and a dependency type, all
 * zero for an ordinary dependency. */
typedef struct {
	unsigned char from_port, to_port, type, reserved[5];
} CUgraphEdgeData;
_Static_assert(sizeof(CUgraphEdgeData) == 8, "CUgraphEdgeData is 8 bytes");

static_assert(sizeof(CUDA_CONDITIONAL_NODE_PARAMS) == 32, "CUDA_CONDITIONAL_NODE_PARAMS is 32 bytes in cuda.h");
static_assert(sizeof(CUgraphNodeParams) == 256, "CUgraphNodeParams is 256 bytes in cuda.h");

enum { CU_GRAPH_COND_TYPE_IF = 0, CU_GRAPH_COND_TYPE_WHILE = 1, CU_GRAPH_COND_TYPE_SWITCH = 2 };
#define CU_GRAPH_COND_ASSIGN_DEFAULT 1u

/* Every handle made, in value order; under cs_gmu. Never freed: a handle
 * of a destroyed graph stays recognisable. */
static struct cs_handle **table;
static size_t ntable, captable;

struct cs_handle *cs_handle_find(unsigned long long value) {
	if (value < CS_HANDLE_BASE || value - CS_HANDLE_BASE >= ntable) return NULL;
	return table[value - CS_HANDLE_BASE];
}

long cs_handles_of(struct cs_graph *g, struct cs_handle ***out, struct cs_handle **unused) {
	*out = NULL;
	*unused = NULL;
	size_t n = 0;
	for (size_t i = 0; i < ntable; i++) n += cs_graph_ok(table[i]->graph) && cs_graph_root(table[i]->graph) == g;
	if (n == 0) return 0;
	struct cs_handle **v = malloc(n * sizeof *v);
	if (v == NULL) return -1;
	n = 0;
	for (size_t i = 0; i < ntable; i++) {
		struct cs_handle *h = table[i];
		if (!cs_graph_ok(h->graph) || cs_graph_root(h->graph) != g) continue;
		v[n++] = h;
		if (h->node == NULL && *unused == NULL) *unused = h;
	}
	*out = v;
	return (long)n;
}

/* cuGraphConditionalHandleCreate: "Creates a conditional handle associated
 * with the specified graph and context. The handle will be initialized to
 * defaultLaunchValue at the beginning of each graph execution if
 * CU_GRAPH_COND_ASSIGN_DEFAULT is set in flags; otherwise the condition
 * value is undefined at the beginning of each graph execution." ctx must be
 * the current context (the only one there is); flags other than
 * CU_GRAPH_COND_ASSIGN_DEFAULT are CUDA_ERROR_INVALID_VALUE. */
CS_API CUresult cuGraphConditionalHandleCreate(CUgraphConditionalHandle *pHandle_out, CUgraph hGraph, CUcontext ctx,
	unsigned int defaultLaunchValue, unsigned int flags) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (pHandle_out == NULL || (flags & ~CU_GRAPH_COND_ASSIGN_DEFAULT) != 0) return CUDA_ERROR_INVALID_VALUE;
	if (ctx != cs_current_ctx()) {
		cs_note("cuGraphConditionalHandleCreate: ctx %p is not the current context", (void *)ctx);
		return CUDA_ERROR_INVALID_VALUE;
	}
	struct cs_handle *h = calloc(1, sizeof *h);
	if (h == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&cs_gmu);
	if (!cs_graph_ok(hGraph)) r = CUDA_ERROR_INVALID_VALUE;
	else if (ntable == captable) {
		size_t cap = captable ? 2 * captable : 64;
		struct cs_handle **v = realloc(table, cap * sizeof *v);
		if (v == NULL) r = CUDA_ERROR_OUT_OF_MEMORY;
		else table = v, captable = cap;
	}
	if (r == CUDA_SUCCESS) {
		h->value = CS_HANDLE_BASE + ntable;
		h->graph = hGraph;
		h->ctx = ctx;
		h->def = defaultLaunchValue;
		h->flags = flags;
		table[ntable++] = h;
	}
	pthread_mutex_unlock(&cs_gmu);
	if (r != CUDA_SUCCESS) {
		free(h);
		return r;
	}
	*pHandle_out = h->value;
	return CUDA_SUCCESS;
}

/* The checks of a conditional node's parameters (CUDA_CONDITIONAL_NODE_PARAMS):
 * "handle: Conditional node handle. Handles must be created in advance of
 * creating the node using cuGraphConditionalHandleCreate", which says "The
 * conditional handle must be associated with a conditional node in this
 * graph or one of its children" (here: created for hGraph or for a graph
 * hGraph is a body of, at any depth; and used by no other node); "size:
 * ... 1 or 2 for CU_GRAPH_COND_TYPE_IF"; "ctx: Context on which to run the
 * node. Must match context used to create the handle". WHILE and SWITCH are
 * not simulated (CUDA_ERROR_NOT_SUPPORTED). Callers hold cs_gmu. */
static CUresult check_params(struct cs_graph *g, const CUDA_CONDITIONAL_NODE_PARAMS *c, struct cs_handle **hp) {
	const char *call = "cuGraphAddNode";
	if (c->type == CU_GRAPH_COND_TYPE_WHILE || c->type == CU_GRAPH_COND_TYPE_SWITCH) {
		cs_note("%s: conditional node type %u (%s) is not simulated (only IF)", call, c->type,
			c->type == CU_GRAPH_COND_TYPE_WHILE ? "WHILE" : "SWITCH");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	if (c->type != CU_GRAPH_COND_TYPE_IF || c->size < 1 || c->size > 2) {
		cs_note("%s: conditional type %u with size %u (IF takes 1 or 2)", call, c->type, c->size);
		return CUDA_ERROR_INVALID_VALUE;
	}
	struct cs_handle *h = cs_handle_find(c->handle);
	struct cs_graph *up = g;
	while (h != NULL && up != h->graph && up->owner != NULL) up = up->owner->graph;
	if (h == NULL || !cs_graph_ok(h->graph) || up != h->graph) {
		cs_note("%s: 0x%llx is not a conditional handle created for this graph (cuGraphConditionalHandleCreate)", call,
			c->handle);
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (h->node != NULL) {
		cs_note("%s: conditional handle 0x%llx is already used by another conditional node", call, c->handle);
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (c->ctx != h->ctx || c->ctx != cs_current_ctx()) {
		cs_note("%s: ctx %p is not the context current and used to create the handle", call, (void *)c->ctx);
		return CUDA_ERROR_INVALID_VALUE;
	}
	*hp = h;
	return CUDA_SUCCESS;
}

/* cuGraphAddNode (the CUDA 12.2 entry point; 12.3 added cuGraphAddNode_v2
 * with edge data): "Creates a new node in hGraph described by nodeParams
 * with numDependencies dependencies specified via dependencies." Only
 * conditional nodes (CU_GRAPH_NODE_TYPE_CONDITIONAL) are simulated. The
 * driver creates the body graphs and writes into
 * nodeParams->params.conditional.phGraph_out the "CUDA-owned array
 * populated with conditional node child graphs during creation of the node.
 * Valid for the lifetime of the conditional node." */
CS_API CUresult cuGraphAddNode(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
	size_t numDependencies, CUgraphNodeParams *nodeParams) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (phGraphNode == NULL || nodeParams == NULL) return CUDA_ERROR_INVALID_VALUE;
	if (nodeParams->type != CU_GRAPH_NODE_TYPE_CONDITIONAL) {
		cs_note("cuGraphAddNode: node type %u is not simulated (only conditional nodes, %d)", nodeParams->type,
			CU_GRAPH_NODE_TYPE_CONDITIONAL);
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	CUDA_CONDITIONAL_NODE_PARAMS *c = &nodeParams->params.conditional;
	struct cs_graph *bodies[2] = {NULL, NULL};
	for (unsigned i = 0; i < 2; i++) {
		bodies[i] = cs_graph_new();
		if (bodies[i] == NULL) {
			free(bodies[0]);
			return CUDA_ERROR_OUT_OF_MEMORY;
		}
	}
	struct cs_handle *h = NULL;
	struct cs_node *n = NULL;
	char call[96];
	snprintf(call, sizeof call, "cuGraphAddNode(conditional IF, handle 0x%llx)", c->handle);
	pthread_mutex_lock(&cs_gmu);
	if (!cs_graph_ok(hGraph)) r = CUDA_ERROR_INVALID_VALUE;
	else r = check_params(hGraph, c, &h);
	if (r == CUDA_SUCCESS) n = cs_graph_add(hGraph, dependencies, numDependencies, CU_GRAPH_NODE_TYPE_CONDITIONAL, call, &r);
	if (n != NULL) {
		n->handle = h;
		h->node = n;
		n->nbodies = c->size;
		for (unsigned i = 0; i < c->size; i++) {
			bodies[i]->owner = n;
			n->bodies[i] = bodies[i];
			bodies[i] = NULL;
		}
		hGraph->nconds++;
		c->phGraph_out = n->bodies;
	}
	pthread_mutex_unlock(&cs_gmu);
	free(bodies[0]), free(bodies[1]); /* those not used (never shared) */
	if (n == NULL) return r;
	*phGraphNode = n;
	return CUDA_SUCCESS;
}

/* The slot of handle in c (c->handles is in value order), or -1. */
long cs_cond_slot(const struct cs_cond_values *c, unsigned long long handle) {
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->handles[mid] == handle) return (long)mid;
		if (c->handles[mid] < handle) lo = mid + 1;
		else hi = mid;
	}
	return -1;
}

/* cudaGraphSetConditional (CUDA Runtime API, device side; Programming
 * Guide, "Conditional Graph Nodes": "the condition value ... can be set from
 * a CUDA kernel with cudaGraphSetConditional()"), called by a kernel on the
 * stream thread. The value holds for the rest of this launch. A handle that
 * is not one of the running launch's graph, or a call from a kernel
 * launched outside any graph, has no defined meaning: here a sticky
 * CUDA_ERROR_LAUNCH_FAILED (the code a failing kernel gets; NVIDIA names
 * none). */
void cs_graph_set_conditional(unsigned long long handle, unsigned int value) {
	const char *call = cs_current_call() ? cs_current_call() : "cudaGraphSetConditional";
	struct cs_cond_values *c = cs_running_conds;
	if (c == NULL) {
		cudasim_fail(CUDA_ERROR_LAUNCH_FAILED, call,
			"cudaGraphSetConditional(0x%llx, %u) in a kernel launched outside any graph", handle, value);
		return;
	}
	long s = cs_cond_slot(c, handle);
	if (s < 0) {
		cudasim_fail(CUDA_ERROR_LAUNCH_FAILED, call,
			"cudaGraphSetConditional(0x%llx, %u): not a conditional handle of the graph being launched", handle, value);
		return;
	}
	c->vals[s] = value;
	c->set[s] = 1;
}

/* cuGraphAddNode_v2 (CUDA 12.3; the name CUDA 13's headers give
 * cuGraphAddNode): cuGraphAddNode with dependencyData, "Optional edge data
 * for the dependencies. If NULL, the data is assumed to be default (zeroed)
 * for all dependencies." Edge data other than the default (programmatic
 * dependencies, ports) is not simulated. deepres calls this entry point. */
CS_API CUresult cuGraphAddNode_v2(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
	const CUgraphEdgeData *dependencyData, size_t numDependencies, CUgraphNodeParams *nodeParams) {
	if (dependencyData != NULL) {
		static const CUgraphEdgeData zero;
		for (size_t i = 0; i < numDependencies; i++) {
			if (memcmp(&dependencyData[i], &zero, sizeof zero) != 0) {
				cs_count_api();
				cs_note("cuGraphAddNode_v2: edge data other than the default is not simulated");
				return CUDA_ERROR_NOT_SUPPORTED;
			}
		}
	}
	return cuGraphAddNode(phGraphNode, hGraph, dependencies, numDependencies, nodeParams);
}
