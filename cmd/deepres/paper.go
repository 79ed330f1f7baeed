package main

// Published CIFAR-10 test errors (%) that the experiment studies
// (scripts/experiments/run.sh) compare against. They are data copied from
// the papers' tables as reproduced in the project's slides
// (shared/PAPERS-SLIDES.md):
//
//   - table1: He et al. 2016, "Identity Mappings in Deep Residual Networks",
//     Table 1 (ResNet-110, shortcut variants; "fail" means error > 20%).
//   - table2: He et al. 2016, Table 2 (ResNet-110 and ResNet-164 unit variants).
//   - sd: Huang et al. 2016, "Deep Networks with Stochastic Depth", as cited in
//     Zhang et al. 2016 Table XI (ResNets-110+SD 5.23). The slides give no
//     number for the constant-depth baseline, the 1202-layer network or the
//     Fig. 8 grid, so those rows have none.
//   - ror: Zhang et al. 2016, "Residual Networks of Residual Networks",
//     Table V (Pre-ResNets-164 with and without RoR-3 and SD), Table VI
//     (WRN40-2 with and without RoR-3 and SD) and Table XI (ResNets-164
//     5.93 as reported by He et al., RoR-3-164 4.86).
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
	},
	"sd": {
		"resnet-110 sd linear:0.5": pe(5.23, "Huang et al. 2016 via Zhang et al. 2016 Table XI"),
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
		"resnet-164 ror-1":           pe(5.93, "Zhang et al. 2016 Table XI (He et al.)"),
		"resnet-164 ror-3":           pe(4.86, "Zhang et al. 2016 Table XI"),
	},
}

// lookupPaper returns the published number for a study's row, if any.
func lookupPaper(study, row string) (paperNumber, bool) {
	p, ok := paperNumbers[study][row]
	return p, ok
}
