package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fakeRun writes a run folder with row.json and metrics.jsonl whose test
// error goes linearly from start to final (fractions) over the epochs.
func fakeRun(t *testing.T, root string, info rowInfo, seed, epochs int, start, final, grad float64) string {
	t.Helper()
	dir := filepath.Join(root, info.Study, strings.ReplaceAll(info.Row, " ", "_"), fmt.Sprintf("seed-%d", seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, "row.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for e := 1; e <= epochs; e++ {
		te := start + (final-start)*float64(e-1)/float64(max(epochs-1, 1))
		fmt.Fprintf(&sb, `{"epoch":%d,"step":%d,"lr":0.1,"train_loss":%g,"train_error":0.5,"test_loss":1,"test_error":%g,"img_per_s":%d,"seconds":10,"expected_depth":54,"first_conv_grad_mean_abs":%g}`+"\n",
			e, e*10, 2.0/float64(e), te, 1000*e, grad/float64(e))
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func f64(v float64) *float64 { return &v }

// tableRow returns the cells of the markdown table row named row.
func tableRow(t *testing.T, md, row string) []string {
	t.Helper()
	for _, line := range strings.Split(md, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 2 && strings.TrimSpace(cells[1]) == row {
			out := make([]string, 0, len(cells)-2)
			for _, c := range cells[1 : len(cells)-1] {
				out = append(out, strings.TrimSpace(c))
			}
			return out
		}
	}
	t.Fatalf("no table row %q in\n%s", row, md)
	return nil
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Errorf("%s: %v is too small", path, b)
	}
}

func TestReportTable(t *testing.T) {
	root := t.TempDir()
	orig := rowInfo{Study: "table1", Row: "original", Model: "resnet-110", PaperError: f64(6.61), Params: 1727962, Index: 0}
	// final errors 7%, 8%, 9%: mean 8.00, sample std 1.00
	for i, fin := range []float64{0.07, 0.08, 0.09} {
		fakeRun(t, root, orig, i, 4, 0.5, fin, 1e-3)
	}
	plain := rowInfo{Study: "table1", Row: "constant 0,1", Model: "resnet-110", PaperNote: "fail", Index: 1}
	fakeRun(t, root, plain, 0, 4, 0.9, 0.85, 1e-3)
	// no paper number in row.json: the report falls back to paper.go
	conv := rowInfo{Study: "table1", Row: "conv", Model: "resnet-110", Index: 2}
	fakeRun(t, root, conv, 0, 3, 0.6, 0.125, 1e-3)
	// the best epoch is not the last one
	dir := fakeRun(t, root, rowInfo{Study: "table2", Row: "resnet-110 full-preact", Index: 0}, 0, 2, 0.2, 0.1, 1e-3)
	f, _ := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintln(f, `{"epoch":3,"test_error":0.12,"img_per_s":500,"seconds":4}`)
	f.Close()
	// params from train.log when row.json has none
	os.WriteFile(filepath.Join(dir, "train.log"), []byte("deepres: resnet-110 (1234567 parameters) on cpu\n"), 0o644)

	out := filepath.Join(t.TempDir(), "rep", "report.md")
	files, err := writeReport(root, out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	// row | seeds | epochs | ours | best | paper | params | wall | img/s
	c := tableRow(t, md, "original")
	want := []string{"original", "3", "4", "8.00 ± 1.00", "7.00", "6.61", "1.73M", "40s", "2500"}
	if strings.Join(c, "|") != strings.Join(want, "|") {
		t.Errorf("original row = %q, want %q", c, want)
	}
	if c := tableRow(t, md, "constant 0,1"); c[3] != "fail (85.00)" || c[5] != "fail" || c[4] != "85.00" {
		t.Errorf("constant 0,1 row = %q, want ours fail (85.00), best 85.00, paper fail", c)
	}
	if c := tableRow(t, md, "conv"); c[3] != "12.50" || c[5] != "12.22" {
		t.Errorf("conv row = %q, want ours 12.50 and paper 12.22 from paper.go", c)
	}
	c = tableRow(t, md, "resnet-110 full-preact")
	if c[2] != "3" || c[3] != "12.00" || c[4] != "10.00" || c[5] != "6.37" || c[6] != "1.23M" || c[7] != "24s" {
		t.Errorf("full-preact row = %q", c)
	}
	// study order follows the papers, rows follow their index
	if i1, i2 := strings.Index(md, "Table 1"), strings.Index(md, "Table 2"); i1 < 0 || i2 < i1 {
		t.Errorf("studies out of order:\n%s", md)
	}
	if strings.Index(md, "| original") > strings.Index(md, "| constant 0,1") {
		t.Errorf("rows out of index order:\n%s", md)
	}
	for _, want := range []string{"table1-test-error.png", "table2-test-error.png"} {
		p := filepath.Join(filepath.Dir(out), want)
		checkPNG(t, p)
		if !strings.Contains(md, "("+want+")") {
			t.Errorf("report does not link %s", want)
		}
	}
	if len(files) != 3 {
		t.Errorf("files written = %v, want the report and 2 plots", files)
	}
}

func TestReportSDPlots(t *testing.T) {
	root := t.TempDir()
	fakeRun(t, root, rowInfo{Study: "sd", Row: "resnet-110", Index: 0}, 0, 5, 0.5, 0.07, 1e-2)
	fakeRun(t, root, rowInfo{Study: "sd", Row: "resnet-110 sd linear:0.5", Index: 1}, 0, 5, 0.5, 0.06, 3e-2)
	i := 2
	for _, d := range []int{20, 56} {
		for _, pl := range []string{"0.2", "0.5", "0.8"} {
			for _, rule := range []string{"uniform", "linear"} {
				if d == 56 && pl == "0.8" && rule == "linear" {
					continue // a missing cell
				}
				fin, _ := strconv.ParseFloat(pl, 64)
				fakeRun(t, root, rowInfo{Study: "sd", Row: fmt.Sprintf("sdgrid depth=%d pL=%s rule=%s", d, pl, rule), Index: i}, 0, 2, 0.5, 0.05+fin/10+float64(d)/1000, 1e-2)
				i++
			}
		}
	}
	out := filepath.Join(root, "report.md")
	if _, err := writeReport(root, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sd-test-error.png", "sd-fig7-first-conv-grad.png", "sd-fig8-uniform.png", "sd-fig8-linear.png"} {
		checkPNG(t, filepath.Join(root, f))
	}
	md, _ := os.ReadFile(out)
	if c := tableRow(t, string(md), "sdgrid depth=56 pL=0.5 rule=uniform"); c[3] != "15.60" {
		t.Errorf("grid row = %q, want 15.60", c)
	}
}

func TestPlotCommand(t *testing.T) {
	root := t.TempDir()
	a := fakeRun(t, root, rowInfo{Study: "s", Row: "a"}, 0, 3, 0.5, 0.1, 1e-3)
	b := fakeRun(t, root, rowInfo{Study: "s", Row: "b"}, 0, 3, 0.5, 0.2, 1e-3)
	for _, metric := range []string{"test_error", "first_conv_grad_mean_abs", "train_loss"} {
		out := filepath.Join(root, metric+".png")
		if err := runPlot([]string{a, b, "-o", out, "--metric", metric}); err != nil {
			t.Fatal(err)
		}
		checkPNG(t, out)
	}
	if err := runPlot([]string{a, "-o", filepath.Join(root, "x.png"), "--metric", "no_such"}); err == nil {
		t.Error("plotting a missing metric succeeded")
	}
	if err := runPlot([]string{"-o", filepath.Join(root, "x.png")}); err == nil {
		t.Error("plot without runs succeeded")
	}
	if got := runLabel([]string{a, b}, 0); got != filepath.Clean(a) {
		t.Errorf("label of two seed-0 folders = %q, want the path", got)
	}
	if got := metricSeries([]map[string]float64{{"epoch": 1, "test_error": 0.25}}, "test_error"); len(got) != 1 || math.Abs(got[0].Y-25) > 1e-9 {
		t.Errorf("test_error series = %v, want 25%%", got)
	}
}

// TestReportPaperNumbersMatchScript checks that the paper numbers run.sh
// writes into row.json are the ones in paper.go.
func TestReportPaperNumbersMatchScript(t *testing.T) {
	f, err := os.Open("../../scripts/experiments/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// row STUDY "NAME" PAPER MODEL ARGS...
	re := regexp.MustCompile(`^\s*row (\w+) "([^"]+)" (\S+) \S`)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n++
		study, name, paper := m[1], m[2], m[3]
		p, ok := lookupPaper(study, name)
		switch {
		case paper == "fail":
			if !ok || !p.Fail {
				t.Errorf("run.sh %s %q: fail, paper.go: %+v", study, name, p)
			}
		case paper == "null":
			if ok && (p.Error != nil || p.Fail) {
				t.Errorf("run.sh %s %q: no number, paper.go has one", study, name)
			}
		default:
			v, err := strconv.ParseFloat(paper, 64)
			if err != nil || !ok || p.Error == nil || *p.Error != v {
				t.Errorf("run.sh %s %q: %s, paper.go: %+v", study, name, paper, p)
			}
		}
	}
	for study, rows := range paperNumbers {
		for name := range rows {
			if !scriptHas(t, study, name) {
				t.Errorf("paper.go %s %q has no row in run.sh", study, name)
			}
		}
	}
	if n < 30 {
		t.Errorf("found %d rows in run.sh, want the four studies' rows", n)
	}
}

func scriptHas(t *testing.T, study, name string) bool {
	b, err := os.ReadFile("../../scripts/experiments/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), fmt.Sprintf("row %s %q ", study, name))
}

// A run with a validation split reports the test error at its best
// validation epoch (Huang et al.'s protocol), not after the last epoch.
func TestReportBestValidation(t *testing.T) {
	root := t.TempDir()
	info := rowInfo{Study: "sd", Row: "resnet-110 sd linear:0.5", Model: "resnet-110"}
	dir := filepath.Join(root, "sd", "row", "seed-0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, "row.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// Validation is best (0.05) at epoch 2, where the test error is 0.06; the
	// last epoch has the lowest test error, 0.055.
	lines := `{"epoch":1,"step":1,"test_error":0.09,"val_error":0.08,"seconds":1}
{"epoch":2,"step":2,"test_error":0.06,"val_error":0.05,"seconds":1}
{"epoch":3,"step":3,"test_error":0.055,"val_error":0.05,"seconds":1}
{"epoch":4,"step":4,"test_error":0.058,"val_error":0.07,"seconds":1}
`
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "report.md")
	if _, err := writeReport(root, out); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cells := tableRow(t, string(md), info.Row)
	if cells[3] != "6.00 †" {
		t.Errorf("our error %q, want 6.00 † (test error at the best validation epoch)", cells[3])
	}
	if cells[4] != "5.50" {
		t.Errorf("best %q, want 5.50", cells[4])
	}
}
