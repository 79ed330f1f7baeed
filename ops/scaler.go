package ops

// GradScalerParams are float16 loss scaling's constants, PyTorch's
// torch.amp.GradScaler defaults (torch/amp/grad_scaler.py, __init__:
// init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5,
// growth_interval=2000).
type GradScalerParams struct {
	InitScale      float32
	GrowthFactor   float32
	BackoffFactor  float32
	GrowthInterval int
}

// DefaultGradScaler is PyTorch's GradScaler's defaults.
var DefaultGradScaler = GradScalerParams{InitScale: 1 << 16, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 2000}

// LossScaler is implemented by backends that do float16 loss scaling on
// the device: the decision to skip a step and the new scale are made by
// ops reading and writing device tensors, never the host, so a captured
// step (Capturer) holds them and stays one launch. State is three
// one-element float32 tensors: scale, tracker (consecutive clean steps,
// PyTorch's _growth_tracker) and found (non-zero when this step's
// gradients hold an inf or NaN, PyTorch's found_inf).
//
// A step is: Fill(found, 0); ScaleBy(dlogits, scale) after the loss;
// backward; UnscaleCheck(grads, found, scale); SGDUpdateUnlessFound;
// UpdateScale. That is GradScaler's scale/unscale_/step/update with the
// skip decided by found on the device, as _amp_foreach_non_finite_check_
// and_unscale_ and _amp_update_scale_ do (aten/src/ATen/native/cuda/
// AmpKernels.cu).
type LossScaler interface {
	// ScaleBy multiplies every element of x by s[0], in place.
	ScaleBy(x, s Tensor)
	// UnscaleCheck multiplies every element of g by 1/scale[0] (the
	// reciprocal computed in float32, as GradScaler's inv_scale) and sets
	// found[0] to 1 when any element of g is an inf or NaN; found is left
	// unchanged otherwise, so several calls accumulate.
	UnscaleCheck(g, found, scale Tensor)
	// SGDUpdateUnlessFound is SGDUpdate when found[0] is 0 and does
	// nothing (no weight, no momentum change) otherwise: GradScaler.step
	// skipping optimizer.step.
	SGDUpdateUnlessFound(w, dw, v, found Tensor, p SGDParams)
	// UpdateScale is _amp_update_scale_: after a step with found[0] != 0,
	// scale *= BackoffFactor and tracker = 0; after a clean one, tracker
	// += 1, and when it reaches GrowthInterval, scale *= GrowthFactor
	// (kept only if finite) and tracker = 0.
	UpdateScale(scale, tracker, found Tensor, p GradScalerParams)
}
