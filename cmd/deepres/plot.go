package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// runPlot implements `deepres plot RUN... -o FILE.png [--metric M]`.
func runPlot(args []string) error {
	fs := newFlags("plot", "RUN... [-o FILE.png] [--metric M]")
	out := fs.StringP("out", "o", "plot.png", "image to write (.png, .svg or .pdf)")
	metric := fs.String("metric", "test_error", "metrics.jsonl field to plot per epoch: test_error, train_error, val_error, train_loss, test_loss, lr, img_per_s, expected_depth, first_conv_grad_mean_abs, ...")
	logY := fs.Bool("log", false, "logarithmic y axis (default for first_conv_grad_mean_abs)")
	title := fs.String("title", "", "plot title")
	if err := parsePositional(fs, args); err != nil {
		return err
	}
	runs := fs.Args()
	if len(runs) == 0 {
		return usagef("plot: give at least one run folder")
	}
	if err := checkOutput(*out, ".png", ".svg", ".pdf"); err != nil {
		return err
	}
	var series []namedSeries
	for i, dir := range runs {
		recs, err := readMetrics(dir)
		if err != nil {
			return err
		}
		if gap := metricsGap(dir, recs); gap != "" {
			fmt.Fprintf(os.Stderr, "deepres: warning: %s\n", gap)
		}
		xy := metricSeries(recs, *metric)
		if len(xy) == 0 {
			return fmt.Errorf("%s: no %q values in metrics.jsonl", dir, *metric)
		}
		series = append(series, namedSeries{Name: runLabel(runs, i), XY: xy})
	}
	useLog := *logY || *metric == "first_conv_grad_mean_abs"
	t := *title
	if t == "" && *metric == "first_conv_grad_mean_abs" {
		t = "first conv layer mean gradient magnitude (Huang et al. Fig. 7)"
	}
	if err := linePlot(t, metricLabel(*metric), series, useLog, *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "deepres: wrote %s\n", *out)
	return nil
}

// runLabel names run i for a legend: its folder name, or its whole path
// where two runs share a folder name (seed-0 of different rows).
func runLabel(runs []string, i int) string {
	base := filepath.Base(filepath.Clean(runs[i]))
	for j, r := range runs {
		if j != i && filepath.Base(filepath.Clean(r)) == base {
			return filepath.Clean(runs[i])
		}
	}
	return base
}

// readMetrics reads dir/metrics.jsonl: one record per epoch with the numeric
// fields by JSON name, after the run's header line. A torn last line (a run
// killed mid-write) is ignored. Lines may be of any length: the file is
// read whole (one line per epoch: kilobytes).
func readMetrics(dir string) ([]map[string]float64, error) {
	path := filepath.Join(dir, "metrics.jsonl")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var recs []map[string]float64
	var bad error
	for i, line := range strings.Split(string(b), "\n") {
		text := strings.TrimSpace(line)
		if text == "" {
			continue
		}
		if bad != nil { // a bad line followed by more lines is corruption, not a torn write
			return nil, bad
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			bad = fmt.Errorf("%s line %d: %w", path, i+1, err)
			continue
		}
		if _, header := raw["run"]; header { // the run's configuration (train.RunHeader), not an epoch
			continue
		}
		rec := map[string]float64{}
		for k, v := range raw {
			if x, ok := v.(float64); ok {
				rec[k] = x
			}
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// metricsGap names the epochs missing from a run's records (epochs count
// from 1 without a hole): "PATH: no line for epoch 2". A gap is history
// lost for good, by a deepres that appended an epoch's line after the
// checkpoint covering it and was killed between the two; "" if none.
func metricsGap(dir string, recs []map[string]float64) string {
	have := map[int]bool{}
	last := 0
	for _, r := range recs {
		if e, ok := r["epoch"]; ok {
			have[int(e)] = true
			last = max(last, int(e))
		}
	}
	var missing []string
	for e := 1; e <= last; e++ {
		if !have[e] {
			missing = append(missing, strconv.Itoa(e))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	plural := ""
	if len(missing) > 1 {
		plural = "s"
	}
	return fmt.Sprintf("%s: no line for epoch%s %s (lost for good by a run killed between a checkpoint and its metrics line; the curves skip it)",
		filepath.Join(dir, "metrics.jsonl"), plural, strings.Join(missing, ", "))
}

// isErrorMetric reports fields that are fractions shown in percent.
func isErrorMetric(m string) bool { return strings.HasSuffix(m, "_error") }

func metricLabel(m string) string {
	if isErrorMetric(m) {
		return strings.ReplaceAll(m, "_", " ") + " (%)"
	}
	return strings.ReplaceAll(m, "_", " ")
}

// metricSeries is metric per epoch (error fractions in percent).
func metricSeries(recs []map[string]float64, metric string) plotter.XYs {
	var xy plotter.XYs
	for i, r := range recs {
		v, ok := r[metric]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if isErrorMetric(metric) {
			v *= 100
		}
		ep, ok := r["epoch"]
		if !ok {
			ep = float64(i + 1)
		}
		xy = append(xy, plotter.XY{X: ep, Y: v})
	}
	return xy
}

type namedSeries struct {
	Name string
	XY   plotter.XYs
}

// linePlot draws one line per series, with a legend, into file.
func linePlot(title, ylabel string, series []namedSeries, logY bool, file string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	n := 0
	for i, s := range series {
		xy := s.XY
		if logY { // a log axis cannot show zero or negative values
			var pos plotter.XYs
			for _, v := range xy {
				if v.Y > 0 {
					pos = append(pos, v)
				}
			}
			xy = pos
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("plot %s: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / len(plotutil.DefaultColors))
		l.Width = vg.Points(1.2)
		pts.Color = l.Color
		pts.Shape = plotutil.Shape(i)
		pts.Radius = vg.Points(2)
		if len(xy) > 30 { // long runs: the line alone reads better
			pts.Radius = 0
		}
		p.Add(l, pts)
		p.Legend.Add(s.Name, l, pts)
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: nothing to plot", file)
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	return savePlot(p, 8*vg.Inch, 5*vg.Inch, file)
}

// gridHeat is a heat map grid with categorical axes: z[r][c] at (col c, row r).
type gridHeat struct{ z [][]float64 }

func (g gridHeat) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g gridHeat) Z(c, r int) float64 { return g.z[r][c] }
func (g gridHeat) X(c int) float64    { return float64(c) }
func (g gridHeat) Y(r int) float64    { return float64(r) }

// heatPlot draws z (rows x cols, NaN where missing) with the given tick
// labels and each cell's value written in it.
func heatPlot(title, xlabel, ylabel string, xticks, yticks []string, z [][]float64, file string) error {
	g := gridHeat{z: z}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range z {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return fmt.Errorf("%s: no values", file)
	}
	if hi == lo {
		hi = lo + 1
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(lo)
	pal.SetMax(hi)
	h := plotter.NewHeatMap(g, pal.Palette(64))
	h.Min, h.Max = lo, hi
	h.NaN = color.Gray{Y: 220}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(h)
	var lab plotter.XYLabels
	for r, row := range z {
		for c, v := range row {
			s := "-"
			if !math.IsNaN(v) {
				s = fmt.Sprintf("%.2f", v)
			}
			lab.XYs = append(lab.XYs, plotter.XY{X: float64(c), Y: float64(r)})
			lab.Labels = append(lab.Labels, s)
		}
	}
	labels, err := plotter.NewLabels(lab)
	if err != nil {
		return err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].XAlign = -0.5 // centre on the cell
		labels.TextStyle[i].YAlign = -0.5
	}
	p.Add(labels)
	ticks := func(names []string) plot.ConstantTicks {
		t := make(plot.ConstantTicks, len(names))
		for i, n := range names {
			t[i] = plot.Tick{Value: float64(i), Label: n}
		}
		return t
	}
	p.X.Tick.Marker = ticks(xticks)
	p.Y.Tick.Marker = ticks(yticks)
	p.X.Min, p.X.Max = -0.5, float64(len(xticks))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(yticks))-0.5
	return savePlot(p, 6*vg.Inch, 5*vg.Inch, file)
}
