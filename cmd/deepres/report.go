package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gonum.org/v1/plot/plotter"

	"github.com/deepres/deepres/internal/atomicfile"
)

// parsePositional parses flags that come with positional arguments, turning
// flag errors into usage errors as parse does.
func parsePositional(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// runReport implements `deepres report RESULTS_DIR [-o report.md]`.
func runReport(args []string) error {
	fs := newFlags("report", "RESULTS_DIR [-o report.md]")
	out := fs.StringP("out", "o", "", "markdown file to write; plots go next to it (default RESULTS_DIR/report.md)")
	if err := parsePositional(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("report: give one results folder (<study>/<row>/seed-<k>/ run folders)")
	}
	root := fs.Arg(0)
	if *out == "" {
		*out = filepath.Join(root, "report.md")
	}
	files, err := writeReport(root, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "deepres: wrote %s\n", strings.Join(files, ", "))
	return nil
}

// rowInfo is the row.json the experiment driver writes into each run folder.
type rowInfo struct {
	Study      string   `json:"study"`
	Row        string   `json:"row"`
	Model      string   `json:"model"`
	Args       []string `json:"args"`
	PaperError *float64 `json:"paper_error"`
	PaperNote  string   `json:"paper_note,omitempty"`
	Params     int64    `json:"params,omitempty"`
	Index      int      `json:"index,omitempty"`
}

type seedRun struct {
	dir  string
	recs []map[string]float64
}

type rowResult struct {
	info rowInfo
	runs []seedRun
}

// results are a results folder's runs by study, and what the report must
// say about the runs themselves.
type results struct {
	studies map[string][]*rowResult
	gaps    []string // metricsGap of each run with one
	waiting []string // run folders whose metrics.jsonl has no epoch yet
}

// collectResults finds every run folder (one holding metrics.jsonl) under
// root and groups the runs by study and row.
func collectResults(root string) (*results, error) {
	studies := map[string][]*rowResult{}
	res := &results{studies: studies}
	byKey := map[[2]string]*rowResult{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "metrics.jsonl" {
			return nil
		}
		dir := filepath.Dir(path)
		var info rowInfo
		if b, err := os.ReadFile(filepath.Join(dir, "row.json")); err == nil {
			if err := json.Unmarshal(b, &info); err != nil {
				return fmt.Errorf("%s/row.json: %w", dir, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if info.Study == "" || info.Row == "" { // no row.json: name it by its place
			rel, _ := filepath.Rel(root, dir)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			switch {
			case len(parts) >= 3:
				info.Study, info.Row = parts[0], strings.Join(parts[1:len(parts)-1], "/")
			case len(parts) == 2:
				info.Study, info.Row = parts[0], parts[1]
			default:
				info.Study, info.Row = "runs", parts[0]
			}
		}
		recs, err := readMetrics(dir)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			res.waiting = append(res.waiting, dir) // started but no epoch finished yet
			return nil
		}
		if gap := metricsGap(dir, recs); gap != "" {
			res.gaps = append(res.gaps, gap)
		}
		k := [2]string{info.Study, info.Row}
		r := byKey[k]
		if r == nil {
			r = &rowResult{info: info}
			byKey[k] = r
			studies[info.Study] = append(studies[info.Study], r)
		}
		if r.info.Params == 0 {
			r.info.Params = info.Params
		}
		if r.info.Params == 0 {
			r.info.Params = paramsFromLog(dir)
		}
		r.runs = append(r.runs, seedRun{dir: dir, recs: recs})
		return nil
	})
	for _, rows := range studies {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].info.Index < rows[j].info.Index })
	}
	return res, err
}

var paramsRE = regexp.MustCompile(`\((\d+) parameters\)`)

// paramsFromLog reads the parameter count deepres train prints, from the
// train.log the driver keeps; 0 if there is none.
func paramsFromLog(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, "train.log"))
	if err != nil {
		return 0
	}
	m := paramsRE.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// rowStats summarises a row's seeds. Errors are in percent.
type rowStats struct {
	finals         []float64 // reported test error per seed (runError)
	byVal          bool      // some seed's error was selected by validation
	mean, std      float64
	best           float64 // lowest test error of any epoch of any seed
	minEp, maxEp   int     // last epoch reached, over the seeds
	wall           float64 // mean over seeds of the summed epoch seconds
	imgPerSec      float64 // median over all epochs
	hasErr, hasImg bool
}

func summarise(r *rowResult) rowStats {
	s := rowStats{best: math.Inf(1), minEp: math.MaxInt}
	var ips []float64
	for _, run := range r.runs {
		last := run.recs[len(run.recs)-1]
		ep := int(last["epoch"])
		s.minEp, s.maxEp = min(s.minEp, ep), max(s.maxEp, ep)
		if v, byVal, ok := runError(run.recs); ok {
			s.finals = append(s.finals, 100*v)
			s.byVal = s.byVal || byVal
		}
		for _, m := range run.recs {
			if v, ok := m["test_error"]; ok {
				s.best = min(s.best, 100*v)
			}
			s.wall += m["seconds"] / float64(len(r.runs))
			if v, ok := m["img_per_s"]; ok && v > 0 {
				ips = append(ips, v)
			}
		}
	}
	if len(s.finals) > 0 {
		s.hasErr = true
		s.mean, s.std = meanStd(s.finals)
	}
	if len(ips) > 0 {
		s.hasImg = true
		s.imgPerSec = median(ips)
	}
	return s
}

// runError is the test error a run reports: for a run with a validation
// split, the test error of the epoch with the lowest validation error (the
// first such epoch), as Huang et al. report theirs ("test error (selected by
// best validation error)", Stochastic_Depth README.md; main.lua evaluates
// both sets after every epoch); otherwise the test error after the last
// epoch. byVal says which.
func runError(recs []map[string]float64) (v float64, byVal, ok bool) {
	bestVal := math.Inf(1)
	for _, m := range recs {
		ve, okV := m["val_error"]
		te, okT := m["test_error"]
		if okV && okT && ve < bestVal {
			bestVal, v, byVal, ok = ve, te, true, true
		}
	}
	if byVal {
		return v, true, true
	}
	v, ok = recs[len(recs)-1]["test_error"]
	return v, false, ok
}

// meanStd is the mean and the sample standard deviation (0 for one value).
func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)-1))
}

func median(x []float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	n := len(y)
	if n%2 == 1 {
		return y[n/2]
	}
	return (y[n/2-1] + y[n/2]) / 2
}

// failThreshold is He et al.'s Table 1 convention: "fail" above 20% error.
const failThreshold = 20.0

func (s rowStats) ours() string {
	if !s.hasErr {
		return "–"
	}
	var v string
	if len(s.finals) > 1 {
		v = fmt.Sprintf("%.2f ± %.2f", s.mean, s.std)
	} else {
		v = fmt.Sprintf("%.2f", s.mean)
	}
	if s.byVal {
		v += " †"
	}
	if s.mean > failThreshold {
		return "fail (" + v + ")"
	}
	return v
}

func paperCell(info rowInfo) string {
	p := paperNumber{Error: info.PaperError, Fail: info.PaperNote == "fail"}
	if p.Error == nil && !p.Fail {
		if q, ok := lookupPaper(info.Study, info.Row); ok {
			p = q
		}
	}
	switch {
	case p.Error != nil:
		return fmt.Sprintf("%.2f", *p.Error)
	case p.Fail:
		return "fail"
	}
	return "–"
}

func formatParams(n int64) string {
	switch {
	case n <= 0:
		return "–"
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return strconv.FormatInt(n, 10)
}

var studyOrder = []string{"table1", "table2", "sd", "ror"}

var studyTitles = map[string]string{
	"table1": "Table 1: shortcut variants on ResNet-110 (He et al. 2016)",
	"table2": "Table 2: residual unit variants (He et al. 2016)",
	"sd":     "Stochastic depth (Huang et al. 2016)",
	"ror":    "Residual networks of residual networks (Zhang et al. 2016)",
}

var gridRE = regexp.MustCompile(`^sdgrid depth=(\d+) pL=([0-9.]+) rule=(\w+)$`)

// writeReport writes the markdown report to out and its plots next to it;
// it returns the files written.
func writeReport(root, out string) ([]string, error) {
	if err := checkOutput(out, ".md"); err != nil {
		return nil, err
	}
	res, err := collectResults(root)
	if err != nil {
		return nil, err
	}
	studies := res.studies
	if len(studies) == 0 && len(res.waiting) > 0 {
		return nil, fmt.Errorf("%s: no epoch has finished yet in any run (%d run folder(s) whose metrics.jsonl holds only the run's header, e.g. %s)",
			root, len(res.waiting), res.waiting[0])
	}
	if len(studies) == 0 {
		return nil, fmt.Errorf("%s: no run folders with metrics.jsonl", root)
	}
	for _, g := range res.gaps {
		fmt.Fprintf(os.Stderr, "deepres: warning: %s\n", g)
	}
	names := make([]string, 0, len(studies))
	for s := range studies {
		names = append(names, s)
	}
	rank := func(s string) int {
		if i := slices.Index(studyOrder, s); i >= 0 {
			return i
		}
		return len(studyOrder)
	}
	sort.Slice(names, func(i, j int) bool {
		if rank(names[i]) != rank(names[j]) {
			return rank(names[i]) < rank(names[j])
		}
		return names[i] < names[j]
	})
	plotDir := filepath.Dir(out)
	if err := os.MkdirAll(plotDir, 0o755); err != nil {
		return nil, err
	}
	var md strings.Builder
	written := []string{}
	fmt.Fprintf(&md, "# deepres results\n\nResults folder: `%s`. Test error (%%) on the run's test set after the last epoch, "+
		"or, marked †, at the epoch of lowest validation error for runs with a validation split (Huang et al.'s protocol); mean ± sample std over seeds; "+
		"best: lowest test error of any epoch of any seed; \"fail\" when the mean is above %.0f%% (He et al. 2016, Table 1). "+
		"Paper: published CIFAR-10 error (cmd/deepres/paper.go). Wall time: summed epoch seconds, mean over seeds. img/s: median over epochs.\n",
		root, failThreshold)
	for _, study := range names {
		rows := studies[study]
		title := studyTitles[study]
		if title == "" {
			title = study
		}
		fmt.Fprintf(&md, "\n## %s\n\n", title)
		fmt.Fprintf(&md, "| row | seeds | epochs | our error (%%) | best (%%) | paper (%%) | params | wall time | img/s |\n")
		fmt.Fprintf(&md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		var curves, grads []namedSeries
		var grid []*rowResult
		for _, r := range rows {
			s := summarise(r)
			epochs := strconv.Itoa(s.maxEp)
			if s.minEp != s.maxEp {
				epochs = fmt.Sprintf("%d–%d", s.minEp, s.maxEp)
			}
			best, img := "–", "–"
			if s.hasErr {
				best = fmt.Sprintf("%.2f", s.best)
			}
			if s.hasImg {
				img = fmt.Sprintf("%.0f", s.imgPerSec)
			}
			fmt.Fprintf(&md, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", r.info.Row, len(r.runs), epochs, s.ours(), best,
				paperCell(r.info), formatParams(r.info.Params), time.Duration(s.wall*float64(time.Second)).Round(time.Second), img)
			if gridRE.MatchString(r.info.Row) {
				grid = append(grid, r)
				continue
			}
			if xy := meanCurve(r, "test_error"); len(xy) > 0 {
				curves = append(curves, namedSeries{Name: r.info.Row, XY: xy})
			}
			if xy := meanCurve(r, "first_conv_grad_mean_abs"); len(xy) > 0 {
				grads = append(grads, namedSeries{Name: r.info.Row, XY: xy})
			}
		}
		if len(curves) > 0 {
			f := filepath.Join(plotDir, study+"-test-error.png")
			if err := linePlot(title+": test error", "test error (%)", curves, false, f); err != nil {
				return written, err
			}
			written = append(written, f)
			fmt.Fprintf(&md, "\n![%s test error per epoch](%s)\n", study, filepath.Base(f))
		}
		if study == "sd" && len(grads) > 0 {
			f := filepath.Join(plotDir, "sd-fig7-first-conv-grad.png")
			if err := linePlot("first conv layer mean gradient magnitude (Huang et al. Fig. 7)", "mean |grad|", grads, true, f); err != nil {
				return written, err
			}
			written = append(written, f)
			fmt.Fprintf(&md, "\n![first conv gradient magnitude per epoch (Fig. 7)](%s)\n", filepath.Base(f))
		}
		if len(grid) > 0 {
			fs, err := gridHeatmaps(grid, plotDir, study)
			written = append(written, fs...)
			if err != nil {
				return written, err
			}
			for _, f := range fs {
				fmt.Fprintf(&md, "\n![final test error over p_L x depth (Fig. 8)](%s)\n", filepath.Base(f))
			}
		}
	}
	if len(res.gaps) > 0 {
		fmt.Fprintf(&md, "\n## Gaps in the runs' histories\n\n")
		for _, g := range res.gaps {
			fmt.Fprintf(&md, "- %s\n", g)
		}
	}
	if err := atomicfile.WriteFile(out, []byte(md.String())); err != nil {
		return written, err
	}
	return append([]string{out}, written...), nil
}

// meanCurve is the metric per epoch averaged over a row's seeds (over the
// seeds that reached the epoch).
func meanCurve(r *rowResult, metric string) plotter.XYs {
	sum, n := map[float64]float64{}, map[float64]int{}
	for _, run := range r.runs {
		for _, p := range metricSeries(run.recs, metric) {
			sum[p.X] += p.Y
			n[p.X]++
		}
	}
	xs := make([]float64, 0, len(sum))
	for x := range sum {
		xs = append(xs, x)
	}
	slices.Sort(xs)
	out := make(plotter.XYs, len(xs))
	for i, x := range xs {
		out[i] = plotter.XY{X: x, Y: sum[x] / float64(n[x])}
	}
	return out
}

// gridHeatmaps draws the Fig. 8 grid, one heat map of mean final test error
// over p_L (columns) and depth (rows) per survival rule.
func gridHeatmaps(grid []*rowResult, dir, study string) ([]string, error) {
	type cell struct {
		depth int
		pl    float64
		rule  string
	}
	vals := map[cell]float64{}
	depthSet, plSet, ruleSet := map[int]bool{}, map[float64]bool{}, map[string]bool{}
	for _, r := range grid {
		m := gridRE.FindStringSubmatch(r.info.Row)
		d, _ := strconv.Atoi(m[1])
		pl, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("row %q: %w", r.info.Row, err)
		}
		s := summarise(r)
		if !s.hasErr {
			continue
		}
		vals[cell{d, pl, m[3]}] = s.mean
		depthSet[d], plSet[pl], ruleSet[m[3]] = true, true, true
	}
	depths, pls, rules := sortedKeys(depthSet), sortedKeys(plSet), sortedKeys(ruleSet)
	var files []string
	for _, rule := range rules {
		z := make([][]float64, len(depths))
		for i, d := range depths {
			z[i] = make([]float64, len(pls))
			for j, pl := range pls {
				v, ok := vals[cell{d, pl, rule}]
				if !ok {
					v = math.NaN()
				}
				z[i][j] = v
			}
		}
		xt, yt := make([]string, len(pls)), make([]string, len(depths))
		for j, pl := range pls {
			xt[j] = strconv.FormatFloat(pl, 'g', -1, 64)
		}
		for i, d := range depths {
			yt[i] = strconv.Itoa(d)
		}
		f := filepath.Join(dir, fmt.Sprintf("%s-fig8-%s.png", study, rule))
		if err := heatPlot(fmt.Sprintf("final test error (%%), %s survival rule (Huang et al. Fig. 8)", rule), "p_L", "depth", xt, yt, z, f); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}

func sortedKeys[K int | float64 | string](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
