// Command gendata writes a tiny image-folder dataset for smoke runs of the
// experiment driver: DIR/{train,test}/<class>/NNN.png, 32x32 PNGs whose
// colour and stripe direction depend on the class, plus noise.
//
//	go run ./scripts/experiments/gendata -o DIR [-classes 10] [-train 4] [-test 2]
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", "", "output folder")
	classes := flag.Int("classes", 10, "number of classes")
	nTrain := flag.Int("train", 4, "training images per class")
	nTest := flag.Int("test", 2, "test images per class")
	flag.Parse()
	if *out == "" {
		log.Fatal("gendata: -o DIR is required")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, split := range []struct {
		name string
		n    int
	}{{"train", *nTrain}, {"test", *nTest}} {
		for c := 0; c < *classes; c++ {
			dir := filepath.Join(*out, split.name, fmt.Sprintf("class%02d", c))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				log.Fatal(err)
			}
			for i := 0; i < split.n; i++ {
				if err := write(filepath.Join(dir, fmt.Sprintf("%03d.png", i)), c, *classes, rng); err != nil {
					log.Fatal(err)
				}
			}
		}
	}
}

func write(path string, class, classes int, rng *rand.Rand) error {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	base := uint8(255 * class / max(classes-1, 1))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			stripe := uint8(0)
			if (x*(class%3)+y*(class%2+1))/4%2 == 0 {
				stripe = 80
			}
			n := uint8(rng.IntN(40))
			img.Set(x, y, color.RGBA{base/2 + stripe/2 + n, 235 - base/2 + n/2, stripe + n, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
