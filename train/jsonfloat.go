package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// jsonFloat is a float64 that survives JSON when it is not finite:
// encoding/json refuses NaN and ±Inf (RFC 8259 has no such numbers), and a
// run's best error starts at +Inf, so a checkpoint written in the first
// epoch must be able to say so. Finite values are plain JSON numbers;
// others are the strings "NaN", "+Inf" and "-Inf" (strconv's spelling).
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err == nil {
		*f = jsonFloat(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a number, NaN, +Inf or -Inf, got %s", b)
	}
	switch s {
	case "NaN", "+Inf", "-Inf":
		v, _ = strconv.ParseFloat(s, 64)
		*f = jsonFloat(v)
		return nil
	}
	return fmt.Errorf("want a number, NaN, +Inf or -Inf, got %q", s)
}
