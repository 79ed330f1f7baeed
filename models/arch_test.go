package models

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/deepres/deepres/layers"
)

// convsOf lists the convs of a Seq in order as "WEIGHT-SHAPE/sSTRIDE".
func convsOf(s *layers.Seq) []string {
	var out []string
	for _, m := range s.Mods {
		if c, ok := m.(*layers.Conv); ok {
			out = append(out, fmt.Sprintf("%v/s%d", c.W.Shape, c.P.StrideH))
		}
	}
	return out
}

// A pre-activation bottleneck strides its first 1×1 (resnet-pre-act.lua),
// the post-activation one its 3×3 (fb.resnet.torch resnet.lua).
func TestBottleneckStride(t *testing.T) {
	for _, tc := range []struct {
		model       string
		unit        int // index in Units
		branch, sho string
	}{
		// layer2.0 of a 164-layer net: 64 → 128 channels, stride 2, width 32 inside.
		{"preact-resnet-164", 18, "(32,64,1,1)/s2 (32,32,3,3)/s1 (128,32,1,1)/s1", "(128,64,1,1)/s2"},
		{"resnet-164", 18, "(32,64,1,1)/s1 (32,32,3,3)/s2 (128,32,1,1)/s1", ""},
		// layer1.0: 16 → 64 at stride 1; the projection comes from the shared pre-activation.
		{"preact-resnet-164", 0, "(16,16,1,1)/s1 (16,16,3,3)/s1 (64,16,1,1)/s1", "(64,16,1,1)/s1"},
	} {
		t.Run(fmt.Sprint(tc.model, "/", tc.unit), func(t *testing.T) {
			net, err := New(mustParse(t, tc.model), nil)
			if err != nil {
				t.Fatal(err)
			}
			u := net.Units[tc.unit]
			if got := strings.Join(convsOf(u.Branch), " "); got != tc.branch {
				t.Errorf("%s branch convs %s, want %s", u.Name, got, tc.branch)
			}
			if tc.sho == "" {
				return
			}
			s, ok := u.Short.(*layers.Seq)
			if !ok {
				t.Fatalf("%s shortcut is %T, want a 1×1 projection", u.Name, u.Short)
			}
			if got := strings.Join(convsOf(s), " "); got != tc.sho || len(s.Mods) != 1 {
				t.Errorf("%s shortcut %s (%d modules), want %s alone, no BN", u.Name, got, len(s.Mods), tc.sho)
			}
		})
	}
}

// The first unit of every stage of a pre-activation net, stage 1 included,
// starts with the shared BN-ReLU and takes its shortcut from it (He et al.
// Sec. 4.1; fb.resnet.torch preresnet.lua 'both_preact'): identity where the
// shape holds, option A (basic) or a bare 1×1 (--shortcut B) where it
// changes. Other units have no shared pre-activation.
func TestSharedPreactivation(t *testing.T) {
	for _, tc := range []struct {
		model string
		b     bool
		short []string // Short's type for the first unit of stages 1..3
	}{
		{"preact-resnet-20", false, []string{"*layers.Identity", "*layers.PadA", "*layers.PadA"}},
		{"preact-resnet-20", true, []string{"*layers.Identity", "*layers.Seq", "*layers.Seq"}},
		{"preact-resnet-164", false, []string{"*layers.Seq", "*layers.Seq", "*layers.Seq"}},
		// WRN (wide-resnet.lua) shares it only where the planes change.
		{"wrn-16-1", false, []string{"", "*layers.Seq", "*layers.Seq"}},
	} {
		t.Run(fmt.Sprint(tc.model, "/B=", tc.b), func(t *testing.T) {
			cfg := mustParse(t, tc.model)
			cfg.ProjectionB = tc.b
			net, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, u := range net.Units {
				s := -1
				for st, start := range net.StageStart {
					if start == i {
						s = st
					}
				}
				want := s >= 0 && tc.short[s] != ""
				if got := u.Pre != nil && u.ShortFromPre; got != want {
					t.Errorf("%s: shared pre-activation %v, want %v", u.Name, got, want)
				}
				if want {
					if got := fmt.Sprintf("%T", u.Short); got != tc.short[s] {
						t.Errorf("%s: shortcut %s, want %s", u.Name, got, tc.short[s])
					}
					if seq, ok := u.Short.(*layers.Seq); ok && len(seq.Mods) != 1 {
						t.Errorf("%s: projection has %d modules, want a bare 1×1 conv", u.Name, len(seq.Mods))
					}
				}
			}
			names := map[string]bool{}
			for _, p := range net.Params.Params {
				names[p.Name] = true
			}
			if names["bn1.weight"] {
				t.Errorf("pre-activation stem has a BN (bn1.weight)")
			}
			if tc.short[0] != "" && !names["layer1.0.bn1.weight"] {
				t.Errorf("layer1.0's shared BN layer1.0.bn1 missing")
			}
		})
	}
}

// The shared pre-activation of layer1.0 feeds the identity shortcut: with
// its branch's last conv zeroed, the unit's output is ReLU(BN(x)), not x.
func TestFirstUnitShortcutFromActivation(t *testing.T) {
	b := newCPU()
	net := buildNet(t, mustParse(t, "preact-resnet-8"), b, 2, 8)
	u := net.Units[0]
	convs := 0
	for _, m := range u.Branch.Mods {
		if c, ok := m.(*layers.Conv); ok {
			convs++
			if convs == 2 {
				b.Fill(c.W.Value, 0)
			}
		}
	}
	net.SetTraining(true)
	x, _ := b.Alloc(2, 16, 8, 8)
	host := make([]float32, 2*16*8*8)
	for i := range host {
		host[i] = float32(i%7) - 3 // negative values that an activation would clear
	}
	b.CopyIn(x, host)
	y := download(t, b, u.Forward(x))
	for i, v := range y {
		if v < 0 {
			t.Fatalf("output[%d] = %g < 0: the shortcut carries x, not ReLU(BN(x))", i, v)
		}
	}
}

// Fan-in init (nninit.kaiming, WRN MSRinit) and U(0,1) BN scales
// (cudnn.torch) against He's fan-out rule and γ = 1, measured on the drawn
// weights of preact-resnet-164's layer1.0.conv3 (64 ← 16, 1×1).
func TestInitOptions(t *testing.T) {
	for _, tc := range []struct {
		fan     InitFan
		bnScale BNScaleInit
	}{{FanOut, BNScaleOne}, {FanIn, BNScaleUniform}} {
		t.Run(string(tc.fan)+"/"+string(tc.bnScale), func(t *testing.T) {
			cfg := mustParse(t, "preact-resnet-164")
			cfg.InitFan, cfg.BNScaleInit = tc.fan, tc.bnScale
			b := newCPU()
			net := buildNet(t, cfg, b, 1, 8)
			var w, gamma []float32
			for _, p := range net.Params.Params {
				switch p.Name {
				case "layer1.0.conv3.weight":
					w = download(t, b, p.Value)
				case "layer1.1.bn2.weight":
					gamma = download(t, b, p.Value)
				}
			}
			ss := 0.0
			for _, v := range w {
				ss += float64(v) * float64(v)
			}
			std := math.Sqrt(ss / float64(len(w)))
			fan := 64.0 // kh·kw·out
			if tc.fan == FanIn {
				fan = 16 // kh·kw·in
			}
			if want := math.Sqrt(2 / fan); math.Abs(std-want) > 0.1*want {
				t.Errorf("conv3 weight std %.4f, want %.4f (fan %s)", std, want, tc.fan)
			}
			lo, hi := float32(2), float32(-1)
			for _, g := range gamma {
				lo, hi = min(lo, g), max(hi, g)
			}
			if tc.bnScale == BNScaleOne && (lo != 1 || hi != 1) {
				t.Errorf("BN weights in [%g, %g], want all 1", lo, hi)
			}
			if tc.bnScale == BNScaleUniform && (lo < 0 || hi >= 1 || hi-lo < 0.5) {
				t.Errorf("BN weights in [%g, %g], want spread over U(0, 1)", lo, hi)
			}
		})
	}
}

// A configuration recorded before the building rules' revision 1 (Arch 0)
// is refused where revision 1 changed the network (full pre-activation
// ResNets), and accepted where it did not.
func TestOldArchRefused(t *testing.T) {
	for _, tc := range []struct {
		model string
		ok    bool
	}{{"preact-resnet-164", false}, {"preact-resnet-110", false}, {"resnet-110", true}, {"wrn-16-4", true}} {
		c := mustParse(t, tc.model)
		if err := c.Validate(); err != nil {
			t.Fatalf("%s today: %v", tc.model, err)
		}
		c.Arch = 0
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s recorded under revision 0: Validate() = %v, want accepted %v", tc.model, err, tc.ok)
		}
	}
}

// A configuration from a newer revision of the building rules is refused for
// every family, as newer, not older (issue 23).
func TestNewerArchRefused(t *testing.T) {
	for _, name := range []string{"preact-resnet-110", "resnet-110", "wrn-16-4"} {
		c := mustParse(t, name)
		c.Arch = CurrentArch + 1
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "newer") || strings.Contains(err.Error(), "older") {
			t.Errorf("%s recorded under revision %d: Validate() = %v, want it refused as newer", name, c.Arch, err)
		}
	}
}
