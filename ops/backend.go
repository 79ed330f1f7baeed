package ops

// Backend runs deepres's operations on one device. Tensors it allocates are
// float32 and only valid with the backend that made them.
//
// Conventions, for every op:
//   - The output comes first: ConvForward(y, x, w, p) computes y from x and w.
//   - Inputs are never modified, and an output must not alias an input unless
//     the op's comment says it may (element-wise ops allow y == x).
//   - Ops that produce the gradient of an activation (dx) take add: false
//     overwrites dx, true adds into it (dx += …), so that a tensor feeding
//     two paths (a residual unit's input) collects both gradients without a
//     temporary. Parameter gradients (dw, dgamma, dbeta, db) are always
//     overwritten: each parameter is used once per step.
//   - Shape mismatches and foreign or nil tensors are programming errors: the
//     op panics with an "ops: …" message before doing anything.
//   - Failures of the device (a kernel or library error, a lost context) do
//     not come back from each op. The backend remembers the first one, skips
//     the work after it, and returns it from the next Sync — the model of
//     asynchronous devices, and of bufio.Writer.
//
// Layouts (layout.go): a 4-D tensor may be stored channels-last (NHWC) on
// a backend that implements LayoutSupporter. Its shape stays logical NCHW,
// and so does everything a caller sees: CopyIn takes and CopyOut gives
// logical NCHW order, Copy copies in logical order between any two
// layouts, and every op computes what it computes for NCHW tensors, with
// any mix of layouts among its arguments. View of an NHWC tensor is
// allowed only along the batch (shape (n, C, H, W) at an offset that is a
// multiple of C·H·W: samples are contiguous in both layouts) and gives an
// NHWC tensor; any other view of one panics. ViewLayout views an NCHW
// buffer as NHWC.
type Backend interface {
	// Name says what the backend runs on, e.g. "cpu (2 threads)" or
	// "cuda:0 NVIDIA H100 80GB HBM3".
	Name() string

	// Alloc returns a zero-filled tensor. Running out of memory is an error
	// (wrapping ErrOutOfMemory), not a panic: callers preallocate at build time.
	Alloc(shape ...int) (Tensor, error)
	// Free releases t's storage; t must not be used again. Freeing nil is a
	// no-op; freeing a view panics (free the tensor it views instead).
	Free(t Tensor)
	// View returns a tensor of the given shape over t's elements
	// [offset, offset+shape.Len()), sharing t's storage: writes through one
	// are seen through the other. It lets a model carve all its parameters
	// out of one allocation so that one SGDUpdate steps them all. A view
	// stays valid while t is; views of views are allowed. An NHWC t can
	// only be viewed along its batch (see Layouts above).
	View(t Tensor, offset int, shape ...int) Tensor
	// CopyIn writes host data into dst; len(src) must equal dst's length.
	// src is in logical (NCHW) order whatever dst's layout.
	// The backend may read src asynchronously until the next Sync or CopyOut
	// unless src is used again by the caller: callers keep src unchanged
	// until then.
	CopyIn(dst Tensor, src []float32)
	// CopyOut waits for queued work and copies src into dst (len(dst) must
	// equal src's length), in logical (NCHW) order whatever src's layout.
	// It returns the first device error, as Sync does.
	CopyOut(dst []float32, src Tensor) error
	// Copy copies src into dst on the device; shapes must have equal length.
	// Elements go in logical order, so it converts between layouts.
	Copy(dst, src Tensor)
	// Fill sets every element of t to v.
	Fill(t Tensor, v float32)
	// Sync waits for all queued work and returns the first device error since
	// the backend was made (errors are sticky: a failed device stays failed).
	Sync() error
	// Close releases everything the backend holds. It is idempotent; tensors
	// are invalid afterwards.
	Close() error

	// ConvForward: y (N,K,Ho,Wo) = x (N,C,H,W) ⋆ w (K,C,kh,kw); y is overwritten.
	ConvForward(y, x, w Tensor, p ConvParams)
	// ConvBackwardData: dx (N,C,H,W) (add?+=:=) the gradient of y with respect to x, from dy (N,K,Ho,Wo).
	ConvBackwardData(dx, dy, w Tensor, p ConvParams, add bool)
	// ConvBackwardFilter: dw (K,C,kh,kw) = the gradient with respect to w, from dy and x; overwritten.
	ConvBackwardFilter(dw, dy, x Tensor, p ConvParams)

	// AddBias: y (N,C,H,W) or (N,C) += b (C) broadcast over the other axes. In place.
	AddBias(y, b Tensor)
	// BiasBackward: db (C) = Σ over N,H,W of dy; overwritten.
	BiasBackward(db, dy Tensor)

	// BatchNormForwardTraining normalises x (N,C,H,W) per channel with the
	// batch mean and biased variance: y = gamma·(x−mean)·invStd + beta, with
	// invStd = 1/sqrt(var + Eps). It writes saveMean and saveInvStd (C) for the
	// backward pass and updates runMean and runVar (C) in place with
	// Momentum, using the unbiased variance for runVar. y may alias x.
	BatchNormForwardTraining(y, x, gamma, beta, runMean, runVar, saveMean, saveInvStd Tensor, p BatchNormParams)
	// BatchNormForwardInference: y = gamma·(x−runMean)/sqrt(runVar+Eps) + beta. y may alias x.
	BatchNormForwardInference(y, x, gamma, beta, runMean, runVar Tensor, p BatchNormParams)
	// BatchNormBackward: from dy and the x, saveMean, saveInvStd of the
	// training forward pass, dx (add?+=:=), dgamma and dbeta (C) overwritten.
	BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvStd Tensor, p BatchNormParams, add bool)
	// BatchNormAddReLUForwardTraining is BatchNormForwardTraining, then the
	// shortcut addition and ReLU, in one op: y = max(BN(x) + z, 0) with x, y
	// and z (N,C,H,W), BN(x) = gamma·(x−mean)·invStd + beta as in
	// BatchNormForwardTraining, which it follows for saveMean, saveInvStd,
	// runMean and runVar (C). z nil adds nothing (BN-ReLU). y is overwritten
	// and may alias x or z. A NaN propagates as in ReLUForward.
	BatchNormAddReLUForwardTraining(y, x, z, gamma, beta, runMean, runVar, saveMean, saveInvStd Tensor, p BatchNormParams)
	// BatchNormAddReLUBackward is the gradient of
	// BatchNormAddReLUForwardTraining from dy and that op's output y, its
	// input x and its saveMean, saveInvStd: with g = dy where y > 0, else 0
	// (ReLUBackward's mask), dz (add?+=:=) g unless dz is nil, dx (add?+=:=)
	// and dgamma, dbeta (C, overwritten) are BatchNormBackward's from g.
	// It reads y for the mask rather than a saved one: y is the unit's
	// output, kept anyway for the layer after it, so the mask costs no
	// memory; x is needed for x̂ (recovering x̂ from y is impossible once z
	// is added). dx and dz alias nothing.
	BatchNormAddReLUBackward(dx, dz, dgamma, dbeta, dy, y, x, gamma, saveMean, saveInvStd Tensor, p BatchNormParams, add bool)

	// ReLUForward: y = max(x, 0). y may alias x.
	ReLUForward(y, x Tensor)
	// ReLUBackward: dx (add?+=:=) dy where y > 0, else 0; y is the forward output.
	ReLUBackward(dx, dy, y Tensor, add bool)
	// SigmoidForward: y = 1/(1+exp(−x)). y may alias x.
	SigmoidForward(y, x Tensor)
	// SigmoidBackward: dx (add?+=:=) dy·y·(1−y); y is the forward output.
	SigmoidBackward(dx, dy, y Tensor, add bool)

	// AddTensor: y = alpha·x + beta·y, element-wise, equal shapes. With beta 0,
	// y is overwritten (and may hold NaN before). y may alias x.
	AddTensor(y, x Tensor, alpha, beta float32)
	// Mul: y = a⊙b + beta·y, element-wise, equal shapes. With beta 0, y is
	// overwritten. y may alias a or b.
	Mul(y, a, b Tensor, beta float32)
	// DropoutMask fills mask with keep/(1−p) where keep is DropoutKeep(seed, i, p)
	// for element i, else 0 — so every backend draws the same mask from the same
	// seed. Dropout itself is then Mul(y, x, mask, 0), its backward Mul(dx, dy, mask, …).
	DropoutMask(mask Tensor, p float32, seed uint64)
	// DropoutMaskFrom is DropoutMask with the seed seed + B, B read when the
	// op runs from base (2 elements: SeedWords(B)), so that a captured step
	// (Capturer) draws each launch's masks from a seed written before it.
	DropoutMaskFrom(mask Tensor, p float32, seed uint64, base Tensor)

	// ShortcutAForward is He et al.'s option-A shortcut: y (N,K,Ho,Wo) takes
	// x (N,C,H,W)[:, :, ::sh, ::sw] in channels 0..C−1 and zero in C..K−1,
	// with sh = ceil(H/Ho), sw = ceil(W/Wo); the shapes it accepts are those
	// ShortcutAStrides accepts (7 → 4 is valid, 5 → 4 is not). K >= C. y is
	// overwritten.
	ShortcutAForward(y, x Tensor)
	// ShortcutABackward: dx (add?+=:=) the gradient of ShortcutAForward.
	ShortcutABackward(dx, dy Tensor, add bool)

	// GlobalAvgPoolForward: y (N,C) = the mean of x (N,C,H,W) over H and W.
	GlobalAvgPoolForward(y, x Tensor)
	// GlobalAvgPoolBackward: dx (N,C,H,W) (add?+=:=) dy (N,C)/(H·W).
	GlobalAvgPoolBackward(dx, dy Tensor, add bool)

	// LinearForward: y (N,out) = x (N,in) · wᵀ, w (out,in); no bias (AddBias adds it).
	LinearForward(y, x, w Tensor)
	// LinearBackwardData: dx (N,in) (add?+=:=) dy (N,out) · w.
	LinearBackwardData(dx, dy, w Tensor, add bool)
	// LinearBackwardWeight: dw (out,in) = dyᵀ · x; overwritten.
	LinearBackwardWeight(dw, dy, x Tensor)

	// SoftmaxCrossEntropy takes logits (N,K) and labels (N) holding class
	// indices as floats. It writes losses (N), each sample's −log softmax of
	// its label; correct (N), 1 where the arg-max logit (the first of ties)
	// is the label, else 0; and, unless dlogits is nil, dlogits (N,K) =
	// (softmax − onehot)/N, the gradient of the mean loss. A label outside
	// 0..K−1 panics on backends that can check it and is undefined otherwise.
	SoftmaxCrossEntropy(dlogits, losses, correct, logits, labels Tensor)

	// Reduce writes into dst (a one-element tensor) the sum r of x's elements,
	// accumulated in at least float64-like precision where the backend can.
	Reduce(dst, x Tensor, r Reduction)

	// SGDUpdate updates w and its momentum buffer v in place from the
	// gradient dw (SGDParams gives the rule). w, dw and v have equal shapes.
	SGDUpdate(w, dw, v Tensor, p SGDParams)
}
