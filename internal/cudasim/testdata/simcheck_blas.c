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

/* blas_tf32_ties: cuBLAS's TF32 "input conversions round to nearest even"
 * (cuBLAS Library User Guide, cublasMath_t, CUBLAS_TF32_TENSOR_OP_MATH).
 * 1 + 2^-11 is half a TF32 unit above 1, whose last kept bit is even: it
 * rounds down to 1 (ties away from zero would give 1 + 2^-10); 1 + 3 * 2^-11
 * rounds up to 1 + 2^-9, even too. */
static void case_blas_tf32_ties(void) {
	context();
	void *h;
	EXPECT(cublasCreate_v2(&h), 0);
	EXPECT(cublasSetStream_v2(h, stream), 0);
	EXPECT(cublasSetMathMode(h, 3), 0); /* CUBLAS_TF32_TENSOR_OP_MATH */
	CUdeviceptr a, b, c;
	CU(cuMemAlloc_v2(&a, 4));
	CU(cuMemAlloc_v2(&b, 4));
	CU(cuMemAlloc_v2(&c, 4));
	float *x = pinned(4);
	static const float one = 1, zero = 0;
	const float in[] = {1 + 0x1p-11f, 1 + 3 * 0x1p-11f}, want[] = {1, 1 + 0x1p-9f};
	for (int i = 0; i < 2; i++) {
		*x = in[i];
		CU(cuMemcpyHtoDAsync_v2(a, x, 4, stream));
		CU(cuStreamSynchronize(stream)); /* before x is rewritten */
		*x = 1;
		CU(cuMemcpyHtoDAsync_v2(b, x, 4, stream));
		EXPECT(cublasSgemm_v2(h, 0, 0, 1, 1, 1, &one, (float *)(uintptr_t)a, 1, (float *)(uintptr_t)b, 1, &zero,
			(float *)(uintptr_t)c, 1), 0);
		CU(cuMemcpyDtoHAsync_v2(x, c, 4, stream));
		CU(cuStreamSynchronize(stream));
		if (*x != want[i]) fail("TF32 GEMM of %.10g by 1 = %.10g, want %.10g (round to nearest even)", in[i], *x, want[i]);
	}
}
