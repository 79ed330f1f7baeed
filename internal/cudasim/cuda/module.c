/*
 * module.c: modules, kernel launches and how a kernel runs (CUDA Driver API
 * reference, "Module Management" and "Execution Control").
 *
 * A module is the host shared object the simulator's NVRTC built
 * (simmodule.h). A launch is checked when it is made, as cuLaunchKernel
 * documents (block and grid limits of an sm_90 device, one readable
 * parameter of the right size per kernel parameter), and runs later on the
 * stream thread: block after block, each simulated thread a plain call, or,
 * for a kernel that calls __syncthreads, each thread of a block a ucontext
 * fiber, the barrier a switch back to the scheduler, which resumes no
 * thread past it until every live thread of the block has reached it.
 *
 * Pointer parameters are device addresses, translated to host storage when
 * the kernel runs; one in no live allocation is CUDA_ERROR_ILLEGAL_ADDRESS.
 * A kernel that runs off either end of an allocation hits its guard pages
 * (memory.c): the fault is caught on the stream thread and becomes a sticky
 * CUDA_ERROR_ILLEGAL_ADDRESS naming the kernel, as on a GPU, where it would
 * also end the context.
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>
#include "core.h"
#include "simmodule.h"

#define MODULE_MAGIC 0x4d4f4455u
#define FUNCTION_MAGIC 0x46554e43u
#define MAX_PARAM_BYTES 4096 /* CUDA's limit on a kernel's parameters (4 KiB before CUDA 12.1) */

struct cs_function {
	uint32_t magic;
	struct cs_module *mod;
	const struct cudasim_kernel *k;
};

struct cs_module {
	uint32_t magic;
	int live;
	void *dl;
	int fd;
	cudasim_index_fn index;
	int nk;
	struct cs_function *fns;
	struct cs_module *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct cs_module *modules;

/* ---- faults on the stream thread ---- */

#define TLS __thread __attribute__((tls_model("initial-exec")))
static TLS sigjmp_buf *guard_jmp;
static TLS volatile int in_guard;
static TLS void *volatile fault_addr;
static struct sigaction old_segv, old_bus;

static void on_fault(int sig, siginfo_t *si, void *uc) {
	if (in_guard) {
		in_guard = 0;
		fault_addr = si->si_addr;
		siglongjmp(*guard_jmp, 1);
	}
	/* Not ours (a Go thread, say): hand it to whoever had it before. */
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction) old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
		sigaction(sig, old, NULL); /* the fault repeats with the default action */
		return;
	}
	old->sa_handler(sig);
}

void cs_signals_init(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	/* SA_ONSTACK as Go requires of handlers installed beside its own
	 * (os/signal, "Go programs that use cgo"); SA_NODEFER because the
	 * handler leaves by siglongjmp without restoring the mask. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
}

void cs_worker_signal_stack(void) {
	stack_t st;
	st.ss_size = 256 * 1024;
	st.ss_sp = malloc(st.ss_size);
	st.ss_flags = 0;
	if (st.ss_sp == NULL || sigaltstack(&st, NULL) != 0) abort();
}

void cs_run_guarded(const char *call, void (*fn)(void *), void *arg) {
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0) == 0) {
		guard_jmp = &jb;
		in_guard = 1;
		fn(arg);
		in_guard = 0;
		return;
	}
	char why[256];
	cs_describe_host_fault(fault_addr, why, sizeof why);
	cudasim_fail(CUDASIM_ERROR_ILLEGAL_ADDRESS, call, "%s", why);
}

/* ---- modules ---- */

/* PTX text from the simulator's NVRTC (simmodule.h): checked as the
 * driver's JIT would check it, then decoded into *image (malloc'ed). A
 * driver compiles PTX of its own CUDA release or older ("This indicates that
 * the provided PTX was compiled with an unsupported toolchain", cuda.h,
 * CUDA_ERROR_UNSUPPORTED_PTX_VERSION), and only for a target its device
 * can run (PTX for compute_XY runs on devices of compute capability X.Y and
 * up: CUDA C++ Programming Guide, "Application Compatibility"). */
static CUresult decode_ptx(const char *text, void **image) {
	const char *rel = strstr(text, "Cuda compilation tools, release ");
	const char *target = strstr(text, "\n.target sm_");
	const char *hex = strstr(text, CUDASIM_PTX_MARKER);
	int major, minor, arch;
	if (rel == NULL || target == NULL || hex == NULL || sscanf(rel + 32, "%d.%d", &major, &minor) != 2 ||
		sscanf(target + 12, "%d", &arch) != 1) {
		cs_note("cuModuleLoadData: not an image from the simulator's NVRTC (a real CUBIN or PTX cannot run here)");
		return CUDA_ERROR_INVALID_IMAGE;
	}
	if (1000 * major + 10 * minor > cs_driver_version()) {
		cs_note("cuModuleLoadData: PTX from NVRTC %d.%d, newer than the driver's CUDA %d.%d", major, minor,
			cs_driver_version() / 1000, cs_driver_version() % 1000 / 10);
		return CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
	}
	if (arch > cs_compute_capability()) {
		cs_note("cuModuleLoadData: PTX for sm_%d cannot run on a device of compute capability %d.%d", arch,
			cs_compute_capability() / 10, cs_compute_capability() % 10);
		return CUDA_ERROR_INVALID_PTX;
	}
	hex += strlen(CUDASIM_PTX_MARKER);
	size_t n = strspn(hex, "0123456789abcdef") / 2;
	unsigned char *img = malloc(n ? n : 1);
	if (img == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		img[i] = (unsigned char)v;
	}
	*image = img;
	return CUDA_SUCCESS;
}

static CUresult load_image(CUmodule *module, const void *image);

/* cuModuleLoadData: "Takes a pointer image and loads the corresponding
 * module"; "The image may be a cubin or fatbin as output by nvcc, or a
 * NULL-terminated PTX" (cuda.h). Here the simulator's NVRTC output, CUBIN
 * or PTX; a real CUBIN or PTX is CUDA_ERROR_INVALID_IMAGE. */
CS_API CUresult cuModuleLoadData(CUmodule *module, const void *image) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	r = cs_capture_unsafe("cuModuleLoadData"); /* a potentially unsafe call during capture (stream.c) */
	if (r != CUDA_SUCCESS) return r;
	if (module == NULL || image == NULL) return CUDA_ERROR_INVALID_VALUE;
	if (strncmp(image, "//", 2) != 0) return load_image(module, image);
	void *decoded = NULL;
	r = decode_ptx(image, &decoded);
	if (r == CUDA_SUCCESS) r = load_image(module, decoded);
	free(decoded);
	return r;
}

static CUresult load_image(CUmodule *module, const void *image) {
	if (memcmp(image, CUDASIM_IMAGE_MAGIC, CUDASIM_IMAGE_MAGIC_LEN) != 0) {
		cs_note("cuModuleLoadData: not an image from the simulator's NVRTC (a real CUBIN or PTX cannot run here)");
		return CUDA_ERROR_INVALID_IMAGE;
	}
	uint64_t size;
	memcpy(&size, (const char *)image + CUDASIM_IMAGE_MAGIC_LEN, sizeof size);
	const char *so = (const char *)image + CUDASIM_IMAGE_MAGIC_LEN + sizeof size;
	int fd = memfd_create("cudasim-module", MFD_CLOEXEC);
	if (fd < 0) return CUDA_ERROR_OUT_OF_MEMORY;
	for (uint64_t off = 0; off < size;) {
		ssize_t n = write(fd, so + off, size - off);
		if (n <= 0) {
			close(fd);
			return CUDA_ERROR_OUT_OF_MEMORY;
		}
		off += (uint64_t)n;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		cs_note("cuModuleLoadData: %s", dlerror());
		close(fd);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	cudasim_kernels_fn kernels = (cudasim_kernels_fn)dlsym(dl, CUDASIM_SYM_KERNELS);
	cudasim_index_fn index = (cudasim_index_fn)dlsym(dl, CUDASIM_SYM_INDEX);
	cudasim_bind_fn bind = (cudasim_bind_fn)dlsym(dl, CUDASIM_SYM_BIND);
	cudasim_bind_graph_fn bind_graph = (cudasim_bind_graph_fn)dlsym(dl, CUDASIM_SYM_BIND_GRAPH);
	if (kernels == NULL || index == NULL || bind == NULL || bind_graph == NULL) {
		dlclose(dl);
		close(fd);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	void cs_syncthreads(void);
	bind(cs_syncthreads);
	bind_graph(cs_graph_set_conditional); /* conditional.c */
	struct cs_module *m = calloc(1, sizeof *m);
	int nk = 0;
	const struct cudasim_kernel *ks = kernels(&nk);
	m->fns = calloc((size_t)nk + 1, sizeof *m->fns);
	for (int i = 0; i < nk; i++) m->fns[i] = (struct cs_function){FUNCTION_MAGIC, m, &ks[i]};
	m->magic = MODULE_MAGIC;
	m->live = 1;
	m->dl = dl;
	m->fd = fd;
	m->index = index;
	m->nk = nk;
	pthread_mutex_lock(&mu);
	m->next = modules;
	modules = m;
	pthread_mutex_unlock(&mu);
	*module = m;
	return CUDA_SUCCESS;
}

/* Callers hold mu. */
static int live_module(struct cs_module *m) {
	for (struct cs_module *p = modules; p != NULL; p = p->next) {
		if (p == m) return p->live;
	}
	return 0;
}

static void unload(struct cs_module *m) {
	m->live = 0;
	dlclose(m->dl);
	close(m->fd);
}

/* cuModuleUnload: "Unloads a module hmod from the current context". Queued
 * launches of its kernels run first. The handle's memory is kept, so that a
 * stale one is CUDA_ERROR_INVALID_HANDLE rather than a crash. */
CS_API CUresult cuModuleUnload(CUmodule hmod) {
	cs_count_api();
	CUresult r = cs_enter_nosticky();
	if (r != CUDA_SUCCESS) return r;
	r = cs_capture_unsafe("cuModuleUnload"); /* a potentially unsafe call during capture (stream.c) */
	if (r != CUDA_SUCCESS) return r;
	cs_drain();
	pthread_mutex_lock(&mu);
	int ok = live_module(hmod);
	if (ok) unload(hmod);
	pthread_mutex_unlock(&mu);
	return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

void cs_modules_destroy_all(void) {
	pthread_mutex_lock(&mu);
	for (struct cs_module *p = modules; p != NULL; p = p->next) {
		if (p->live) unload(p);
	}
	pthread_mutex_unlock(&mu);
}

/* cuModuleGetFunction: CUDA_ERROR_NOT_FOUND "if no function with name name
 * exists" (an extern "C" __global__ function of the source). */
CS_API CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	if (hfunc == NULL || name == NULL) return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&mu);
	int ok = live_module(hmod);
	pthread_mutex_unlock(&mu);
	if (!ok) return CUDA_ERROR_INVALID_HANDLE;
	for (int i = 0; i < hmod->nk; i++) {
		if (strcmp(hmod->fns[i].k->name, name) == 0) {
			*hfunc = &hmod->fns[i];
			return CUDA_SUCCESS;
		}
	}
	return CUDA_ERROR_NOT_FOUND;
}

/* ---- running a kernel ---- */

struct launch {
	struct cs_function *f;
	unsigned int grid[3], block[3];
	char call[160];
	unsigned int off[256];
	unsigned char vals[MAX_PARAM_BYTES];
	void *args[256], *ptrs[256]; /* what the kernel's entry reads, when it runs */
};

#define FIBER_STACK (128 * 1024)

struct fiber {
	ucontext_t uc;
	int done;
};

static TLS int fiber_mode;
static __thread struct fiber *fibers;
static __thread char *stacks;
static __thread int cur;
static __thread ucontext_t sched;
static __thread const struct cudasim_kernel *cur_kernel;
static __thread void *const *cur_args;

/* The barrier, called by a kernel's __syncthreads(). */
void cs_syncthreads(void) {
	if (!fiber_mode) {
		cudasim_fail(CUDASIM_ERROR_LAUNCH_FAILED, cs_current_call() ? cs_current_call() : "__syncthreads",
			"__syncthreads in a kernel the simulator's NVRTC did not see calling it (a bug of the simulator)");
		in_guard = 0;
		siglongjmp(*guard_jmp, 2);
	}
	swapcontext(&fibers[cur].uc, &sched);
}

static void fiber_main(void) {
	cur_kernel->entry(cur_args);
	fibers[cur].done = 1;
}

static void set_thread(struct cudasim_index *ix, unsigned int t) {
	ix->thread[0] = t % ix->block_dim[0];
	ix->thread[1] = t / ix->block_dim[0] % ix->block_dim[1];
	ix->thread[2] = t / (ix->block_dim[0] * ix->block_dim[1]);
}

static void run_block_fibers(struct cudasim_index *ix, unsigned int nt) {
	if (fibers == NULL) {
		/* Stacks for the most threads a block may have, each above a
		 * PROT_NONE page, made once per stream thread. */
		fibers = calloc(1024, sizeof *fibers);
		stacks = mmap(NULL, (size_t)1024 * FIBER_STACK, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (fibers == NULL || stacks == MAP_FAILED) abort();
		for (int i = 0; i < 1024; i++) mprotect(stacks + (size_t)i * FIBER_STACK, 4096, PROT_NONE);
	}
	for (unsigned int t = 0; t < nt; t++) {
		getcontext(&fibers[t].uc);
		fibers[t].uc.uc_stack.ss_sp = stacks + (size_t)t * FIBER_STACK;
		fibers[t].uc.uc_stack.ss_size = FIBER_STACK;
		fibers[t].uc.uc_link = &sched;
		fibers[t].done = 0;
		makecontext(&fibers[t].uc, fiber_main, 0);
	}
	/* Each pass resumes every live thread once: it runs to the next barrier
	 * or to its end. No thread passes a barrier before the pass in which all
	 * have reached it is over. Between barriers the threads run in index
	 * order in even blocks and in reverse order in odd ones, so that a thread
	 * reading what another thread of its block wrote without a barrier
	 * between reads a stale value in one block or the other, whichever
	 * neighbour it reads. */
	unsigned int live = nt;
	int reverse = (ix->block[0] + ix->block[1] + ix->block[2]) & 1;
	while (live > 0) {
		for (unsigned int i = 0; i < nt; i++) {
			unsigned int t = reverse ? nt - 1 - i : i;
			if (fibers[t].done) continue;
			cur = (int)t;
			set_thread(ix, t);
			swapcontext(&sched, &fibers[t].uc);
			if (fibers[t].done) live--;
		}
	}
}

static void run_launch(void *arg) {
	struct launch *l = arg;
	const struct cudasim_kernel *k = l->f->k;
	void **args = l->args, **ptrs = l->ptrs;
	for (int i = 0; i < k->nparams; i++) {
		args[i] = l->vals + l->off[i];
		if (!k->is_ptr[i]) continue;
		uint64_t dev;
		memcpy(&dev, l->vals + l->off[i], sizeof dev);
		int ok;
		char why[256];
		ptrs[i] = cs_translate(dev, &ok, why, sizeof why);
		if (!ok) {
			cudasim_fail(CUDASIM_ERROR_ILLEGAL_ADDRESS, l->call, "parameter %d: %s", i, why);
			return;
		}
		args[i] = &ptrs[i];
	}
	struct cudasim_index *ix = l->f->mod->index();
	for (int d = 0; d < 3; d++) {
		ix->grid_dim[d] = l->grid[d];
		ix->block_dim[d] = l->block[d];
	}
	unsigned int nt = l->block[0] * l->block[1] * l->block[2];
	cur_kernel = k;
	cur_args = args;
	fiber_mode = k->barrier;
	for (unsigned int bz = 0; bz < l->grid[2]; bz++) {
		for (unsigned int by = 0; by < l->grid[1]; by++) {
			for (unsigned int bx = 0; bx < l->grid[0]; bx++) {
				ix->block[0] = bx, ix->block[1] = by, ix->block[2] = bz;
				if (k->barrier) {
					run_block_fibers(ix, nt);
					continue;
				}
				for (unsigned int t = 0; t < nt; t++) {
					set_thread(ix, t);
					k->entry(args);
				}
			}
		}
	}
	fiber_mode = 0;
}

/* readable copies n bytes from p, or returns 0 if p is not readable memory
 * (a kernelParams entry past the caller's arguments, say). */
static int readable(void *dst, const void *p, size_t n) {
	static volatile int cannot_probe;
	if (!cannot_probe) {
		struct iovec local = {dst, n}, remote = {(void *)p, n};
		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n) return 1;
		if (errno == EFAULT) return 0;
		/* A sandbox (seccomp) may forbid the probe: then trust the pointer. */
		cannot_probe = 1;
	}
	memcpy(dst, p, n);
	return 1;
}

/* cuLaunchKernel: "Invokes the kernel f on a gridDimX x gridDimY x gridDimZ
 * grid of blocks. Each block contains blockDimX x blockDimY x blockDimZ
 * threads." Parameters come either as kernelParams ("If f has N
 * parameters, then kernelParams needs to be an array of N pointers", each
 * pointing at the value to copy; their number, offsets and sizes come from
 * the kernel's image) or as extra (CU_LAUNCH_PARAM_BUFFER_POINTER / _SIZE /
 * _END, one packed buffer whose size must match); giving both is
 * CUDA_ERROR_INVALID_VALUE. Block and grid beyond the device's limits
 * (cuDeviceGetAttribute) are CUDA_ERROR_INVALID_VALUE here, the code the
 * driver API uses for launch arguments it rejects. */
CS_API CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
	unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes,
	CUstream hStream, void **kernelParams, void **extra) {
	cs_count_api();
	CUresult r = cs_enter();
	if (r != CUDA_SUCCESS) return r;
	pthread_mutex_lock(&mu);
	int ok = f != NULL && f->magic == FUNCTION_MAGIC && live_module(f->mod);
	pthread_mutex_unlock(&mu);
	if (!ok) return CUDA_ERROR_INVALID_HANDLE;
	if (!cs_stream_valid(hStream)) return CUDA_ERROR_INVALID_HANDLE;
	const struct cudasim_kernel *k = f->k;
	struct launch *l = calloc(1, sizeof *l);
	if (l == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
	snprintf(l->call, sizeof l->call, "cuLaunchKernel(%s)", k->name);
	const char *bad = NULL;
	unsigned long long threads = (unsigned long long)blockDimX * blockDimY * blockDimZ;
	if (gridDimX == 0 || gridDimY == 0 || gridDimZ == 0 || blockDimX == 0 || blockDimY == 0 || blockDimZ == 0)
		bad = "a grid or block dimension is 0";
	else if (blockDimX > 1024 || blockDimY > 1024 || blockDimZ > 64 || threads > 1024)
		bad = "more than 1,024 threads per block, or a block dimension beyond 1024 x 1024 x 64";
	else if (gridDimX > 2147483647u || gridDimY > 65535 || gridDimZ > 65535)
		bad = "a grid dimension beyond 2^31-1 x 65535 x 65535";
	else if (sharedMemBytes != 0)
		bad = "dynamic shared memory is not simulated";
	else if (kernelParams != NULL && extra != NULL)
		bad = "both kernelParams and extra given";
	else if (kernelParams == NULL && extra == NULL && k->nparams > 0)
		bad = "no parameters given";
	unsigned int off = 0;
	for (int i = 0; bad == NULL && i < k->nparams; i++) {
		unsigned int sz = k->sizes[i], align = sz >= 8 ? 8 : sz;
		if (align) off = (off + align - 1) / align * align;
		if (off + sz > MAX_PARAM_BYTES) bad = "parameters larger than 4 KiB";
		l->off[i] = off;
		off += sz;
	}
	if (bad == NULL && kernelParams != NULL) {
		for (int i = 0; i < k->nparams; i++) {
			if (kernelParams[i] == NULL || !readable(l->vals + l->off[i], kernelParams[i], k->sizes[i])) {
				bad = "a kernelParams entry is not a readable pointer to the parameter's value (fewer arguments than the kernel has?)";
				break;
			}
		}
	}
	if (bad == NULL && extra != NULL) {
		void *buf = NULL;
		size_t size = (size_t)-1;
		for (int i = 0; extra[i] != NULL; i += 2) {
			if (extra[i] == (void *)1) buf = extra[i + 1];
			else if (extra[i] == (void *)2) size = *(size_t *)extra[i + 1];
			else bad = "unknown extra option";
		}
		if (bad == NULL && (buf == NULL || size != off)) bad = "the extra buffer's size does not match the kernel's parameters";
		if (bad == NULL) memcpy(l->vals, buf, off);
	}
	if (bad != NULL) {
		cs_note("%s: grid %ux%ux%u, block %ux%ux%u: %s", l->call, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY,
			blockDimZ, bad);
		free(l);
		return CUDA_ERROR_INVALID_VALUE;
	}
	l->f = f;
	l->grid[0] = gridDimX, l->grid[1] = gridDimY, l->grid[2] = gridDimZ;
	l->block[0] = blockDimX, l->block[1] = blockDimY, l->block[2] = blockDimZ;
	for (int i = 0; i < k->nparams; i++) { /* cross-stream hazards: each pointer read and written (hazard.c) */
		uint64_t dev;
		if (!k->is_ptr[i]) continue;
		memcpy(&dev, l->vals + l->off[i], sizeof dev);
		cs_hazard_kernel_arg(dev);
	}
	cudasim_count("kernel_launches", 1);
	char counter[64];
	snprintf(counter, sizeof counter, "kernel:%s", k->name);
	cudasim_count(counter, 1);
	return (CUresult)cudasim_enqueue(hStream, l->call, run_launch, l);
}
