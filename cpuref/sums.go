package cpuref

// lanes4 is a float64 sum kept as four partial sums, element i of each slice
// added to lane i mod 4. One running sum is a chain of dependent additions,
// each waiting for the last (about four cycles apiece); four chains run
// side by side. The order is still fixed by the data alone — lanes, then
// (l0+l1)+(l2+l3) — so results stay independent of the thread count.
type lanes4 [4]float64

func (l *lanes4) total() float64 { return (l[0] + l[1]) + (l[2] + l[3]) }

// add adds the elements of xs.
func (l *lanes4) add(xs []float32) {
	s0, s1, s2, s3 := l[0], l[1], l[2], l[3]
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		x := xs[i : i+4 : i+4]
		s0 += float64(x[0])
		s1 += float64(x[1])
		s2 += float64(x[2])
		s3 += float64(x[3])
	}
	for k, v := range xs[i:] {
		switch k {
		case 0:
			s0 += float64(v)
		case 1:
			s1 += float64(v)
		default:
			s2 += float64(v)
		}
	}
	l[0], l[1], l[2], l[3] = s0, s1, s2, s3
}

// addSquaredDeviations adds (x − mean)² for the elements x of xs.
func (l *lanes4) addSquaredDeviations(xs []float32, mean float64) {
	s0, s1, s2, s3 := l[0], l[1], l[2], l[3]
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		x := xs[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(x[0])-mean, float64(x[1])-mean, float64(x[2])-mean, float64(x[3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for k, v := range xs[i:] {
		d := float64(v) - mean
		switch k {
		case 0:
			s0 += d * d
		case 1:
			s1 += d * d
		default:
			s2 += d * d
		}
	}
	l[0], l[1], l[2], l[3] = s0, s1, s2, s3
}

// addGradients adds, for BN's backward pass, dy into sumDy and
// dy·(x − mean)·inv into sumDyXhat, element by element of dys and xs.
func addGradients(sumDy, sumDyXhat *lanes4, dys, xs []float32, mean, inv float64) {
	xs = xs[:len(dys)]
	a0, a1, a2, a3 := sumDy[0], sumDy[1], sumDy[2], sumDy[3]
	b0, b1, b2, b3 := sumDyXhat[0], sumDyXhat[1], sumDyXhat[2], sumDyXhat[3]
	i := 0
	for ; i+4 <= len(dys); i += 4 {
		g, x := dys[i:i+4:i+4], xs[i:i+4:i+4]
		g0, g1, g2, g3 := float64(g[0]), float64(g[1]), float64(g[2]), float64(g[3])
		a0 += g0
		a1 += g1
		a2 += g2
		a3 += g3
		b0 += g0 * (float64(x[0]) - mean) * inv
		b1 += g1 * (float64(x[1]) - mean) * inv
		b2 += g2 * (float64(x[2]) - mean) * inv
		b3 += g3 * (float64(x[3]) - mean) * inv
	}
	for k := range dys[i:] {
		g := float64(dys[i+k])
		v := g * (float64(xs[i+k]) - mean) * inv
		switch k {
		case 0:
			a0, b0 = a0+g, b0+v
		case 1:
			a1, b1 = a1+g, b1+v
		default:
			a2, b2 = a2+g, b2+v
		}
	}
	sumDy[0], sumDy[1], sumDy[2], sumDy[3] = a0, a1, a2, a3
	sumDyXhat[0], sumDyXhat[1], sumDyXhat[2], sumDyXhat[3] = b0, b1, b2, b3
}
