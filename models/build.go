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
	return layers.NewConv(b.env, b.ps, name, in, out, k, stride, k/2)
}

func (b *builder) bn(name string, c int) *layers.BatchNorm {
	return layers.NewBatchNorm(b.env, b.ps, name, c, !b.cfg.NoBNDecay)
}

// relu is in place: every ReLU here follows a BN or a sum the unit owns.
func (b *builder) relu() *layers.ReLU { return layers.NewReLU(b.env, true) }

// convSpec is one conv of a branch: kernel, output channels, stride.
type convSpec struct{ k, out, stride int }

// convs lists the branch's convs: two 3×3 (basic) or 1×1, 3×3, 1×1 with a
// quarter of the output width inside (bottleneck; the stride on the 3×3, as
// in fb.resnet.torch and He's pre-activation code).
func (b *builder) convs(out, stride int) []convSpec {
	if b.cfg.Bottleneck {
		m := out / 4
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

// unit builds residual unit name (e.g. "layer2.0") from in to out channels.
func (b *builder) unit(name string, in, out, stride int) *layers.Unit {
	u := layers.NewUnit(b.env, name)
	shapeChanges := in != out || stride != 1
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
			// first pair is the shared pre-activation at a shape change.
			if i > 0 || !shapeChanges {
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
	if v == FullPreact && shapeChanges {
		// He's released code: a = ReLU(BN(x)) once, F'(a) + conv1×1(a).
		// Only where the shape changes: DESIGN.md says "the first unit of
		// each stage", which for basic pre-activation nets' first stage
		// (16 → 16, stride 1) would add a projection nobody needs; there the
		// unit is the plain x + F(x). Every pinned parameter count holds
		// either way (their first stages all change shape).
		u.Pre = layers.NewSeq(b.env, b.bn(name+".bn1", in), b.relu())
		u.ShortFromPre = true
		u.Short = layers.NewSeq(b.env, b.conv(name+".shortcut.conv", in, out, 1, stride))
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

// shortcut sets h(x) for a unit without a shared pre-activation.
func (b *builder) shortcut(u *layers.Unit, name string, in, out, stride int, shapeChanges bool) {
	projection := b.cfg.Variant == ConvShortcut ||
		(shapeChanges && (b.cfg.ProjectionB || b.cfg.Family == "wrn" || b.cfg.Unit == FullPreact))
	switch {
	case projection:
		mods := []layers.Module{b.conv(name+".shortcut.conv", in, out, 1, stride)}
		if b.cfg.Unit != FullPreact {
			mods = append(mods, b.bn(name+".shortcut.bn", out))
		}
		u.Short = layers.NewSeq(b.env, mods...)
	case shapeChanges:
		u.Short = layers.NewPadA(b.env, out, stride)
	default:
		u.Short = layers.NewIdentity(b.env)
	}
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
