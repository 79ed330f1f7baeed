/*
 * simcheck_blas.c: cuBLAS's workspace under stream capture (cublas/cublas.c,
 * cuda/graph.c), part of simcheck.c (included before its main). Without a
 * workspace of the user's, a captured GEMM records a memory allocation node
 * and a free node around its kernel, and such a graph cannot become a child
 * graph, so it cannot be a piece of deepres's stochastic-depth step either;
 * cublasSetWorkspace_v2 removes them until the next cublasSetStream_v2.
 */
static int (*cublasSetWorkspace_v2)(void *, void *, size_t);

static void load_blas(const char *dir) {
	void *blas = open_lib(dir, "libcublas.so.13");
	SYM(blas, cublasSetWorkspace_v2);
}

/* capture_gemm captures C = A * B (1x1x1) on the stream and returns the
 * graph, with its node types in types (at most 4) and their count in *n. */
static CUgraph capture_gemm(void *h, CUdeviceptr a, CUdeviceptr c, unsigned types[4], size_t *n) {
	static const float one = 1, zero = 0;
	CUgraph g;
	CU(cuStreamBeginCapture_v2(stream, 0));
	EXPECT(cublasSgemm_v2(h, 0, 0, 1, 1, 1, &one, (float *)(uintptr_t)a, 1, (float *)(uintptr_t)a, 1, &zero,
		(float *)(uintptr_t)c, 1), 0);
	CU(cuStreamEndCapture(stream, &g));
	CUgraphNode nodes[4];
	*n = 4;
	CU(cuGraphGetNodes(g, nodes, n));
	for (size_t i = 0; i < *n; i++) CU(cuGraphNodeGetType(nodes[i], &types[i]));
	return g;
}

static void case_blas_workspace(void) {
	context();
	void *h;
	EXPECT(cublasCreate_v2(&h), 0);
	EXPECT(cublasSetStream_v2(h, stream), 0);
	CUdeviceptr a, c, ws;
	CU(cuMemAlloc_v2(&a, 4));
	CU(cuMemAlloc_v2(&c, 4));
	CU(cuMemAlloc_v2(&ws, 4 << 20));
	float *x = pinned(4);
	*x = 3;
	CU(cuMemcpyHtoDAsync_v2(a, x, 4, stream));

	/* The default pool: MEM_ALLOC (10), KERNEL (0), MEM_FREE (11). */
	unsigned types[4];
	size_t n;
	CUgraph pooled = capture_gemm(h, a, c, types, &n);
	if (n != 3 || types[0] != 10 || types[1] != 0 || types[2] != 11)
		fail("GEMM captured without a workspace: %zu nodes (types %u %u %u), want alloc, kernel, free", n, types[0],
			types[1], types[2]);
	CUgraph top;
	CUgraphNode node;
	CU(cuGraphCreate(&top, 0));
	EXPECT(cuGraphAddChildGraphNode(&node, top, NULL, 0, pooled), 1); /* CUDA_ERROR_INVALID_VALUE */
	/* On its own such a graph runs, once instantiated at a time. */
	CUgraphExec e, e2;
	CU(cuGraphInstantiateWithFlags(&e, pooled, 0));
	EXPECT(cuGraphInstantiateWithFlags(&e2, pooled, 0), 1);
	CU(cuGraphLaunch(e, stream));
	CU(cuMemcpyDtoHAsync_v2(x, c, 4, stream));
	CU(cuStreamSynchronize(stream));
	if (*x != 9) fail("C = %g after the launch, want 9", *x);
	CU(cuGraphExecDestroy(e));
	CU(cuGraphInstantiateWithFlags(&e, pooled, 0));

	/* A workspace of the user's, 256-byte aligned. */
	EXPECT(cublasSetWorkspace_v2(NULL, (void *)(uintptr_t)ws, 4 << 20), 1);       /* NOT_INITIALIZED */
	EXPECT(cublasSetWorkspace_v2(h, (void *)(uintptr_t)(ws + 128), 1 << 20), 7); /* INVALID_VALUE */
	EXPECT(cublasSetWorkspace_v2(h, (void *)(uintptr_t)ws, 4 << 20), 0);
	CUgraph own = capture_gemm(h, a, c, types, &n);
	if (n != 1 || types[0] != 0) fail("GEMM captured with a workspace: %zu nodes (first type %u), want one kernel", n, types[0]);
	CU(cuGraphAddChildGraphNode(&node, top, NULL, 0, own));

	/* cublasSetStream_v2 resets the workspace to the default pool. */
	EXPECT(cublasSetStream_v2(h, stream), 0);
	capture_gemm(h, a, c, types, &n);
	if (n != 3) fail("GEMM captured after cublasSetStream_v2: %zu nodes, want 3 (the workspace was reset)", n);
	/* A size of 0 stops the default pool too. */
	EXPECT(cublasSetWorkspace_v2(h, NULL, 0), 0);
	capture_gemm(h, a, c, types, &n);
	if (n != 1) fail("GEMM captured with an empty workspace: %zu nodes, want 1", n);

	/* The workspace freed under the handle: the call fails, stickily. */
	EXPECT(cublasSetWorkspace_v2(h, (void *)(uintptr_t)ws, 4 << 20), 0);
	CU(cuMemFree_v2(ws));
	static const float one = 1, zero = 0;
	EXPECT(cublasSgemm_v2(h, 0, 0, 1, 1, 1, &one, (float *)(uintptr_t)a, 1, (float *)(uintptr_t)a, 1, &zero,
		(float *)(uintptr_t)c, 1), 13); /* CUBLAS_STATUS_EXECUTION_FAILED */
}
