package main

// Published CIFAR-10 test errors (%) that the experiment studies
// (scripts/experiments/run.sh) compare against, each with where it was read:
//
//   - table1: He et al. 2016, "Identity Mappings in Deep Residual Networks",
//     Table 1 (ResNet-110, shortcut variants; "fail" means error > 20%), as
//     reproduced in the project's slides (shared/PAPERS-SLIDES.md).
//   - table2: He et al. 2016, Table 2 (ResNet-110 and ResNet-164 unit
//     variants; slides), and ResNet-1001 with full pre-activation: 4.92 with
//     the paper's mini-batch of 128, as KaimingHe/resnet-1k-layers README.md
//     states it (its own code, batch 64, gives the abstract's 4.62).
//   - sd: Huang et al. 2016, "Deep Networks with Stochastic Depth": the
//     110-layer constant-depth baseline 6.41 and stochastic depth 5.23, both
//     "test error (selected by best validation error)" in
//     yueatsprograms/Stochastic_Depth README.md (the same 5.23 as Zhang et
//     al. Table XI cites); the 1202-layer network 4.91, from the paper's
//     abstract. The Fig. 8 grid has no numbers.
//   - ror: Zhang et al. 2016, "Residual Networks of Residual Networks",
//     Table V (Pre-ResNets-164 with and without RoR-3 and SD), Table VI
//     (WRN40-2 with and without RoR-3 and SD) and Table XI (ResNets-164 5.93
//     as reported by He et al., so trained on He's recipe; RoR-3-164 4.86,
//     which like every RoR entry of Table XI is a "+SD" result: Table XI's
//     Pre-RoR-3-164 4.51 and RoR-3-WRN40-2 4.59 are the "+SD" cells of
//     Tables V and VI).
//
// The row names are the ones run.sh gives its rows; run.sh also writes the
// number into each run's row.json and report_test.go checks the two agree.

// paperNumber is one published result. Error is nil where the paper reports
// "fail" (Fail set) or gives no number.
type paperNumber struct {
	Error  *float64
	Fail   bool
	Source string
}

func pe(v float64, src string) paperNumber { return paperNumber{Error: &v, Source: src} }

var paperFail = paperNumber{Fail: true, Source: "He et al. 2016 Table 1"}

var paperNumbers = map[string]map[string]paperNumber{
	"table1": {
		"original":            pe(6.61, "He et al. 2016 Table 1"),
		"constant 0,1":        paperFail,
		"constant 0.5,1":      paperFail,
		"constant 0.5,0.5":    pe(12.35, "He et al. 2016 Table 1"),
		"exclusive bg=0":      paperFail,
		"exclusive bg=-6":     pe(8.70, "He et al. 2016 Table 1"),
		"exclusive bg=-7":     pe(9.81, "He et al. 2016 Table 1"),
		"shortcut-only bg=0":  pe(12.86, "He et al. 2016 Table 1"),
		"shortcut-only bg=-6": pe(6.91, "He et al. 2016 Table 1"),
		"conv":                pe(12.22, "He et al. 2016 Table 1"),
		"dropout":             paperFail,
	},
	"table2": {
		"resnet-110 original":         pe(6.61, "He et al. 2016 Table 2"),
		"resnet-110 bn-after-add":     pe(8.17, "He et al. 2016 Table 2"),
		"resnet-110 relu-before-add":  pe(7.84, "He et al. 2016 Table 2"),
		"resnet-110 relu-only-preact": pe(6.71, "He et al. 2016 Table 2"),
		"resnet-110 full-preact":      pe(6.37, "He et al. 2016 Table 2"),
		"resnet-164 original":         pe(5.93, "He et al. 2016 Table 2"),
		"resnet-164 bn-after-add":     pe(6.50, "He et al. 2016 Table 2"),
		"resnet-164 relu-before-add":  pe(6.14, "He et al. 2016 Table 2"),
		"resnet-164 relu-only-preact": pe(5.91, "He et al. 2016 Table 2"),
		"resnet-164 full-preact":      pe(5.46, "He et al. 2016 Table 2"),
		"resnet-1001 full-preact":     pe(4.92, "He et al. 2016 (batch 128), KaimingHe/resnet-1k-layers README.md"),
	},
	"sd": {
		"resnet-110":                pe(6.41, "Huang et al. 2016, Stochastic_Depth README.md (best-validation protocol)"),
		"resnet-110 sd linear:0.5":  pe(5.23, "Huang et al. 2016, Stochastic_Depth README.md; Zhang et al. 2016 Table XI"),
		"resnet-1202 sd linear:0.5": pe(4.91, "Huang et al. 2016, abstract"),
	},
	"ror": {
		"preact-resnet-164":          pe(5.04, "Zhang et al. 2016 Table V"),
		"preact-resnet-164 ror-3":    pe(5.02, "Zhang et al. 2016 Table V"),
		"preact-resnet-164 sd":       pe(4.67, "Zhang et al. 2016 Table V"),
		"preact-resnet-164 ror-3 sd": pe(4.51, "Zhang et al. 2016 Table V"),
		"wrn-40-2":                   pe(4.81, "Zhang et al. 2016 Table VI"),
		"wrn-40-2 ror-3":             pe(5.01, "Zhang et al. 2016 Table VI"),
		"wrn-40-2 sd":                pe(4.80, "Zhang et al. 2016 Table VI"),
		"wrn-40-2 ror-3 sd":          pe(4.59, "Zhang et al. 2016 Table VI"),
		"resnet-164 (he2016)":        pe(5.93, "Zhang et al. 2016 Table XI (reported by He et al. 2016)"),
		"resnet-164 ror-3 sd":        pe(4.86, "Zhang et al. 2016 Table XI (RoR-3-164, +SD)"),
	},
}

// lookupPaper returns the published number for a study's row, if any.
func lookupPaper(study, row string) (paperNumber, bool) {
	p, ok := paperNumbers[study][row]
	return p, ok
}
