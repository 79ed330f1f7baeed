/*
 * simcheck_cond.c: the cases of conditional graph nodes (cuda/conditional.c),
 * part of simcheck.c (included before its main). The graphs are built the
 * way deepres builds a training step: pieces of work captured on its one
 * stream into separate graphs, then a top-level graph assembled from them
 * with cuGraphCreate, cuGraphAddChildGraphNode, cuGraphConditionalHandleCreate
 * and cuGraphAddNode, instantiated, the pieces destroyed, launched per step.
 */
#include <assert.h>

typedef unsigned long long CUgraphConditionalHandle;

/* cuda.h: CUDA_CONDITIONAL_NODE_PARAMS and CUgraphNodeParams (CUDA 12.2 ABI). */
typedef struct {
	CUgraphConditionalHandle handle;
	unsigned int type;
	unsigned int size;
	CUgraph *phGraph_out;
	CUcontext ctx;
} CUDA_CONDITIONAL_NODE_PARAMS;
typedef struct {
	unsigned int type;
	int reserved0[3];
	union {
		long long reserved1[29];
		CUDA_CONDITIONAL_NODE_PARAMS conditional;
	} params;
	long long reserved2;
} CUgraphNodeParams;
static_assert(sizeof(CUgraphNodeParams) == 256, "CUgraphNodeParams is 256 bytes");

static CUresult (*cuGraphCreate)(CUgraph *, unsigned);
static CUresult (*cuGraphAddChildGraphNode)(CUgraphNode *, CUgraph, const CUgraphNode *, size_t, CUgraph);
static CUresult (*cuGraphConditionalHandleCreate)(CUgraphConditionalHandle *, CUgraph, CUcontext, unsigned, unsigned);
static CUresult (*cuGraphAddNode)(CUgraphNode *, CUgraph, const CUgraphNode *, size_t, CUgraphNodeParams *);
static CUresult (*cuLaunchHostFunc)(CUstream, void (*)(void *), void *);

static void load_cond(const char *dir) {
	void *cuda = open_lib(dir, "libcuda.so.1");
	SYM(cuda, cuGraphCreate);
	SYM(cuda, cuGraphAddChildGraphNode);
	SYM(cuda, cuGraphConditionalHandleCreate);
	SYM(cuda, cuGraphAddNode);
	SYM(cuda, cuLaunchHostFunc);
}

/* deepres declares cudaGraphSetConditional itself, exactly so. */
static const char *cond_kernels =
	"extern \"C\" __device__ void cudaGraphSetConditional(unsigned long long handle, unsigned int value);\n"
	"// handle i takes flags[i]: every handle of a step set by one kernel\n"
	"extern \"C\" __global__ void set_conds(const unsigned int *flags, const unsigned long long *handles, int n) {\n"
	"  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
	"  if (i < n) cudaGraphSetConditional(handles[i], flags[i]);\n"
	"}\n"
	"// y = y * a + b: the order of two of them shows\n"
	"extern \"C\" __global__ void affine(float *y, float a, float b, int n) {\n"
	"  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
	"  if (i < n) y[i] = y[i] * a + b;\n"
	"}\n";

enum { CN = 8 };
static CUfunction f_set, f_affine;
static CUdeviceptr cy, cflags, chandles;
static unsigned *hflags;
static unsigned long long *hhandles;

static void cond_setup(void) {
	context();
	CUmodule m = compile(cond_kernels);
	f_set = function(m, "set_conds");
	f_affine = function(m, "affine");
	CU(cuMemAlloc_v2(&cy, CN * 4));
	CU(cuMemAlloc_v2(&cflags, 4 * 4));
	CU(cuMemAlloc_v2(&chandles, 4 * 8));
	hflags = pinned(4 * 4);
	hhandles = pinned(4 * 8);
}

/* A graph captured on the stream: k affine steps, (a, b) pairs in ab. */
static CUgraph capture_affine(const float *ab, int k) {
	CU(cuStreamBeginCapture_v2(stream, 0));
	for (int i = 0; i < k; i++) {
		int n = CN;
		float a = ab[2 * i], b = ab[2 * i + 1];
		void *args[] = {&cy, &a, &b, &n};
		CU(cuLaunchKernel(f_affine, 1, 1, 1, 32, 1, 1, 0, stream, args, NULL));
	}
	CUgraph g;
	CU(cuStreamEndCapture(stream, &g));
	return g;
}

/* A graph captured on the stream: set_conds for n handles. */
static CUgraph capture_setter(int n) {
	CU(cuStreamBeginCapture_v2(stream, 0));
	void *args[] = {&cflags, &chandles, &n};
	CU(cuLaunchKernel(f_set, 1, 1, 1, 32, 1, 1, 0, stream, args, NULL));
	CUgraph g;
	CU(cuStreamEndCapture(stream, &g));
	return g;
}

/* Appends a child graph node to g's chain (*last: g's last node, or NULL). */
static void add_child(CUgraph g, CUgraphNode *last, CUgraph child) {
	CU(cuGraphAddChildGraphNode(last, g, *last ? last : NULL, *last ? 1 : 0, child));
}

static CUresult try_add_if(CUgraph g, CUgraphNode *last, CUgraphConditionalHandle h, unsigned size, CUgraph **bodies) {
	CUgraphNodeParams p;
	memset(&p, 0, sizeof p);
	p.type = 13; /* CU_GRAPH_NODE_TYPE_CONDITIONAL */
	p.params.conditional.handle = h;
	p.params.conditional.type = 0; /* CU_GRAPH_COND_TYPE_IF */
	p.params.conditional.size = size;
	p.params.conditional.ctx = ctx;
	CUgraphNode n;
	CUresult r = cuGraphAddNode(&n, g, *last ? last : NULL, *last ? 1 : 0, &p);
	if (r == 0) {
		*last = n;
		if (p.params.conditional.phGraph_out == NULL) fail("cuGraphAddNode left phGraph_out NULL");
		*bodies = p.params.conditional.phGraph_out;
	}
	return r;
}

/* Appends an IF node on h with size bodies; returns phGraph_out. */
static CUgraph *add_if(CUgraph g, CUgraphNode *last, CUgraphConditionalHandle h, unsigned size) {
	CUgraph *bodies = NULL;
	CU(try_add_if(g, last, h, size, &bodies));
	return bodies;
}

/* Writes the flags and handles the setter kernel reads (an upload from
 * pinned memory, waited for). */
static void upload_flags(const unsigned *flags, const CUgraphConditionalHandle *hs, int n) {
	for (int i = 0; i < n; i++) hflags[i] = flags[i], hhandles[i] = hs[i];
	CU(cuMemcpyHtoDAsync_v2(cflags, hflags, n * 4, stream));
	CU(cuMemcpyHtoDAsync_v2(chandles, hhandles, n * 8, stream));
	CU(cuStreamSynchronize(stream));
}

/* y set to 0, the graph launched once, y read back: all elements equal. */
static float launch_once(CUgraphExec e) {
	static float *h;
	if (h == NULL) h = pinned(CN * 4);
	CU(cuMemsetD32Async(cy, 0, CN, stream));
	CU(cuGraphLaunch(e, stream));
	read_back(h, cy, CN);
	for (int i = 1; i < CN; i++) {
		if (h[i] != h[0]) fail("y[%d] = %g, y[0] = %g", i, h[i], h[0]);
	}
	return h[0];
}

/* IF nodes run or skip their bodies as the setter kernel decides from a
 * device flag, launch after launch with the flag rewritten in between;
 * child graphs run in place and in order. The shape of a deepres step:
 * [setter, segment, IF(unit), segment, IF(unit)]. */
static void case_cond_if(void) {
	cond_setup();
	static const float seg1[] = {2, 1, 3, 0}, unit1[] = {1, 10}, seg2[] = {2, 0}, unit2[] = {1, 100};
	CUgraph setter = capture_setter(2), s1 = capture_affine(seg1, 2), u1 = capture_affine(unit1, 1),
		s2 = capture_affine(seg2, 1), u2 = capture_affine(unit2, 1);
	CUgraph top;
	CU(cuGraphCreate(&top, 0));
	CUgraphConditionalHandle h[2];
	CU(cuGraphConditionalHandleCreate(&h[0], top, ctx, 0, 0));
	CU(cuGraphConditionalHandleCreate(&h[1], top, ctx, 0, 0));
	CUgraphNode last = NULL;
	add_child(top, &last, setter);
	add_child(top, &last, s1);
	CUgraph *b1 = add_if(top, &last, h[0], 1);
	CUgraphNode in = NULL;
	add_child(b1[0], &in, u1);
	add_child(top, &last, s2);
	CUgraph *b2 = add_if(top, &last, h[1], 1);
	in = NULL;
	add_child(b2[0], &in, u2);

	CUgraphNode nodes[5];
	size_t nn = 5;
	CU(cuGraphGetNodes(top, nodes, &nn));
	EXPECT(nn, 5);
	static const unsigned want_types[] = {4, 4, 13, 4, 13};
	for (int i = 0; i < 5; i++) {
		unsigned t;
		CU(cuGraphNodeGetType(nodes[i], &t));
		if (t != want_types[i]) fail("node %d has type %u, want %u", i, t, want_types[i]);
	}
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, top, 0));
	/* The pieces are not needed once assembled (the child nodes cloned
	 * them), nor the graph once instantiated. */
	CUgraph pieces[] = {setter, s1, u1, s2, u2, top};
	for (int i = 0; i < 6; i++) CU(cuGraphDestroy(pieces[i]));
	EXPECT(cuGraphDestroy(b1[0]), 1); /* still CUDA's: the executable graph holds its node */

	/* y = 0 -> seg1: (0*2+1)*3 = 3 -> unit1: +10 -> seg2: *2 -> unit2: +100. */
	static const struct {
		unsigned f[2];
		float want;
	} steps[] = {{{1, 1}, 126}, {{0, 1}, 106}, {{1, 0}, 26}, {{0, 0}, 6}};
	for (int s = 0; s < 4; s++) {
		upload_flags(steps[s].f, h, 2);
		float got = launch_once(e);
		if (got != steps[s].want)
			fail("launch %d with flags %u %u: y = %g, want %g", s, steps[s].f[0], steps[s].f[1], got, steps[s].want);
	}
	CU(cuGraphExecDestroy(e));
}

/* IF with two bodies runs the else body when the value is 0; a body may
 * hold a nested IF whose handle (created for the body graph) takes its
 * default; the executable graph is a snapshot (a body changed after
 * instantiation does not change it). */
static void case_cond_else(void) {
	cond_setup();
	static const float then_ab[] = {1, 10}, else_ab[] = {1, 20}, nested_ab[] = {2, 0}, later_ab[] = {0, 999};
	CUgraph setter = capture_setter(1), gthen = capture_affine(then_ab, 1), gelse = capture_affine(else_ab, 1),
		gnested = capture_affine(nested_ab, 1), glater = capture_affine(later_ab, 1);
	CUgraph top;
	CU(cuGraphCreate(&top, 0));
	CUgraphConditionalHandle h, hn;
	CU(cuGraphConditionalHandleCreate(&h, top, ctx, 0, 0));
	CUgraphNode last = NULL;
	add_child(top, &last, setter);
	CUgraph *b = add_if(top, &last, h, 2);
	CUgraphNode in = NULL;
	add_child(b[0], &in, gthen);
	in = NULL;
	add_child(b[1], &in, gelse);
	CU(cuGraphConditionalHandleCreate(&hn, b[1], ctx, 1, 1)); /* CU_GRAPH_COND_ASSIGN_DEFAULT, 1 */
	CUgraph *nb = add_if(b[1], &in, hn, 1);
	CUgraphNode nin = NULL;
	add_child(nb[0], &nin, gnested);
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, top, 0));
	in = NULL;
	CUgraphNode then_nodes[1];
	size_t nn = 1;
	CU(cuGraphGetNodes(b[0], then_nodes, &nn));
	in = then_nodes[0];
	add_child(b[0], &in, glater); /* after instantiation: not in e */

	/* y = 0 -> then: +10; else: +20, then the nested IF (default 1): *2. */
	static const struct {
		unsigned f;
		float want;
	} steps[] = {{1, 10}, {0, 40}, {7, 10}, {0, 40}};
	for (int s = 0; s < 4; s++) {
		upload_flags(&steps[s].f, &h, 1);
		float got = launch_once(e);
		if (got != steps[s].want) fail("launch %d with flag %u: y = %g, want %g", s, steps[s].f, got, steps[s].want);
	}
}

/* CU_GRAPH_COND_ASSIGN_DEFAULT: with no kernel setting them, a handle with
 * default 1 runs its body and one with default 0 skips it, at every launch;
 * a value set by a kernel holds for its launch only. */
static void case_cond_default(void) {
	cond_setup();
	static const float on_ab[] = {1, 10}, off_ab[] = {1, 100}, set_ab[] = {1, 1000};
	CUgraph gon = capture_affine(on_ab, 1), goff = capture_affine(off_ab, 1), gset = capture_affine(set_ab, 1),
		setter = capture_setter(2);
	CUgraph top;
	CU(cuGraphCreate(&top, 0));
	CUgraphConditionalHandle hon, hoff, hset;
	CU(cuGraphConditionalHandleCreate(&hon, top, ctx, 1, 1));
	CU(cuGraphConditionalHandleCreate(&hoff, top, ctx, 0, 1));
	CU(cuGraphConditionalHandleCreate(&hset, top, ctx, 0, 1)); /* default 0, set to 1 by the setter */
	CUgraphNode last = NULL, in;
	CUgraph *b = add_if(top, &last, hon, 1);
	in = NULL;
	add_child(b[0], &in, gon);
	b = add_if(top, &last, hoff, 1);
	in = NULL;
	add_child(b[0], &in, goff);
	add_child(top, &last, setter);
	b = add_if(top, &last, hset, 1);
	in = NULL;
	add_child(b[0], &in, gset);
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, top, 0));
	/* Launch 1: the setter sets hset to 1 and also hon to 0 after its IF ran:
	 * 10 + 1000. Launch 2: flags 0: hon is 1 again (its default), hset 0. */
	unsigned f1[] = {1, 0};
	CUgraphConditionalHandle hs[] = {hset, hon};
	upload_flags(f1, hs, 2);
	float got = launch_once(e);
	if (got != 1010) fail("launch 1: y = %g, want 1010", got);
	unsigned f2[] = {0, 0};
	upload_flags(f2, hs, 2);
	got = launch_once(e);
	if (got != 10) fail("launch 2: y = %g, want 10 (defaults assigned again at the launch)", got);
}

/* A handle nobody set in this launch is read: a sticky error (its value is
 * undefined on a GPU). */
static void case_cond_unset(void) {
	cond_setup();
	static const float ab[] = {1, 10};
	CUgraph unit = capture_affine(ab, 1);
	CUgraph top;
	CU(cuGraphCreate(&top, 0));
	CUgraphConditionalHandle h;
	CU(cuGraphConditionalHandleCreate(&h, top, ctx, 1, 0)); /* a default, but not CU_GRAPH_COND_ASSIGN_DEFAULT */
	CUgraphNode last = NULL, in = NULL;
	CUgraph *b = add_if(top, &last, h, 1);
	add_child(b[0], &in, unit);
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, top, 0));
	CU(cuGraphLaunch(e, stream));
	EXPECT(cuStreamSynchronize(stream), 401); /* CUDA_ERROR_ILLEGAL_STATE, sticky */
	EXPECT(cuMemsetD32Async(cy, 0, CN, stream), 401);
}

/* cudaGraphSetConditional in a kernel launched outside any graph. */
static void case_cond_set_eager(void) {
	cond_setup();
	CUgraph top;
	CU(cuGraphCreate(&top, 0));
	CUgraphConditionalHandle h;
	CU(cuGraphConditionalHandleCreate(&h, top, ctx, 0, 0));
	unsigned f = 1;
	upload_flags(&f, &h, 1);
	int n = 1;
	void *args[] = {&cflags, &chandles, &n};
	CU(cuLaunchKernel(f_set, 1, 1, 1, 32, 1, 1, 0, stream, args, NULL));
	EXPECT(cuStreamSynchronize(stream), 719); /* CUDA_ERROR_LAUNCH_FAILED, sticky */
}

/* cudaGraphSetConditional with a handle of another graph. */
static void case_cond_set_foreign(void) {
	cond_setup();
	CUgraph other, top;
	CU(cuGraphCreate(&other, 0));
	CU(cuGraphCreate(&top, 0));
	CUgraphConditionalHandle hother, h;
	CU(cuGraphConditionalHandleCreate(&hother, other, ctx, 0, 0));
	CU(cuGraphConditionalHandleCreate(&h, top, ctx, 0, 1));
	static const float ab[] = {1, 10};
	CUgraph unit = capture_affine(ab, 1), setter = capture_setter(1);
	CUgraphNode last = NULL, in = NULL;
	add_child(top, &last, setter);
	CUgraph *b = add_if(top, &last, h, 1);
	add_child(b[0], &in, unit);
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, top, 0));
	unsigned f = 1;
	upload_flags(&f, &hother, 1);
	CU(cuGraphLaunch(e, stream));
	EXPECT(cuStreamSynchronize(stream), 719);
}

static int host_calls;
static void count_host_call(void *p) { (*(int *)p)++; }

/* What the driver refuses when a graph is assembled or instantiated. */
static void case_cond_errors(void) {
	cond_setup();
	static const float ab[] = {1, 10};
	CUgraph unit = capture_affine(ab, 1);
	CUgraph top, other;
	CU(cuGraphCreate(&top, 0));
	CU(cuGraphCreate(&other, 0));
	EXPECT(cuGraphCreate(&other, 1), 1); /* flags must be 0 */
	CUgraphConditionalHandle h, h2, hother;
	EXPECT(cuGraphConditionalHandleCreate(&h, top, ctx, 0, 2), 1); /* unknown flag */
	EXPECT(cuGraphConditionalHandleCreate(&h, top, NULL, 0, 0), 1); /* not the current context */
	CU(cuGraphConditionalHandleCreate(&h, top, ctx, 0, 1));
	CU(cuGraphConditionalHandleCreate(&h2, top, ctx, 0, 1));
	CU(cuGraphConditionalHandleCreate(&hother, other, ctx, 0, 1));

	CUgraphNode last = NULL, in = NULL;
	CUgraph *b = NULL;
	EXPECT(try_add_if(top, &last, hother, 1, &b), 1); /* a handle of another graph */
	EXPECT(try_add_if(top, &last, h, 3, &b), 1);      /* IF takes 1 or 2 bodies */
	CUgraphNodeParams p;
	memset(&p, 0, sizeof p);
	p.type = 13;
	p.params.conditional = (CUDA_CONDITIONAL_NODE_PARAMS){.handle = h, .type = 1, .size = 1, .ctx = ctx};
	CUgraphNode n;
	EXPECT(cuGraphAddNode(&n, top, NULL, 0, &p), 801); /* WHILE: CUDA_ERROR_NOT_SUPPORTED */
	p.params.conditional.type = 0;
	p.params.conditional.ctx = NULL;
	EXPECT(cuGraphAddNode(&n, top, NULL, 0, &p), 1); /* not the handle's context */
	p.type = 0;
	EXPECT(cuGraphAddNode(&n, top, NULL, 0, &p), 801); /* a kernel node: not simulated */
	b = add_if(top, &last, h, 1);
	CUgraphNode first = last;
	EXPECT(try_add_if(top, &last, h, 1, &b), 1); /* the handle is used by a conditional node already */
	add_child(b[0], &in, unit);
	CUgraphConditionalHandle hb;
	CU(cuGraphConditionalHandleCreate(&hb, b[0], ctx, 0, 1));
	CUgraph *unused_bodies;
	EXPECT(try_add_if(top, &last, hb, 1, &unused_bodies), 1); /* a body's handle in the graph above it */
	add_if(b[0], &in, hb, 1);                                  /* in the body: allowed */
	unsigned t;
	CU(cuGraphNodeGetType(first, &t));
	EXPECT(t, 13);

	/* Graphs are chains. */
	CUgraphNode none = NULL;
	EXPECT(cuGraphAddChildGraphNode(&n, top, NULL, 0, unit), 801); /* a second root */
	CUgraphNode two[] = {first, first};
	EXPECT(cuGraphAddChildGraphNode(&n, top, two, 2, unit), 801);
	EXPECT(cuGraphAddChildGraphNode(&n, top, &none, 1, unit), 1); /* not a node */
	CUgraphNode in_other;
	CU(cuGraphAddChildGraphNode(&in_other, other, NULL, 0, unit));
	EXPECT(cuGraphAddChildGraphNode(&n, top, &in_other, 1, unit), 1); /* a node of another graph */

	/* A body is CUDA's; a graph with a conditional node is no child. */
	EXPECT(cuGraphDestroy(b[0]), 1);
	EXPECT(cuGraphAddChildGraphNode(&n, other, &in_other, 1, top), 1);

	/* h2 is used by no conditional node: instantiation fails until it is. */
	CUgraphExec e, e2;
	EXPECT(cuGraphInstantiateWithFlags(&e, top, 0), 1);
	CUgraph *b2 = add_if(top, &last, h2, 1);
	EXPECT(cuGraphInstantiateWithFlags(&e, b2[0], 0), 801); /* a body on its own: not simulated */

	/* Only one instantiation of a graph with a conditional node at a time. */
	CU(cuGraphInstantiateWithFlags(&e, top, 0));
	EXPECT(cuGraphInstantiateWithFlags(&e2, top, 0), 1);
	EXPECT(cuGraphNodeSetEnabled(e, first, 0), 1); /* only kernel, memset and memcpy nodes */
	CU(cuGraphExecDestroy(e));
	CU(cuGraphInstantiateWithFlags(&e2, top, 0));
	CU(cuGraphExecDestroy(e2));
	CU(cuGraphDestroy(top));
	CU(cuGraphDestroy(other));
	EXPECT(cuGraphDestroy(b[0]), 1); /* gone with its node */
}

/* A host function may be captured and launched in a graph, but not in a
 * conditional body (nor in a child graph inside one). */
static void case_cond_body_forbidden(void) {
	cond_setup();
	CU(cuStreamBeginCapture_v2(stream, 0));
	CU(cuLaunchHostFunc(stream, count_host_call, &host_calls));
	CUgraph hostg;
	CU(cuStreamEndCapture(stream, &hostg));
	if (host_calls != 0) fail("the captured host function ran at capture");
	CUgraphNode hn;
	size_t nn = 1;
	CU(cuGraphGetNodes(hostg, &hn, &nn));
	unsigned t;
	CU(cuGraphNodeGetType(hn, &t));
	EXPECT(t, 3); /* CU_GRAPH_NODE_TYPE_HOST */

	CUgraph top;
	CU(cuGraphCreate(&top, 0));
	CUgraphNode last = NULL, in = NULL;
	add_child(top, &last, hostg); /* at the top level: allowed */
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, top, 0));
	CU(cuGraphLaunch(e, stream));
	CU(cuGraphLaunch(e, stream));
	CU(cuStreamSynchronize(stream));
	EXPECT(host_calls, 2);
	CU(cuGraphExecDestroy(e));

	CUgraphConditionalHandle h;
	CU(cuGraphConditionalHandleCreate(&h, top, ctx, 1, 1));
	CUgraph *b = add_if(top, &last, h, 1);
	CUgraph wrapper;
	CU(cuGraphCreate(&wrapper, 0));
	CUgraphNode w = NULL;
	add_child(wrapper, &w, hostg);
	add_child(b[0], &in, wrapper); /* a child graph holding the host node */
	EXPECT(cuGraphInstantiateWithFlags(&e, top, 0), 801); /* CUDA_ERROR_NOT_SUPPORTED */
}

/* The new entry points are API calls like the others (cond_test.go reads
 * the stats file). */
static void case_cond_api(void) {
	context(); /* 5 API calls */
	CUgraph top, piece;
	CU(cuGraphCreate(&top, 0));   /* 1 */
	CU(cuGraphCreate(&piece, 0)); /* 1 */
	CUgraphConditionalHandle h;
	CU(cuGraphConditionalHandleCreate(&h, top, ctx, 1, 1)); /* 1 */
	CUgraphNode last = NULL, in = NULL;
	CUgraph *b = add_if(top, &last, h, 1); /* 1 */
	add_child(b[0], &in, piece);           /* 1 */
	CU(cuLaunchHostFunc(stream, count_host_call, &host_calls)); /* 1 */
	CU(cuStreamSynchronize(stream));       /* 1: 12 in all */
	EXPECT(host_calls, 1);
}

/* The child graph is cloned when the node is added: a graph made its own
 * child holds a copy of what it was, not itself. y = 0 -> 1 -> 3. */
static void case_child_clone(void) {
	cond_setup();
	static const float ab[] = {2, 1};
	CUgraph g = capture_affine(ab, 1);
	CUgraphNode last;
	size_t nn = 1;
	CU(cuGraphGetNodes(g, &last, &nn));
	add_child(g, &last, g);
	CUgraphExec e;
	CU(cuGraphInstantiateWithFlags(&e, g, 0));
	float got = launch_once(e);
	if (got != 3) fail("y = %g, want 3 (the affine step, then its clone)", got);
}
