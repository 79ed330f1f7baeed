package models

import (
	"fmt"

	"github.com/deepres/deepres/layers"
)

// builder assembles the modules of one network in parameter-name order.
type builder struct {
	cfg Config
	env *layers.Env
	ps  *layers.ParamSet
}

func (b *builder) conv(name string, in, out, k, stride int) *layers.Conv {
	c := layers.NewConv(b.env, b.ps, name, in, out, k, stride, k/2)
	if b.cfg.InitFan == FanIn {
		c.W.Init = layers.HeInitFanIn(c.W.Shape)
	}
	return c
}

func (b *builder) bn(name string, c int) *layers.BatchNorm {
	n := layers.NewBatchNorm(b.env, b.ps, name, c, !b.cfg.NoBNDecay)
	if b.cfg.BNScaleInit == BNScaleUniform {
		// U(0, 1): what cudnn.torch's SpatialBatchNormalization draws in
		// reset() (weight:uniform()), which Stochastic_Depth never overrides.
		n.Gamma.Init = layers.Init{Kind: layers.InitUniformPos, Value: 1}
	}
	return n
}

// relu is in place: every ReLU here follows a BN or a sum the unit owns.
func (b *builder) relu() *layers.ReLU { return layers.NewReLU(b.env, true) }

// convSpec is one conv of a branch: kernel, output channels, stride.
type convSpec struct{ k, out, stride int }

// convs lists the branch's convs: two 3×3 (basic) or 1×1, 3×3, 1×1 with a
// quarter of the output width inside (bottleneck). A full pre-activation
// bottleneck strides its first 1×1 (resnet-1k-layers resnet-pre-act.lua,
// bottleneck: Convolution(nInputPlane, nBottleneckPlane, 1, 1, stride,
// stride, 0, 0)); every other placement strides its 3×3, as the
// post-activation bottleneck of fb.resnet.torch models/resnet.lua does
// (Table 2's other placements have no released code; they are built from it).
func (b *builder) convs(out, stride int) []convSpec {
	if b.cfg.Bottleneck {
		m := out / 4
		if b.cfg.Unit == FullPreact {
			return []convSpec{{1, m, stride}, {3, m, 1}, {1, out, 1}}
		}
		return []convSpec{{1, m, 1}, {3, m, stride}, {1, out, 1}}
	}
	return []convSpec{{3, out, stride}, {3, out, 1}}
}

// stem is the first conv: conv-BN-ReLU for post-activation nets, conv-BN for
// ReLU-only pre-activation (its units start with a ReLU), a bare conv for
// full pre-activation (the first unit starts with BN-ReLU).
func (b *builder) stem() *layers.Seq {
	c := b.conv("conv1", 3, 16, 3, 1)
	switch b.cfg.Unit {
	case FullPreact:
		return layers.NewSeq(b.env, c)
	case ReLUOnlyPreact:
		return layers.NewSeq(b.env, c, b.bn("bn1", 16))
	}
	return layers.NewSeq(b.env, c, b.bn("bn1", 16), b.relu())
}

// final is what comes between the last unit and pooling.
func (b *builder) final(c int) *layers.Seq {
	switch b.cfg.Unit {
	case FullPreact:
		return layers.NewSeq(b.env, b.bn("bn_final", c), b.relu())
	case ReLUOnlyPreact:
		return layers.NewSeq(b.env, layers.NewReLU(b.env, false))
	}
	return layers.NewSeq(b.env)
}

// sharedPre reports whether a full pre-activation unit computes a =
// ReLU(BN(x)) once and feeds both paths from it. For preact-resnet that is
// the first unit of every stage, stage 1 included (He et al. 2016, Sec. 4.1;
// fb.resnet.torch models/preresnet.lua gives every CIFAR stage's first block
// 'both_preact'; resnet-pre-act.lua's first units all change shape). WRN
// shares it only where the planes change (wide-residual-networks
// models/wide-resnet.lua, wide_basic: "nInputPlane == nOutputPlane and convs
// or block"); where they do not, its unit is the plain x + F(x).
func (b *builder) sharedPre(first bool, in, out int) bool {
	if b.cfg.Unit != FullPreact {
		return false
	}
	if b.cfg.Family == "wrn" {
		return in != out
	}
	return first
}

// unit builds residual unit name (e.g. "layer2.0") from in to out channels;
// first says it is its stage's first unit.
func (b *builder) unit(name string, in, out, stride int, first bool) *layers.Unit {
	u := layers.NewUnit(b.env, name)
	shapeChanges := in != out || stride != 1
	shared := b.sharedPre(first, in, out)
	specs := b.convs(out, stride)
	var mods []layers.Module
	c := in
	v := b.cfg.Unit
	for i, s := range specs {
		idx := fmt.Sprint(i + 1)
		last := i == len(specs)-1
		cv := b.conv(name+".conv"+idx, c, s.out, s.k, s.stride)
		c = s.out
		switch v {
		case FullPreact:
			// BN-ReLU before each conv, named after the conv it precedes; the
			// first pair is the shared pre-activation where there is one.
			if i > 0 || !shared {
				mods = append(mods, b.bn(name+".bn"+idx, cv.W.Shape[1]))
				mods = append(mods, b.relu())
			}
			if i > 0 && b.cfg.Dropout > 0 && last {
				mods = append(mods, layers.NewDropout(b.env, float32(b.cfg.Dropout)))
			}
			mods = append(mods, cv)
		case ReLUOnlyPreact:
			mods = append(mods, layers.NewReLU(b.env, i > 0), cv, b.bn(name+".bn"+idx, s.out))
		default: // post-activation: conv-BN-ReLU, the last ReLU per variant
			mods = append(mods, cv)
			if last && v == BNAfterAdd {
				break
			}
			mods = append(mods, b.bn(name+".bn"+idx, s.out))
			if !last || v == ReLUBeforeAdd {
				mods = append(mods, b.relu())
			}
		}
	}
	u.Branch = layers.NewSeq(b.env, mods...)
	if shared {
		u.Pre = layers.NewSeq(b.env, b.bn(name+".bn1", in), b.relu())
		u.ShortFromPre = true
		b.preactShortcut(u, name, in, out, stride, shapeChanges)
	} else {
		b.shortcut(u, name, in, out, stride, shapeChanges)
	}
	switch v {
	case Original:
		u.Post = layers.NewSeq(b.env, b.relu())
		// ReLU of a ReLU output, or of its option-A padding, is the identity.
		u.PostSkippable = !b.cfg.ProjectionB || !shapeChanges
		if b.cfg.Variant == ConvShortcut {
			u.PostSkippable = false
		}
	case BNAfterAdd:
		u.Post = layers.NewSeq(b.env, b.bn(name+".bn"+fmt.Sprint(len(specs)), out), b.relu())
	}
	b.variant(u, name, in, out, stride)
	return u
}

// preactShortcut sets h(a) for a unit with a shared pre-activation a: the
// identity where the shape holds; where it changes, a 1×1 projection without
// BN for bottleneck units (resnet-pre-act.lua), WRN (wide-resnet.lua) and
// --shortcut B (fb.resnet.torch preresnet.lua, shortcutType 'B': a bare
// Convolution), option A otherwise (preresnet.lua's shortcutType 'A').
func (b *builder) preactShortcut(u *layers.Unit, name string, in, out, stride int, shapeChanges bool) {
	switch {
	case !shapeChanges:
		u.Short = layers.NewIdentity(b.env)
	case b.cfg.Bottleneck || b.cfg.Family == "wrn" || b.cfg.ProjectionB:
		u.Short = layers.NewSeq(b.env, b.conv(name+".shortcut.conv", in, out, 1, stride))
	default:
		u.Short = b.optionA(out, stride)
	}
}

// shortcut sets h(x) for a unit without a shared pre-activation: option B
// (1×1 conv + BN, fb.resnet.torch models/resnet.lua) where asked or on every
// unit for Table 1's conv shortcut, option A where the shape changes
// otherwise, the identity elsewhere.
func (b *builder) shortcut(u *layers.Unit, name string, in, out, stride int, shapeChanges bool) {
	switch {
	case b.cfg.Variant == ConvShortcut || (shapeChanges && b.cfg.ProjectionB):
		u.Short = layers.NewSeq(b.env, b.conv(name+".shortcut.conv", in, out, 1, stride), b.bn(name+".shortcut.bn", out))
	case shapeChanges:
		u.Short = b.optionA(out, stride)
	default:
		u.Short = layers.NewIdentity(b.env)
	}
}

// optionA is He et al.'s zero-padding shortcut in the configured form:
// subsampling (fb.resnet.torch: SpatialAveragePooling(1, 1, stride, stride))
// or average pooling (Stochastic_Depth ResidualDrop.lua:
// SpatialAveragePooling(stride, stride, stride, stride)); both then append
// the zero channels.
func (b *builder) optionA(out, stride int) layers.Module {
	if b.cfg.OptionA == OptionAAvgPool {
		return layers.NewPoolPadA(b.env, out, stride)
	}
	return layers.NewPadA(b.env, out, stride)
}

// variant applies the Table 1 shortcut variants.
func (b *builder) variant(u *layers.Unit, name string, in, out, stride int) {
	switch b.cfg.Variant {
	case ConstantScaling:
		u.LambdaShort, u.LambdaBranch = float32(b.cfg.LambdaShort), float32(b.cfg.LambdaBranch)
	case ExclusiveGating, ShortcutGating:
		u.Gate = layers.ExclusiveGate
		if b.cfg.Variant == ShortcutGating {
			u.Gate = layers.ShortcutGate
		}
		u.GateConv = b.conv(name+".gate.conv", in, out, 1, stride).WithBias(b.ps, name+".gate.conv", b.cfg.GateBias)
		u.PostSkippable = false
	case DropoutShortcut:
		u.ShortDrop = layers.NewDropout(b.env, 0.5)
		u.PostSkippable = false
	}
}
